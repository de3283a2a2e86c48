package ctap

import (
	"encoding/json"
	"fmt"
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
// (webauthn-rs get_info.rs token2_nfc), pico-fido 0x0800 for 8.0.
var yubicoFirmwareAAGUIDs = map[string]bool{}

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
		yubicoFirmwareAAGUIDs[s] = true
	}
}

// firmwareVendor names the vendor whose 0xMMmmpp firmware encoding is
// known for the model a, or "" when it is not.
func firmwareVendor(a AAGUID) string {
	switch {
	case yubicoFirmwareAAGUIDs[a.String()]:
		return "Yubico"
	case a == simkeyAAGUID:
		return "simkey"
	}
	return ""
}

// FormatFirmware renders getInfo's firmwareVersion v of the model a in the
// vendor's form: major.minor.patch where the vendor's 0xMMmmpp encoding is
// known (known true), else the integer (known false).
func FormatFirmware(a AAGUID, v uint64) (text string, known bool) {
	if firmwareVendor(a) != "" && v <= 0xffffff {
		return dotted(v), true
	}
	return strconv.FormatUint(v, 10), firmwareVendor(a) != ""
}

func dotted(v uint64) string { return fmt.Sprintf("%d.%d.%d", v>>16, (v>>8)&0xff, v&0xff) }

// FirmwareText is the key's firmware as an officer reads it, labelled by its
// source: "5.7.4 (getInfo, Yubico 0xMMmmpp)", "256 (getInfo, vendor-defined
// integer)", "5.2.1 (CTAPHID_INIT device version)", or "not reported".
func (i *Info) FirmwareText() string {
	switch {
	case i.FirmwareVersion == nil && containsString(i.Unavailable, "firmwareVersion"):
		return "unknown (this backend cannot read it)"
	case i.FirmwareVersion == nil:
		return "not reported"
	case i.FirmwareSource == firmwareFromCTAPHID:
		// CTAPHID_INIT's major, minor and build bytes (CTAP 2.1 §11.2.9.1.3).
		return dotted(*i.FirmwareVersion) + " (CTAPHID_INIT device version)"
	}
	text, known := FormatFirmware(i.AAGUID, *i.FirmwareVersion)
	if known && strings.Contains(text, ".") {
		return fmt.Sprintf("%s (getInfo, %s 0xMMmmpp)", text, firmwareVendor(i.AAGUID))
	}
	return text + " (getInfo, vendor-defined integer)"
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
