// Package hid finds FIDO authenticators on hidraw and speaks CTAPHID to
// them: framing, channels, keepalives, cancel and timeouts.
//
// In full, it finds FIDO authenticators on Linux hidraw and speaks the CTAPHID
// framing protocol (FIDO CTAP 2.1, section 11.2) to them.
//
// The framing is written here by hand: no maintained Go library implements
// CTAPHID over an arbitrary report transport, and the protocol is small enough
// (two packet shapes, one reassembly rule) to keep fully tested and fuzzed.
package hid
