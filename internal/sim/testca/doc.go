// Package testca holds simkey's TEST attestation root and its key, public on
// purpose: the root proves nothing and is trusted only in a rehearsal. It has
// no dependencies, so attest can recognise (and outside a rehearsal refuse)
// it without importing simkey and its HID stack.
package testca
