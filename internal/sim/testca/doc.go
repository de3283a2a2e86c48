// Package testca holds simkey's TEST attestation root and its key, public on
// purpose: the root proves nothing and is trusted only in a rehearsal.
//
// In full, it holds simkey's TEST attestation root. Its private key is
// public on purpose: the root proves nothing. It is its own package, with no
// dependencies, so that the attest package can recognise (and, outside a
// rehearsal, refuse) it without importing simkey and its HID stack.
package testca
