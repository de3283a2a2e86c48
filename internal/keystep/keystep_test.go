package keystep_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/keystep"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/sim/testca"
)

// A key whose getInfo carries no firmwareVersion (simkey NoGetInfoFirmware,
// as keys before CTAP 2.1) has its firmware from CTAPHID_INIT: the
// attestation verdict and its record show it as major.minor.build with its
// source, whatever the vendor (a Token2 model, whose getInfo integer has
// no known form, was shown as the integer 524288 for 8.0.0); a pico-fido
// model's minimum "8.0" is compared with the INIT's 8.0.0 in pico-fido's
// form; a key that reports no firmware is "not reported" in the verdict.
func TestReattestShowsCTAPHIDFirmwareInItsForm(t *testing.T) {
	root, err := testca.Root()
	if err != nil {
		t.Fatal(err)
	}
	pol, err := attest.LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, aaguid, min string
		fw                uint64
		noINIT            bool
		wantText, wantFW  string
		allowed           bool
	}{
		{"Token2 model, INIT 8.0.0", "ab32f0c6-2239-afbb-c470-d2ef4e254db7", "", 0x080000, false,
			"8.0.0 (CTAPHID_INIT device version)", "8.0.0", true},
		{"pico-fido model, INIT 8.0.0, minimum 8.0", "89fb94b7-06c9-3673-9b7e-30526d968145", "8.0", 0x080000, false,
			"8.0.0 (CTAPHID_INIT device version)", "8.0.0", true},
		{"pico-fido model, INIT 7.6.0, minimum 8.0", "89fb94b7-06c9-3673-9b7e-30526d968145", "8.0", 0x070600, false,
			"7.6.0 (CTAPHID_INIT device version)", "7.6.0", false},
		{"Token2 model, no firmware anywhere", "ab32f0c6-2239-afbb-c470-d2ef4e254db7", "", 0x080000, true,
			"not reported", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			model, err := ctap.ParseAAGUID(c.aaguid)
			if err != nil {
				t.Fatal(err)
			}
			k, err := simkey.New(simkey.Config{AAGUID: model, FirmwareVersion: c.fw, NoGetInfoFirmware: true,
				TouchDelay: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			auth, dev, err := k.Open(ctx, hid.Options{}, ctap.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			info, err := auth.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.noINIT { // as a backend that reads no CTAPHID_INIT version
				info.FirmwareVersion, info.FirmwareSource = nil, ""
			}
			if got := info.FirmwareText(); got != c.wantText {
				t.Fatalf("getInfo firmware %q, want %q", got, c.wantText)
			}
			vf := &attest.Verifier{Policy: pol, Rehearsal: true, RehearsalRoots: []*x509.Certificate{root},
				RehearsalModel: &attest.AllowedModel{AAGUID: c.aaguid, Name: "test model", MinFirmware: c.min}}
			v, err := keystep.Reattest(ctx, auth, vf, info, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if v.Firmware != c.wantFW || v.Allowed != c.allowed || v.HasReason("firmware") == c.allowed {
				t.Fatalf("verdict firmware %q (%s), allowed %v %v; want %q, allowed %v",
					v.Firmware, v.FirmwareSource, v.Allowed, v.Reasons, c.wantFW, c.allowed)
			}
			if rec := keystep.Record(v); rec.Firmware != c.wantFW {
				t.Errorf("recorded firmware %q, want %q", rec.Firmware, c.wantFW)
			}
			var text bytes.Buffer
			if err := v.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			want := "not reported"
			if c.wantFW != "" {
				want = c.wantFW + " (from CTAPHID_INIT device version)"
			}
			if !strings.Contains(text.String(), want) {
				t.Errorf("verdict text lacks %q:\n%s", want, text.String())
			}
		})
	}
}
