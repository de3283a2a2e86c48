package ctap

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// getInfo's firmwareVersion (0x0E) is an integer whose encoding the vendor
// chooses (CTAP 2.1 §6.4: "the firmware version of the authenticator
// model ... vendor-specific"). Only where a vendor's encoding is known is it
// shown dotted; anything else is shown as the integer it is.
//
// Yubico encodes major.minor.patch as 0xMMmmpp: its FIDO MDS3 statements
// publish authenticatorGetInfo.firmwareVersion 328706 (0x050402, 5.4.2) for
// the YubiKey 5 series and 328965 (0x050505) for the YubiKey Bio
// (attest/testdata/mds/webauthn4j-blob-no9.jwt, FIDO MDS3 blob no. 9), and
// its keys answer so on the wire: the YubiKey Bio capture of
// github.com/gebogebogebo/ctap-hid-fido2 src/fidokey/get_info/mod.rs
// (b6285672) sends 328966, 5.5.6; the Security Key NFC capture of
// github.com/kanidm/webauthn-rs webauthn-authenticator-rs/src/usb/responses.rs
// (65e9a6d7) sends 0x050403. Other vendors do not: Token2 sends 256
// (webauthn-rs get_info.rs token2_nfc).
//
// pico-fido encodes major.minor as 0xMMmm: github.com/polhenarejos/pico-fido
// at 1308b81dbc16fbfba11fda1862fdd43639664079, src/fido/version.h
// ("#define PICO_FIDO_VERSION 0x0800", MAJOR = >> 8, MINOR = & 0xff), sent
// as firmwareVersion by src/fido/cbor_get_info.c, under the AAGUID of
// src/fido/cbor.c (89fb94b7-06c9-3673-9b7e-30526d968145, "First 16 bytes of
// SHA256("Pico FIDO2")"); a pico-fido 8.0 answers 2048 to getInfo and 8.0.0
// to CTAPHID_INIT (ctap/testdata/getinfo/pico-fido-8.0.hex).
var firmwareForms = map[string]firmwareForm{}

// firmwareForm is a vendor's encoding of firmwareVersion: parts numbers of
// 8 bits each, most significant first ("5.7.4" is 0x050704 in three parts,
// pico-fido's "8.0" 0x0800 in two).
type firmwareForm struct {
	vendor string
	parts  int
}

// label names the form as the officers read it: "Yubico 0xMMmmpp".
func (f firmwareForm) label() string {
	return f.vendor + " 0x" + "MMmmpp"[:2*f.parts]
}

// Yubico's AAGUIDs (https://support.yubico.com/hc/en-us/articles/360016648959,
// "YubiKey Hardware FIDO2 AAGUIDs"; the FIDO MDS3 entries above).
const yubicoAAGUIDs = `cb69481e-8ff7-4039-93ec-0a2729a154a8 ee882879-721c-4913-9775-3dfcce97072a
fa2b99dc-9e39-4257-8f92-4a30d23c4118 2fc0579f-8113-47ea-b116-bb5a8db9202a c5ef55ff-ad9a-4b9f-b580-adebafe026d0
73bb0cd4-e502-49b8-9c6f-b59445bf720b c1f9a0bc-1dd2-404a-b27f-8e29047a43fd 85203421-48f9-4355-9bc8-8a53846e5083
f8a011f3-8c0a-4d15-8006-17111f9edc7d b92c3f9a-c014-4056-887f-140a2501163b 6d44ba9b-f6ec-2e49-b930-0c8fe920cb73
149a2021-8ef6-4133-96b8-81f8d5b7f1f5 d8522d9f-575b-4866-88a9-ba99fa02f35b 83c47309-aabb-4108-8470-8be838b573cb
34f5766d-1536-4a24-9033-0e294e510fb0 19083c3d-8383-4b18-bc03-8f1c9ab2fd1b ff4dac45-ede8-4ec2-aced-cf66103f4335
20ac7a17-c814-4833-93fe-539f0d5e3389 4599062e-6926-4fe7-9566-9e8fb1aedaa0 a25342c0-3cdc-4414-8e46-f4807fca511c
d7781e5d-e353-46aa-afe2-3ca49f13332a 1ac71f64-468d-4fe0-bef1-0e5f2f551f18 6ab56fad-881f-4a43-acb2-0be065924522
a02167b9-ae71-4ac7-9a07-06432ebb6f1c 24673149-6c86-42e7-98d9-433fb5b73296 b90e7dc1-316e-4fee-a25a-56a666a670fe
3b24bf49-1d45-4484-a917-13175df0867b 57f7de54-c807-4eab-b1c6-1c9be7984e92 905b4cb4-ed6f-4da9-92fc-45e0d4e9b5c7
fcc0118f-cd45-435b-8da1-9782b2da0715 79f3c8ba-9e35-484b-8f47-53a5a0f5c630 7b96457d-e3cd-432b-9ceb-c9fdd7ef7432
3a662962-c6d4-4023-bebb-98ae92e78e20 e77e3c64-05e3-428b-8824-0cbeb04b829d b7d3f68e-88a6-471e-9ecf-2df26d041ede
47ab2fb4-66ac-4184-9ae1-86be814012d5 ed042a3a-4b22-4455-bb69-a267b652ae7e 9ff4cc65-6154-4fff-ba09-9e2af7882ad2
72c6b72d-8512-4c66-8359-9d3d10d9222f`

