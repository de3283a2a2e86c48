package ctapwire

import (
	"github.com/fxamacker/cbor/v2"
)

// The CBOR modes are immutable after initialisation (constants in effect).
var (
	// encMode is CTAP2 canonical encoding (CTAP 2.1 §8 "Message Encoding").
	encMode = mustEnc(cbor.CTAP2EncOptions().EncMode())
	// decMode is strict and bounded: a hostile device reply cannot make it
	// allocate without limit, recurse deeply or smuggle duplicate keys.
	decMode = mustDec(cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  16,
		MaxArrayElements: 4096,
		MaxMapPairs:      4096,
		TagsMd:           cbor.TagsForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode())
)

func mustEnc(m cbor.EncMode, err error) cbor.EncMode {
	if err != nil {
		panic("ctapwire: static CBOR encoding options rejected: " + err.Error())
	}
	return m
}

func mustDec(m cbor.DecMode, err error) cbor.DecMode {
	if err != nil {
		panic("ctapwire: static CBOR decoding options rejected: " + err.Error())
	}
	return m
}

// Marshal encodes v in CTAP2 canonical CBOR.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// Unmarshal decodes CTAP2 CBOR strictly (no duplicate keys, no indefinite
// lengths, no tags, valid UTF-8) and rejects trailing bytes.
func Unmarshal(data []byte, v any) error { return decMode.Unmarshal(data, v) }

// UnmarshalFirst decodes the first CBOR item of data and returns the rest.
func UnmarshalFirst(data []byte, v any) (rest []byte, err error) {
	return decMode.UnmarshalFirst(data, v)
}

// RawMessage is a raw encoded CBOR value, kept byte-exact.
type RawMessage = cbor.RawMessage
