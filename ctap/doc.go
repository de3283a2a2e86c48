// Package ctap is a CTAP 2.1 client over a CTAPHID channel: getInfo, PINs,
// reset, credentials, assertions, credential management and configuration.
//
// In full, it is a CTAP 2.1 client (FIDO Client to Authenticator Protocol)
// over any channel that carries CTAP2 CBOR messages, plus the types and PIN/UV
// auth protocols that the authenticator side (simkey) shares with it.
//
// CBOR goes through github.com/fxamacker/cbor/v2 with CTAP2 canonical
// encoding; nothing here encodes CBOR by hand.
package ctap
