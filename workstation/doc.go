// Package workstation is the workstation's signing key: the TPM key, a
// software key by explicit choice, or a rehearsal's throw-away key.
//
// In full, it is the workstation's signing key: the TPM key that
// signs ceremony and health reports and offline files (through
// github.com/google/go-tpm), or a software key only by explicit choice, or
// a rehearsal's throw-away key; each says what kind of key it is.
package workstation
