package attest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// Input is one registration to judge.
type Input struct {
	// AttestationObject is the WebAuthn attestationObject (CBOR).
	AttestationObject []byte
	// ClientDataHash is SHA-256 of clientDataJSON; computed when
	// ClientDataJSON is given.
	ClientDataHash []byte
	// ClientDataJSON, when given, is checked against Expect.
	ClientDataJSON []byte
	// Firmware is getInfo's firmwareVersion, when known.
	Firmware *uint64
	// FirmwareSource is where Firmware came from, as ctap.Info.FirmwareSource
	// says ("" is getInfo): the CTAPHID_INIT device version is major.minor.build
	// whatever the vendor.
	FirmwareSource string
}

// InputFromMakeCredential builds an Input from a makeCredential result.
func InputFromMakeCredential(res *ctap.MakeCredentialResult, clientDataJSON []byte, firmware *uint64) (Input, error) {
	obj, err := res.AttestationObject()
	if err != nil {
		return Input{}, fmt.Errorf("attestationObject: %w", err)
	}
	return Input{AttestationObject: obj, ClientDataJSON: clientDataJSON, Firmware: firmware}, nil
}

// registrationJSON is a WebAuthn registration response in the browser's
// JSON shape (base64url fields).
type registrationJSON struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string `json:"clientDataJSON"`
		AttestationObject string `json:"attestationObject"`
	} `json:"response"`
}

// InputFromRegistrationJSON parses a registration response (a WebAuthn
// PublicKeyCredential as JSON, or the test-vector wrapper {"about": …,
// "registration": …} around one); firmware is the key's getInfo
// firmwareVersion as "5.4.3", or "" when unknown.
func InputFromRegistrationJSON(data []byte, firmware string) (Input, error) {
	var wrapper struct {
		Registration json.RawMessage `json:"registration"`
	}
	if json.Unmarshal(data, &wrapper) == nil && len(wrapper.Registration) > 0 {
		data = wrapper.Registration
	}
	var r registrationJSON
	if err := json.Unmarshal(data, &r); err != nil {
		return Input{}, fmt.Errorf("registration JSON: %w", err)
	}
	if r.Type != "public-key" {
		return Input{}, fmt.Errorf("registration JSON: type %q, want public-key", r.Type)
	}
	cd, err := decodeB64URL(r.Response.ClientDataJSON)
	if err != nil || len(cd) == 0 {
		return Input{}, fmt.Errorf("registration JSON: clientDataJSON: %v", err)
	}
	ao, err := decodeB64URL(r.Response.AttestationObject)
	if err != nil || len(ao) == 0 {
		return Input{}, fmt.Errorf("registration JSON: attestationObject: %v", err)
	}
	raw, err := decodeB64URL(r.RawID)
	if err != nil {
		return Input{}, fmt.Errorf("registration JSON: rawId: %w", err)
	}
	in := Input{AttestationObject: ao, ClientDataJSON: cd}
	ad, err := parseAuthDataFromObject(ao)
	if err == nil && !bytes.Equal(ad.CredentialID, raw) {
		return Input{}, errors.New("registration JSON: rawId differs from the credential ID in authenticator data")
	}
	if firmware != "" {
		var model ctap.AAGUID
		if ad != nil {
			model = ad.AAGUID
		}
		v, err := ctap.ParseFirmware(model, firmware)
		if err != nil {
			return Input{}, err
		}
		in.Firmware = &v
	}
	return in, nil
}

// decodeB64URL accepts base64url with or without padding.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func parseAuthDataFromObject(obj []byte) (*ctap.AuthData, error) {
	var o struct {
		AuthData []byte `cbor:"authData"`
	}
	if err := ctapwire.Unmarshal(obj, &o); err != nil {
		return nil, err
	}
	return ctap.ParseAuthData(o.AuthData)
}

// firmwareToCompare is the firmware as the policy's minimum for model a
// compares it: getInfo's integer as it is; a CTAPHID_INIT device version
// (major.minor.build) read in the vendor's form, its leading parts where
// the form has fewer (pico-fido's INIT 8.0.0 is its getInfo 0x0800, 8.0);
// nil (unknown) when the vendor's form is not known.
func firmwareToCompare(a ctap.AAGUID, firmware *uint64, source string) *uint64 {
	if firmware == nil || source != ctap.FirmwareFromCTAPHID {
		return firmware
	}
	text, _ := ctap.FormatFirmware(a, *firmware, source)
	for ; strings.Contains(text, "."); text = text[:strings.LastIndex(text, ".")] {
		if v, err := ctap.ParseFirmware(a, text); err == nil {
			return &v
		}
	}
	return nil
}
