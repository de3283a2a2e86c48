// Package attest judges whether a new credential comes from a genuine,
// approved, non-revoked security key: attestation, policy and FIDO MDS3.
//
// In full, it decides whether a new credential comes from a genuine,
// approved, non-revoked security key: attestation signature and certificate
// chain (through github.com/go-webauthn/webauthn), FIDO MDS3 status, the
// AAGUID allowlist and minimum firmware. Only the policy layer is written
// here; the cryptographic verification of each attestation format is the
// library's.
package attest
