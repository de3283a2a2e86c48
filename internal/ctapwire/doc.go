// Package ctapwire is CTAP 2.1's wire vocabulary, shared by the client
// (ctap) and the simulated key (internal/sim/simkey): CTAP2 canonical CBOR,
// COSE keys, the PIN/UV auth protocols, the request and reply maps, status
// codes, command bytes and authenticator-data flags.
package ctapwire

import "errors"

// ErrMalformedReply is wrapped by every error caused by a message that does
// not follow CTAP2 (bad CBOR, missing fields, wrong types, bad lengths).
var ErrMalformedReply = errors.New("malformed reply from the key")
