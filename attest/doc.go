// Package attest judges whether a new credential comes from a genuine,
// approved, non-revoked security key: the attestation signature and
// certificate chain (through github.com/go-webauthn/webauthn), FIDO MDS3
// status, the AAGUID allowlist and minimum firmware. Only the policy layer
// is written here; each attestation format's cryptography is the library's.
package attest
