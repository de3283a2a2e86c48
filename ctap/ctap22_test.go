package ctap

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// ValidatePIN holds what the key says of itself: its maxPINLength (in code
// points) and, when it enforces a complexity policy, the published rules,
// naming the reason and the policy's URL; without those members it does not.
func TestValidatePINHoldsTheKeysRules(t *testing.T) {
	on, off := true, false
	key := &Info{MaxPINLength: 10, PINComplexityPolicy: &on, PINComplexityPolicyURL: urlBytes("https://example.com/pin")}
	for pin, why := range map[string]string{
		"12345678901": "longer than the key's maxPINLength of 10",
		"ñññññññññññ": "longer than the key's maxPINLength of 10",
		"88888888":    "one character repeated",
		"23456789":    "run of consecutive characters",
		"98765432":    "run of consecutive characters",
		"abcdefgh":    "run of consecutive characters",
		"PassWord":    `"password" is on the common-PIN lists`,
		"123123":      `"123123" is on the common-PIN lists`,
	} {
		err := ValidatePIN([]byte(pin), key, 4)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want %q", pin, err, why)
			continue
		}
		if strings.Contains(why, "common") || strings.Contains(why, "run") || strings.Contains(why, "repeated") {
			if !strings.Contains(err.Error(), "described at https://example.com/pin") {
				t.Errorf("%q: the policy's URL is not named: %v", pin, err)
			}
			if err := ValidatePIN([]byte(pin), &Info{PINComplexityPolicy: &off}, 4); err != nil {
				t.Errorf("%q refused by a key without a complexity policy: %v", pin, err)
			}
		}
	}
	for _, pin := range []string{"ñññññññññ1", "24681357", "12349753", "1234"} {
		if err := ValidatePIN([]byte(pin), key, 4); err != nil && pin != "1234" {
			t.Errorf("%q: %v", pin, err)
		} else if pin == "1234" && err == nil {
			t.Error("1234 taken by a key with a complexity policy")
		}
	}
	if err := ValidatePIN([]byte("ññññññññññ"), &Info{MaxPINLength: 10}, 4); err != nil {
		t.Errorf("10 code points of 2 bytes within maxPINLength 10: %v", err)
	}
}

// firmwareVersion in the vendor's form: dotted for Yubico's 0xMMmmpp and
// pico-fido's 0xMMmm (by AAGUID: its 0x0800 is 8.0, as its INIT's 8.0.0
// says), the integer for everyone else (Token2's 256, an AuthenTrend's
// 3000039, Windows Hello's 19042: the values the issue found shown as
// 0.1.0, 45.198.231, 0.74.98), labelled by source; the CTAPHID_INIT device
// version as major.minor.build whatever the vendor; "not reported" when
// absent, "unknown" when the backend cannot read it. A minimum parses in the
// same form, and in no dotted form for a model whose encoding is unknown.
func TestFirmwareInTheVendorsForm(t *testing.T) {
	yk, _ := ParseAAGUID("a25342c0-3cdc-4414-8e46-f4807fca511c")
	other, _ := ParseAAGUID("ab32f0c6-2239-afbb-c470-d2ef4e254db7")
	pico, _ := ParseAAGUID("89fb94b7-06c9-3673-9b7e-30526d968145")
	fw := func(v uint64) *uint64 { return &v }
	for _, c := range []struct {
		info Info
		want string
	}{
		{Info{AAGUID: yk, FirmwareVersion: fw(0x050704), FirmwareSource: firmwareFromGetInfo},
			"5.7.4 (getInfo, Yubico 0xMMmmpp)"},
		{Info{AAGUID: simkeyAAGUID, FirmwareVersion: fw(0x050704), FirmwareSource: firmwareFromGetInfo},
			"5.7.4 (getInfo, simkey 0xMMmmpp)"},
		{Info{AAGUID: other, FirmwareVersion: fw(0x0800), FirmwareSource: firmwareFromGetInfo},
			"2048 (getInfo, vendor-defined integer)"},
		{Info{AAGUID: pico, FirmwareVersion: fw(0x0800), FirmwareSource: firmwareFromGetInfo},
			"8.0 (getInfo, pico-fido 0xMMmm)"},
		{Info{AAGUID: pico, FirmwareVersion: fw(0x0706)}, "7.6 (getInfo, pico-fido 0xMMmm)"},
		{Info{AAGUID: pico, FirmwareVersion: fw(0x10000), FirmwareSource: firmwareFromGetInfo},
			"65536 (getInfo, vendor-defined integer)"},
		{Info{AAGUID: yk, FirmwareVersion: fw(0x050201), FirmwareSource: FirmwareFromCTAPHID},
			"5.2.1 (CTAPHID_INIT device version)"},
		{Info{AAGUID: other, FirmwareVersion: fw(256), FirmwareSource: firmwareFromGetInfo},
			"256 (getInfo, vendor-defined integer)"},
		{Info{FirmwareVersion: fw(3000039), FirmwareSource: firmwareFromGetInfo},
			"3000039 (getInfo, vendor-defined integer)"},
		{Info{FirmwareVersion: fw(19042), FirmwareSource: firmwareFromGetInfo}, "19042 (getInfo, vendor-defined integer)"},
		{Info{AAGUID: yk, FirmwareVersion: fw(0x1000000), FirmwareSource: firmwareFromGetInfo},
			"16777216 (getInfo, vendor-defined integer)"},
		{Info{AAGUID: other, FirmwareVersion: fw(0x080000), FirmwareSource: FirmwareFromCTAPHID},
			"8.0.0 (CTAPHID_INIT device version)"},
		{Info{AAGUID: other}, "not reported"},
		{Info{AAGUID: yk, Unavailable: []string{"firmwareVersion"}}, "unknown (this backend cannot read it)"},
	} {
		if got := c.info.FirmwareText(); got != c.want {
			t.Errorf("%v %s: %q, want %q", c.info.FirmwareVersion, c.info.AAGUID, got, c.want)
		}
	}
	if _, known := FormatFirmware(other, 256, ""); known {
		t.Error("Token2's encoding reported as known")
	}
	for _, c := range []struct {
		model AAGUID
		text  string
		want  uint64 // 0: refused
	}{
		{yk, "5.7.4", 0x050704}, {yk, "5.7", 0}, {yk, "5.7.256", 0}, {yk, "328964", 328964},
		{pico, "8.0", 0x0800}, {pico, "8.0.0", 0}, {pico, "7.6", 0x0706},
		{other, "1.0.0", 0}, {other, "256", 256}, {simkeyAAGUID, "5.7.4", 0x050704},
	} {
		got, err := ParseFirmware(c.model, c.text)
		if (c.want == 0) != (err != nil) || got != c.want {
			t.Errorf("ParseFirmware(%s, %q) = %#x, %v; want %#x", c.model, c.text, got, err, c.want)
		}
	}
}

