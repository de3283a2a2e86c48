// Package simkey is the virtual authenticator: real CTAPHID frames and CTAP2
// CBOR, served in process or on a socket. Tests and rehearsals only.
//
// In full, it is keyceremony's virtual FIDO2 authenticator: a software key
// that speaks real CTAPHID frames and CTAP 2.1 CBOR and behaves like a
// hardware key down to PIN retry counters, blocking after three wrong PINs
// until it is re-plugged, reset only soon after power-up, and keepalives
// while it waits for a touch. It is the project's test bench and its
// rehearsal mode; its attestation chains to a test root that only rehearsal
// trusts.
package simkey
