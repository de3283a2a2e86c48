package fidokey

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
)

// What `info` shows for a key before CTAP 2.1: python-fido2's recorded
// getInfo of a Security Key by Yubico (no firmwareVersion, no minPINLength)
// behind a CTAPHID_INIT that says 5.2.1 (ctap/testdata/transcripts, where
// the replay through the socket transport decodes it): the firmware is
// labelled by its source and the minimum PIN length is not shown as 0.
func TestInfoShowsFirmwareSourceAndUnreportedMinPIN(t *testing.T) {
	fw := uint64(0x050201)
	info := &ctap.Info{Versions: []string{"U2F_V2", "FIDO_2_0"}, FirmwareVersion: &fw, FirmwareSource: "CTAPHID_INIT device version", MaxMsgSize: 1200}
	var out bytes.Buffer
	d := &Description{Address: "hidraw:/dev/hidraw3", CTAPHID: hid.InitInfo{ProtocolVersion: 2, Major: 5, Minor: 2, Build: 1, Capabilities: 5}, Info: info}
	if err := d.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"5.2.1 (CTAPHID_INIT device version)", "not reported (CTAP default 4)", "device version 5.2.1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("info output lacks %q:\n%s", want, out.String())
		}
	}
	// No empty rows: this key reports no extensions, options, algorithms
	// or transports.
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) == 1 {
			t.Errorf("empty row %q:\n%s", l, out.String())
		}
	}
}

// The workstation's console has 80 columns: `devices` and `info` fit in
// them for a key with a long name and serial, an unreadable device, and a
// getInfo with every option a YubiKey 5.7 reports (they were 122 and 172
// columns wide, a table and one options line).
func TestDevicesAndInfoFitEightyColumns(t *testing.T) {
	set, retries := true, 8
	probes := []probeResult{
		{Address: "hidraw:/dev/hidraw12", HID: &hid.DeviceInfo{VendorID: 0x1050, ProductID: 0x0407, Name: "Yubico YubiKey OTP+FIDO+CCID", Serial: "0123456789"},
			AAGUID: "a25342c0-3cdc-4414-8e46-f4807fca511c", Firmware: "5.7.4 (getInfo, Yubico 0xMMmmpp)", PINSet: &set, PINRetries: &retries,
			MinPINLength: 8, MaxPINLength: 63, PINComplexityPolicy: &set, LongTouchForReset: true,
			TransportsForReset: []string{"usb", "smart-card", "nfc"}},
		{Address: "hidraw:/dev/hidraw13", HID: &hid.DeviceInfo{VendorID: 0x1050, ProductID: 0x0407, Name: "Yubico YubiKey OTP+FIDO+CCID"},
			Error: "open /dev/hidraw13: permission denied (the udev rule is not installed: keyceremony config udev)"},
	}
	var out bytes.Buffer
	if err := Probes(probes).WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if err := Probes(nil).WriteText(&out); err != nil {
		t.Fatal(err)
	}
	// A device that could not be read is a finding (exit 1), counted.
	var code interface{ ExitCode() int }
	if err := Probes(probes).Err(); !errors.As(err, &code) || code.ExitCode() != 1 || !strings.HasPrefix(err.Error(), "1 of 2 devices could not be read") {
		t.Errorf("one unreadable device: %v", err)
	}
	if err := Probes(probes[:1]).Err(); err != nil {
		t.Errorf("every device read: %v", err)
	}
	opts := map[string]bool{}
	for _, o := range []string{"alwaysUv", "authnrCfg", "bioEnroll", "clientPin", "credMgmt", "credentialMgmtPreview", "ep", "largeBlobs",
		"makeCredUvNotRqd", "noMcGaPermissionsWithClientPin", "pinUvAuthToken", "plat", "rk", "setMinPINLength", "up", "uv", "uvAcfg"} {
		opts[o] = true
	}
	fw, uvCount := uint64(0x050704), uint64(3)
	yk57, _ := ctap.ParseAAGUID("a25342c0-3cdc-4414-8e46-f4807fca511c")
	d := &Description{Address: "hidraw:/dev/hidraw12", CTAPHID: hid.InitInfo{ProtocolVersion: 2, Major: 5, Minor: 7, Build: 4, Capabilities: 5},
		Info: &ctap.Info{AAGUID: yk57, Versions: []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"}, Extensions: []string{"credProtect", "hmac-secret",
			"largeBlobKey", "credBlob", "minPinLength", "hmac-secret-mc", "thirdPartyPayment"}, Options: opts, FirmwareVersion: &fw,
			FirmwareSource: "getInfo firmwareVersion", MaxMsgSize: 1280, Certifications: map[string]int{"FIDO": 2, "FIPS-CMVP-2": 2, "FIPS-CMVP-2-PHY": 3},
			// CTAP 2.2/2.3 members as libfido2's recorded CTAP 2.3 reply carries them.
			AttestationFormats:       []string{"packed", "none", "tpm", "android-key", "fido-u2f", "apple", "compound"},
			UVCountSinceLastPINEntry: &uvCount, LongTouchForReset: true, EncIdentifier: make([]byte, 32),
			TransportsForReset: []string{"usb", "smart-card"}, PINComplexityPolicy: &set,
			PINComplexityPolicyURL: []byte("https://example.com/a/rather/long/pin/complexity/policy/address/for/this/key"),
			MaxPINLength:           63, EncCredStoreState: make([]byte, 32), AuthenticatorConfigCommands: []uint64{1, 2, 3, 0xff}}}
	if err := d.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Yubico YubiKey OTP+FIDO+CCID, serial 0123456789", "PIN set, 8 retries, PIN 8-63, complexity policy",
		"reset: long touch (touch and hold), only over usb, smart-card, nfc", "ERROR: open /dev/hidraw13", "uvAcfg=true", "thirdPartyPayment",
		"Firmware              5.7.4 (getInfo, Yubico 0xMMmmpp)", "Attestation formats   packed, none, tpm",
		"UV since PIN entry    3\n", "Reset needs           a long touch (touch and hold), only over usb, smart-card\n",
		"Encrypted identifier  present (32 bytes, encrypted; not decrypted)", "PIN complexity        enforced\n",
		"PIN policy URL        https://example.com/a/rather", "Max PIN length        63\n",
		"Cred store state      present (32 bytes, encrypted; not decrypted)", "Config commands       [1 2 3 255]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if n := len([]rune(l)); n > 80 && !strings.Contains(l, "ERROR: ") {
			t.Errorf("%d columns: %q", n, l)
		}
	}
}
