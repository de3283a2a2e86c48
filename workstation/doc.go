// Package workstation is the workstation's signing key for reports and
// offline files: the TPM key (through github.com/google/go-tpm), a software
// key only by explicit choice, or a rehearsal's throw-away key; each says
// what kind of key it is.
package workstation