// info --json shows encIdentifier and encCredStoreState as present, never
// their bytes, and the policy URL as text.
func TestEncryptedMembersShownAsPresentOnly(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	b, err := json.Marshal(&Info{Versions: []string{"FIDO_2_2"}, EncIdentifier: secret, EncCredStoreState: secret,
		PINComplexityPolicyURL: urlBytes("https://example.com")})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, `"encIdentifier":"present, 32 bytes, encrypted (not decrypted)"`) ||
		!strings.Contains(s, `"pinComplexityPolicyURL":"https://example.com"`) || strings.Contains(s, "MDEyMzQ1") {
		t.Fatal(s)
	}
}

// recordingChannel answers makeCredential with a status and keeps the request.
type recordingChannel struct{ req *[]byte }

func (r recordingChannel) CBOR(_ context.Context, msg []byte, _ func(byte)) ([]byte, error) {
	*r.req = append([]byte(nil), msg...)
	return []byte{byte(ctapwire.StatusOperationDenied)}, nil
}

// A key listing several attestation formats is asked for packed
// (attestationFormatsPreference, makeCredential 0x0B); one listing one
// format, or none (before CTAP 2.2), is sent no preference.
func TestMakeCredentialAsksForPackedWhenTheKeyListsSeveral(t *testing.T) {
	for _, c := range []struct {
		formats []string
		want    []string
	}{{[]string{"packed", "none"}, []string{"packed"}}, {[]string{"none", "tpm", "packed"}, []string{"packed"}},
		{[]string{"packed"}, nil}, {nil, nil}, {[]string{"none", "tpm"}, nil}} {
		var sent []byte
		cl := NewClient(recordingChannel{&sent}, Options{}).(*client)
		cl.info = &Info{Versions: []string{"FIDO_2_2"}, AttestationFormats: c.formats}
		_, err := cl.MakeCredential(context.Background(), MakeCredentialOptions{ClientDataHash: make([]byte, 32),
			RP: RelyingParty{ID: "login.microsoft.com"}, User: User{ID: []byte{1}}})
		if !errors.Is(err, ctapwire.StatusOperationDenied) {
			t.Fatal(err)
		}
		var req ctapwire.MakeCredentialRequest
		if err := ctapwire.Unmarshal(sent[1:], &req); err != nil {
			t.Fatal(err)
		}
		if strings.Join(req.AttestationFormatsPreference, ",") != strings.Join(c.want, ",") {
			t.Errorf("key lists %v: asked %v, want %v", c.formats, req.AttestationFormatsPreference, c.want)
		}
	}
}
