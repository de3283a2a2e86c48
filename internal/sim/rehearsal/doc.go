// Package rehearsal is the virtual side of a rehearsal: simkeys that the
// scripted officers plug in and re-plug, the emulated tenant, and the
// rehearsal's verifier and signer. Tests and `keyceremony rehearse` drive the
// real ceremony engine with them.
package rehearsal
