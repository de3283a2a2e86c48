package ctap

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// Permission is a pinUvAuthToken permission bit (CTAP 2.1 §6.5.5.7).
type Permission uint8

// The pinUvAuthToken permissions keyceremony asks for. (The others, bio
// enrollment 0x08 and large blob write 0x10, it never needs.)
const (
	PermMakeCredential       Permission = 0x01
	PermGetAssertion         Permission = 0x02
	PermCredentialManagement Permission = 0x04
	PermAuthenticatorConfig  Permission = 0x20
)

// Info is the authenticatorGetInfo reply with every member of CTAP 2.1,
// 2.2 and the 2.3 draft (members 0x01-0x1F; CTAP 2.2 §6.4, fido-v2.2-ps-20250714
// "authenticatorGetInfo"; numbers and types as github.com/Yubico/libfido2
// src/info.c cbor_info_decode and github.com/Yubico/python-fido2
// fido2/ctap2/base.py Info read them, at 8ee8e5a2 and d1fd7118).
type Info struct {
	Versions                         []string                   `cbor:"1,keyasint"            json:"versions"`
	Extensions                       []string                   `cbor:"2,keyasint,omitempty"  json:"extensions,omitempty"`
	AAGUID                           AAGUID                     `cbor:"3,keyasint"            json:"aaguid"`
	Options                          map[string]bool            `cbor:"4,keyasint,omitempty"  json:"options,omitempty"`
	MaxMsgSize                       int                        `cbor:"5,keyasint,omitempty"  json:"maxMsgSize,omitempty"`
	PinUvAuthProtocols               []int                      `cbor:"6,keyasint,omitempty"  json:"pinUvAuthProtocols,omitempty"`
	MaxCredentialCountInList         int                        `cbor:"7,keyasint,omitempty"  json:"maxCredentialCountInList,omitempty"`
	MaxCredentialIDLength            int                        `cbor:"8,keyasint,omitempty"  json:"maxCredentialIdLength,omitempty"`
	Transports                       []string                   `cbor:"9,keyasint,omitempty"  json:"transports,omitempty"`
	Algorithms                       []ctapwire.CredentialParam `cbor:"10,keyasint,omitempty" json:"algorithms,omitempty"`
	MaxSerializedLargeBlobArray      int                        `cbor:"11,keyasint,omitempty" json:"maxSerializedLargeBlobArray,omitempty"`
	ForcePINChange                   bool                       `cbor:"12,keyasint,omitempty" json:"forcePINChange,omitempty"`
	MinPINLength                     int                        `cbor:"13,keyasint,omitempty" json:"minPINLength,omitempty"`
	FirmwareVersion                  *uint64                    `cbor:"14,keyasint,omitempty" json:"firmwareVersion,omitempty"`
	MaxCredBlobLength                int                        `cbor:"15,keyasint,omitempty" json:"maxCredBlobLength,omitempty"`
	MaxRPIDsForSetMinPINLength       int                        `cbor:"16,keyasint,omitempty" json:"maxRPIDsForSetMinPINLength,omitempty"`
	PreferredPlatformUVAttempts      int                        `cbor:"17,keyasint,omitempty" json:"preferredPlatformUvAttempts,omitempty"`
	UVModality                       int                        `cbor:"18,keyasint,omitempty" json:"uvModality,omitempty"`
	Certifications                   map[string]int             `cbor:"19,keyasint,omitempty" json:"certifications,omitempty"`
	RemainingDiscoverableCredentials *int                       `cbor:"20,keyasint,omitempty" json:"remainingDiscoverableCredentials,omitempty"`
	VendorPrototypeConfigCommands    []uint64                   `cbor:"21,keyasint,omitempty" json:"vendorPrototypeConfigCommands,omitempty"`

	// CTAP 2.2 and the 2.3 draft.
	AttestationFormats       []string `cbor:"22,keyasint,omitempty" json:"attestationFormats,omitempty"`
	UVCountSinceLastPINEntry *uint64  `cbor:"23,keyasint,omitempty" json:"uvCountSinceLastPinEntry,omitempty"`
	// LongTouchForReset: the key wants a long touch (touch and hold) to reset.
	LongTouchForReset bool `cbor:"24,keyasint,omitempty" json:"longTouchForReset,omitempty"`
	// EncIdentifier is encrypted to a persistent PIN/UV auth token this tool
	// never asks for: shown as present, never decrypted.
	EncIdentifier sealed `cbor:"25,keyasint,omitempty" json:"encIdentifier,omitempty"`
	// TransportsForReset, when present, lists the only transports over
	// which the key accepts authenticatorReset.
	TransportsForReset []string `cbor:"26,keyasint,omitempty" json:"transportsForReset,omitempty"`
	// PINComplexityPolicy true: the key enforces a PIN policy beyond
	// minPINLength (described at PINComplexityPolicyURL).
	PINComplexityPolicy    *bool    `cbor:"27,keyasint,omitempty" json:"pinComplexityPolicy,omitempty"`
	PINComplexityPolicyURL urlBytes `cbor:"28,keyasint,omitempty" json:"pinComplexityPolicyURL,omitempty"`
	// MaxPINLength is the longest PIN in Unicode code points the key takes
	// (0: not reported, CTAP's 63 bytes then).
	MaxPINLength                int      `cbor:"29,keyasint,omitempty" json:"maxPINLength,omitempty"`
	EncCredStoreState           sealed   `cbor:"30,keyasint,omitempty" json:"encCredStoreState,omitempty"`
	AuthenticatorConfigCommands []uint64 `cbor:"31,keyasint,omitempty" json:"authenticatorConfigCommands,omitempty"`

	// Unavailable names the members above that the backend in use could
	// not read (empty for the native backend, which reads them all): an
	// absent firmwareVersion then means "unknown", not "not reported".
	Unavailable []string `cbor:"-" json:"unavailable,omitempty"`
	// FirmwareSource says where FirmwareVersion came from: FirmwareFromGetInfo,
	// or FirmwareFromCTAPHID when getInfo has none (keys before CTAP 2.1,
	// such as YubiKeys below 5.7) and the CTAPHID_INIT device version is
	// used instead. Empty when the firmware is unknown.
	FirmwareSource string `cbor:"-" json:"firmwareSource,omitempty"`
}

