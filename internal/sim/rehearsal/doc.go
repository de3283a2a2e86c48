// Package rehearsal wires a rehearsal: simkeys the scripted officers plug
// in, the emulated tenant, and the rehearsal's verifier and signer.
//
// In full, it provides the virtual side of a rehearsal ceremony:
// simkeys that the "officers" plug in and re-plug, and a scripted prompter
// that answers like two officers would. Tests and `keyceremony rehearse
// --yes` drive the real ceremony engine with them.
package rehearsal
