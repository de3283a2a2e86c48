// Package keystep holds the key steps the ceremony, offline and health
// share, written once: Entra's credential, the test assertion, re-attestation.
//
// In full, it holds the steps on a key that the ceremony, the offline
// split and the health check share, so that each is written once: creating
// the credential Entra registers (its attestation judged by attest under
// the policy), the test assertion with a new credential, and the
// re-attestation that shows a key is still the one attested.
package keystep
