package fidokey

import (
	"bytes"
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
	info := &ctap.Info{Versions: []string{"U2F_V2", "FIDO_2_0"}, FirmwareVersion: &fw, FirmwareSource: ctap.FirmwareFromCTAPHID, MaxMsgSize: 1200}
	var out bytes.Buffer
	d := &Description{Address: "hidraw:/dev/hidraw3", CTAPHID: hid.InitInfo{ProtocolVersion: 2, Major: 5, Minor: 2, Build: 1, Capabilities: 5}, Info: info}
	if err := d.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"5.2.1 (0x050201) from CTAPHID_INIT device version", "not reported (CTAP default 4)", "device version 5.2.1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("info output lacks %q:\n%s", want, out.String())
		}
	}
}
