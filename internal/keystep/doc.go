// Package keystep holds the steps on a key that the ceremony, the offline
// split and the health check share, written once: creating the credential
// Entra registers, the Entra judgement of a new credential (JudgeForEntra:
// Graph's challenge decoded, attest with Entra's expectations), the test
// assertion with a new credential, and the re-attestation that shows a key
// is still the one attested.
package keystep