// DefaultRetryFloor is the number of PIN retries left at or below which no
// PIN is sent without an officer confirming that very number: the last
// retries of a key are never spent automatically.
const DefaultRetryFloor = 3

// firmwareFromGetInfo is Info.FirmwareSource when getInfo reported it.
const firmwareFromGetInfo = "getInfo firmwareVersion"

// FirmwareFromCTAPHID is Info.FirmwareSource when getInfo reported none and
// the CTAPHID_INIT device version (major.minor.build) stands in for it.
const FirmwareFromCTAPHID = "CTAPHID_INIT device version"

// MinPINLengthText renders the minimum PIN length as the key reports it,
// or says that it reports none (CTAP 2.1 §6.4: the default is 4).
func (i *Info) MinPINLengthText() string {
	if i.MinPINLength == 0 {
		return "not reported (CTAP default 4)"
	}
	return fmt.Sprint(i.MinPINLength)
}

// Option reports an option's state: present and true, present and false, or absent.
func (i *Info) Option(name string) (value, present bool) {
	v, ok := i.Options[name]
	return v, ok
}

// supportsPINProtocol reports whether v is among the key's PIN/UV auth protocols.
func (i *Info) supportsPINProtocol(v int) bool {
	for _, p := range i.PinUvAuthProtocols {
		if p == v {
			return true
		}
	}
	return false
}

// AAGUID is an authenticator model identifier.
type AAGUID [16]byte

