// Package hid finds FIDO authenticators on Linux hidraw and speaks CTAPHID
// (CTAP 2.1 §11.2) to them: channels, keepalives, cancel and timeouts. The
// framing is hand-written (internal/ctaphid) because no maintained Go library
// implements CTAPHID over an arbitrary report transport, and it is small
// enough to keep fully tested and fuzzed.
package hid
