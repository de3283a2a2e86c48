// Package enroll is everything keyceremony says to Entra ID through
// Microsoft Graph (github.com/microsoftgraph/msgraph-sdk-go, signed in with
// azidentity): the permission check, the account, its FIDO2 methods
// (creation options, registration that never registers twice, read-back,
// deletion) and the read-only posture and sign-in queries. Its emulator for
// tests and rehearsals is internal/sim/graphemu.
package enroll
