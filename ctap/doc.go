// Package ctap is a CTAP 2.1 client over any channel that carries CTAP2
// CBOR messages: getInfo, clientPIN, reset, credentials, assertions,
// credential management and configuration, with typed errors. The wire
// vocabulary it shares with the simulated key is internal/ctapwire; CBOR goes
// through github.com/fxamacker/cbor/v2 with CTAP2 canonical encoding.
package ctap
