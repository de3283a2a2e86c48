// Package simkey is the virtual FIDO2 authenticator, the project's test
// bench and rehearsal key: real CTAPHID frames and CTAP 2.1 CBOR, served in
// process or on a socket, behaving like a hardware key down to PIN retry
// counters, the block after three wrong PINs, reset only soon after power-up
// and keepalives while it waits for a touch. Its attestation chains to a test
// root that only a rehearsal trusts.
package simkey
