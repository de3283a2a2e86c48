// Package enroll talks to Microsoft Graph for the ceremony: the account,
// creation options, registration, deletion and the posture reads.
//
// In full, it is everything keyceremony says to Entra ID through
// Microsoft Graph: sign-in (azidentity), the permission check, the
// account, its FIDO2 methods (creation options, registration that never
// registers twice, read-back, deletion), and the read-only posture and
// sign-in queries of the health check. It speaks through
// github.com/microsoftgraph/msgraph-sdk-go; the calls the SDK has no builder
// for go through the same request adapter. The local Graph emulator the
// tests and rehearsal use lives in enroll/graphemu.
package enroll