// simkeyAAGUID is the virtual key's ("keyceremony-simk"): simkey encodes its
// firmware as the YubiKeys it imitates do (internal/sim/simkey, Config).
var simkeyAAGUID = AAGUID{'k', 'e', 'y', 'c', 'e', 'r', 'e', 'm', 'o', 'n', 'y', '-', 's', 'i', 'm', 'k'}

func init() {
	for _, s := range strings.Fields(yubicoAAGUIDs) {
		firmwareForms[s] = firmwareForm{"Yubico", 3}
	}
	firmwareForms[simkeyAAGUID.String()] = firmwareForm{"simkey", 3}
	firmwareForms["89fb94b7-06c9-3673-9b7e-30526d968145"] = firmwareForm{"pico-fido", 2}
}

// FormatFirmware renders a firmware version v of the model a, as the
// source it came from gives it (Info.FirmwareSource; "" is getInfo): the
// CTAPHID_INIT device version as major.minor.build (CTAP 2.1 §11.2.9.1.3),
// getInfo's firmwareVersion in the vendor's form where it is known (known
// true: "5.4.3" for Yubico, "8.0" for pico-fido), else the integer.
func FormatFirmware(a AAGUID, v uint64, source string) (text string, known bool) {
	form, ok := firmwareForms[a.String()]
	switch {
	case source == FirmwareFromCTAPHID:
		return dotted(v, 3), true
	case ok && v>>(8*form.parts) == 0:
		return dotted(v, form.parts), true
	}
	return strconv.FormatUint(v, 10), ok
}

// ParseFirmware reads a firmware version s of the model a in its vendor's
// form ("5.4.3" for Yubico, "8.0" for pico-fido) or as getInfo's integer;
// a model whose encoding is not known takes no dotted form.
func ParseFirmware(a AAGUID, s string) (uint64, error) {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	form, ok := firmwareForms[a.String()]
	if !ok {
		return 0, fmt.Errorf("firmware %q: the firmwareVersion encoding of model %s is vendor-defined and not "+
			"known to keyceremony: give getInfo's integer", s, a)
	}
	parts := strings.Split(s, ".")
	if len(parts) != form.parts {
		return 0, fmt.Errorf("firmware %q: %s firmware is written %s", s, form.vendor,
			strings.Join([]string{"major", "minor", "patch"}[:form.parts], "."))
	}
	var v uint64
	for _, part := range parts {
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil {
			return 0, fmt.Errorf("firmware %q: %w", s, err)
		}
		v = v<<8 | n
	}
	return v, nil
}

// dotted writes the low parts bytes of v, most significant first.
func dotted(v uint64, parts int) string {
	out := make([]string, parts)
	for i := range out {
		out[i] = strconv.FormatUint(v>>(8*(parts-1-i))&0xff, 10)
	}
	return strings.Join(out, ".")
}

// FirmwareText is the key's firmware as an officer reads it, labelled by its
// source: "5.7.4 (getInfo, Yubico 0xMMmmpp)", "8.0 (getInfo, pico-fido
// 0xMMmm)", "256 (getInfo, vendor-defined integer)", "5.2.1 (CTAPHID_INIT
// device version)", or "not reported".
func (i *Info) FirmwareText() string {
	switch {
	case i.FirmwareVersion == nil && slices.Contains(i.Unavailable, "firmwareVersion"):
		return "unknown (this backend cannot read it)"
	case i.FirmwareVersion == nil:
		return "not reported"
	}
	text, known := FormatFirmware(i.AAGUID, *i.FirmwareVersion, i.FirmwareSource)
	switch {
	case i.FirmwareSource == FirmwareFromCTAPHID:
		return text + " (CTAPHID_INIT device version)"
	case known && strings.Contains(text, "."):
		return fmt.Sprintf("%s (getInfo, %s)", text, firmwareForms[i.AAGUID.String()].label())
	}
	return text + " (getInfo, vendor-defined integer)"
}

// sealed is an encrypted getInfo member (encIdentifier, encCredStoreState,
// CTAP 2.2 §6.4): kept as sent, shown only as present.
type sealed []byte

// MarshalJSON says the member is present and how long it is, never its bytes.
func (s sealed) MarshalJSON() ([]byte, error) {
	return json.Marshal(fmt.Sprintf("present, %d bytes, encrypted (not decrypted)", len(s)))
}

// urlBytes is pinComplexityPolicyURL: a CBOR byte string holding a URL
// (libfido2 src/info.c decodes it with fido_blob_decode; python-fido2's
// Info types it bytes). A text string is taken too.
type urlBytes []byte

// UnmarshalCBOR reads a byte or a text string.
func (u *urlBytes) UnmarshalCBOR(data []byte) error {
	var b []byte
	if err := ctapwire.Unmarshal(data, &b); err == nil {
		*u = b
		return nil
	}
	var s string
	if err := ctapwire.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("pinComplexityPolicyURL: %w", err)
	}
	*u = []byte(s)
	return nil
}

// MarshalJSON writes the URL as text.
func (u urlBytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.ToValidUTF8(string(u), "?"))
}
