// Package health re-verifies a break-glass account's keys between
// ceremonies and audits its posture, read only: the last signed report must
// verify first; each key must be the same model and firmware, still hold its
// credential (a local test assertion against the reported public key) and
// take its PIN; Graph must list exactly the recorded methods and no sign-in
// may have happened. Every check ends pass, finding or could not check, and
// the result is a signed health report chained to the last report.
package health
