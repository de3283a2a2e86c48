// Package posture judges the break-glass posture of one account in its
// tenant: cloud-only, enabled, password never expiring, Global
// Administrator held, every Conditional Access policy that reaches it and
// the FIDO2 (passkey) method policy. Read gathers a Snapshot through
// Microsoft Graph (read-only); Evaluate is pure and returns checks — pass,
// finding or could not check — each naming the policy, the path through
// which it reaches the account and what it would demand. Both the health
// check and the ceremony's preflight call it; when unsure whether
// something locks the account out, it says "finding", never "pass".
package posture