// String formats the AAGUID as a UUID.
func (a AAGUID) String() string {
	h := hex.EncodeToString(a[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// IsZero reports whether the AAGUID is all zeros (U2F keys, or hidden model).
func (a AAGUID) IsZero() bool { return a == AAGUID{} }

// ParseAAGUID parses the UUID text form.
func ParseAAGUID(s string) (AAGUID, error) {
	var a AAGUID
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return a, fmt.Errorf("AAGUID %q is not a UUID", s)
	}
	copy(a[:], b)
	return a, nil
}

// MarshalText implements encoding.TextMarshaler (UUID form in JSON).
func (a AAGUID) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalCBOR reads the 16-byte string, refusing any other length.
func (a *AAGUID) UnmarshalCBOR(data []byte) error {
	var b []byte
	if err := ctapwire.Unmarshal(data, &b); err != nil {
		return err
	}
	if len(b) != 16 {
		return fmt.Errorf("AAGUID of %d bytes", len(b))
	}
	copy(a[:], b)
	return nil
}

// MarshalCBOR writes the 16-byte string.
func (a AAGUID) MarshalCBOR() ([]byte, error) { return ctapwire.Marshal(a[:]) }

// MakeCredentialResult is the makeCredential reply: fmt, authData and attStmt
// exactly as the key sent them.
type MakeCredentialResult struct {
	Format       string              `cbor:"1,keyasint"`
	AuthData     []byte              `cbor:"2,keyasint"`
	AttStmt      ctapwire.RawMessage `cbor:"3,keyasint"`
	EpAtt        bool                `cbor:"4,keyasint,omitempty"`
	LargeBlobKey []byte              `cbor:"5,keyasint,omitempty"`
}

// AttestationObject returns the WebAuthn attestationObject
// {"fmt", "attStmt", "authData"} in CTAP2 canonical order, attStmt byte-exact.
func (r *MakeCredentialResult) AttestationObject() ([]byte, error) {
	obj := struct {
		Fmt      string              `cbor:"fmt"`
		AttStmt  ctapwire.RawMessage `cbor:"attStmt"`
		AuthData []byte              `cbor:"authData"`
	}{r.Format, r.AttStmt, r.AuthData}
	return ctapwire.Marshal(obj)
}

// Assertion is one getAssertion (or getNextAssertion) reply.
type Assertion struct {
	Credential          CredentialDescriptor `cbor:"1,keyasint"`
	AuthData            []byte               `cbor:"2,keyasint"`
	Signature           []byte               `cbor:"3,keyasint"`
	User                *User                `cbor:"4,keyasint,omitempty"`
	NumberOfCredentials int                  `cbor:"5,keyasint,omitempty"`
	UserSelected        bool                 `cbor:"6,keyasint,omitempty"`
	LargeBlobKey        []byte               `cbor:"7,keyasint,omitempty"`
}

// AuthData is a parsed authenticator data structure.
type AuthData struct {
	RPIDHash  [32]byte
	Flags     byte
	SignCount uint32
	// Present when ctapwire.FlagAT is set.
	AAGUID        AAGUID
	CredentialID  []byte
	CredentialKey ctapwire.RawMessage // COSE public key, byte-exact
	// Present when ctapwire.FlagED is set.
	Extensions ctapwire.RawMessage
}

// ParseAuthData parses authenticator data, refusing trailing or missing bytes.
func ParseAuthData(b []byte) (*AuthData, error) {
	if len(b) < 37 {
		return nil, fmt.Errorf("%w: authenticator data of %d bytes", ErrMalformedReply, len(b))
	}
	a := &AuthData{Flags: b[32], SignCount: binary.BigEndian.Uint32(b[33:37])}
	copy(a.RPIDHash[:], b[:32])
	rest := b[37:]
	if a.Flags&ctapwire.FlagAT != 0 {
		if len(rest) < 18 {
			return nil, fmt.Errorf("%w: attested credential data truncated", ErrMalformedReply)
		}
		copy(a.AAGUID[:], rest[:16])
		n := int(binary.BigEndian.Uint16(rest[16:18]))
		rest = rest[18:]
		if n == 0 || n > 1023 || len(rest) < n {
			return nil, fmt.Errorf("%w: credential ID length %d", ErrMalformedReply, n)
		}
		a.CredentialID = rest[:n:n]
		rest = rest[n:]
		var key ctapwire.RawMessage
		r, err := ctapwire.UnmarshalFirst(rest, &key)
		if err != nil {
			return nil, fmt.Errorf("%w: credential public key: %v", ErrMalformedReply, err)
		}
		a.CredentialKey = key
		rest = r
	}
	if a.Flags&ctapwire.FlagED != 0 {
		var ext ctapwire.RawMessage
		r, err := ctapwire.UnmarshalFirst(rest, &ext)
		if err != nil {
			return nil, fmt.Errorf("%w: extensions: %v", ErrMalformedReply, err)
		}
		a.Extensions = ext
		rest = r
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d unexpected bytes after authenticator data", ErrMalformedReply, len(rest))
	}
	return a, nil
}
