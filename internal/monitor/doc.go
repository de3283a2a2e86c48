// Package monitor audits and sets up the monitoring of the break-glass
// accounts that Microsoft's page "Manage emergency access accounts in
// Microsoft Entra ID" describes (MicrosoftDocs/entra-docs,
// docs/identity/role-based-access-control/security-emergency-access.md,
// "Monitor sign-in and audit logs"): Entra's diagnostic setting sends the
// sign-in and audit logs to a Log Analytics workspace, a log search alert
// rule queries the accounts' sign-ins every few minutes, and an action
// group tells people. The audit is read only (Reader, Log Analytics
// Reader); the set-up writes (Monitoring Contributor, and Security
// Administrator for Entra's diagnostic setting).
package monitor
