// Package keystep holds the steps on a key that the ceremony, the offline
// split and the health check share, written once: creating the credential
// Entra registers (its attestation judged by attest), the test assertion with
// a new credential, and the re-attestation that shows a key is still the one
// attested.
package keystep
