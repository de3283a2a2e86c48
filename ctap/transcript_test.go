package ctap_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctaphid"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// transcript is a recorded key's side of a CTAPHID conversation.
type transcript struct {
	blocks []transcriptBlock
}

type transcriptBlock struct {
	request string   // INIT or CBOR
	reports [][]byte // the key's reports answering it
}

func loadTranscript(t *testing.T, path string) transcript {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tr transcript
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "request "):
			tr.blocks = append(tr.blocks, transcriptBlock{request: strings.TrimPrefix(line, "request ")})
		default:
			b, err := hex.DecodeString(line)
			if err != nil || len(b) != ctaphid.ReportSize || len(tr.blocks) == 0 {
				t.Fatalf("%s: bad report line %q", path, line)
			}
			last := &tr.blocks[len(tr.blocks)-1]
			last.reports = append(last.reports, b)
		}
	}
	return tr
}

// replay plays the recorded key on the far end of a socket pair: for each
// request of the host, in order, it checks the command and answers with the
// recorded reports; INIT's answer carries the host's own nonce back.
func replay(t *testing.T, tr transcript) *net.UnixConn {
	t.Helper()
	host, key, err := ctaphid.SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close(); key.Close() })
	go func() {
		buf := make([]byte, 128)
		for _, blk := range tr.blocks {
			n, err := key.Read(buf)
			if err != nil || n != ctaphid.ReportSize {
				return
			}
			req := ctaphid.Packet(buf[:ctaphid.ReportSize])
			want := map[string]ctaphid.Command{"INIT": ctaphid.CmdInit, "CBOR": ctaphid.CmdCBOR}[blk.request]
			if !req.IsInit() || req.Command() != want {
				t.Errorf("host sent %v, the recording answers %s", req.Command(), blk.request)
				return
			}
			for i, r := range blk.reports {
				out := append([]byte(nil), r...)
				if blk.request == "INIT" && i == 0 {
					copy(out[7:15], buf[7:15]) // the host's nonce
				}
				if _, err := key.Write(out); err != nil {
					return
				}
			}
		}
	}()
	return host
}

// libfido2's own recorded wire data (fuzz/wiredata_fido2.h, updated "for
// CTAP 2.3" in libfido2 commit 2a64743d): INIT and a getInfo of 597 bytes.
// Every field decodes to what python-fido2's CBOR decoder reads from the
// same bytes (fido2.cbor.decode, checked by hand when the recording was
// added), the CTAP 2.2/2.3 members 0x16 and 0x18-0x1F included, as
// libfido2's src/info.c reads them (0x17 uvCountSinceLastPinEntry is not in
// this recording: see TestCTAP22MembersEachDecoded).
func TestRecordedYubiKeyGetInfo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dev, err := hid.OpenConn(ctx, replay(t, loadTranscript(t, "testdata/transcripts/libfido2-wiredata-yubikey.txt")), "replay", hid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.Info(); got != (hid.InitInfo{ProtocolVersion: 2, Major: 5, Minor: 2, Build: 1, Capabilities: 0x05}) {
		t.Fatalf("INIT decoded as %+v", got)
	}
	info, err := ctap.NewClient(dev, ctap.Options{}).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	aaguid, _ := ctap.ParseAAGUID("f8a011f3-8c0a-4d15-8006-17111f9edc7d")
	fw, rdc, complexity := uint64(1), 100, true
	want := ctap.Info{
		Versions:   []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1", "FIDO_2_3"},
		Extensions: []string{"credProtect", "hmac-secret", "largeBlobKey", "credBlob", "minPinLength", "hmac-secret-mc", "thirdPartyPayment", "previewSign"},
		AAGUID:     aaguid,
		Options: map[string]bool{"ep": false, "rk": true, "up": true, "plat": false, "alwaysUv": false, "credMgmt": true, "authnrCfg": true,
			"clientPin": false, "largeBlobs": true, "perCredMgmtRO": true, "pinUvAuthToken": true, "setMinPINLength": true,
			"makeCredUvNotRqd": true, "credentialMgmtPreview": true},
		MaxMsgSize: 1536, PinUvAuthProtocols: []int{2, 1}, MaxCredentialCountInList: 8, MaxCredentialIDLength: 128,
		Transports:                  []string{"nfc", "usb", "smart-card"},
		Algorithms:                  []ctapwire.CredentialParam{{Type: "public-key", Alg: -7}, {Type: "public-key", Alg: -8}, {Type: "public-key", Alg: -35}},
		MaxSerializedLargeBlobArray: 4096, ForcePINChange: false, MinPINLength: 4, FirmwareVersion: &fw, MaxCredBlobLength: 32,
		MaxRPIDsForSetMinPINLength: 1, RemainingDiscoverableCredentials: &rdc, FirmwareSource: "getInfo firmwareVersion",
		AttestationFormats: []string{"packed"}, LongTouchForReset: true,
		EncIdentifier:      unhex(t, "91817b7c2ebdf9a7be753a93d0a169ee2916c3daa6abf46898c4928e114efb0f"),
		TransportsForReset: []string{"usb", "smart-card"}, PINComplexityPolicy: &complexity,
		PINComplexityPolicyURL: []byte("https://example.com"), MaxPINLength: 63,
		EncCredStoreState:           unhex(t, "64b09968afdb3b09b5eb292ee502f2059f75704e9e966b9492ca64c2940bb52b"),
		AuthenticatorConfigCommands: []uint64{1, 2, 3},
	}
	if !reflect.DeepEqual(*info, want) {
		t.Fatalf("getInfo decoded as\n%+v\nwant\n%+v", *info, want)
	}
}

// A key before CTAP 2.1 (a Security Key by Yubico, python-fido2's recorded
// getInfo) reports no firmwareVersion: the firmware is then the CTAPHID_INIT
// device version, labelled so, and the minimum PIN length is "not
// reported", not 0.
func TestFirmwareFromCTAPHIDInit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dev, err := hid.OpenConn(ctx, replay(t, loadTranscript(t, "testdata/transcripts/python-fido2-security-key.txt")), "replay", hid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := ctap.NewClient(dev, ctap.Options{}).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.FirmwareVersion == nil || *info.FirmwareVersion != 0x050201 || info.FirmwareSource != "CTAPHID_INIT device version" {
		t.Fatalf("firmware %v from %q, want 5.2.1 from the CTAPHID_INIT device version", info.FirmwareVersion, info.FirmwareSource)
	}
	if !bytes.Equal([]byte(strings.Join(info.Versions, ",")), []byte("U2F_V2,FIDO_2_0")) || info.MaxMsgSize != 1200 {
		t.Fatalf("getInfo %+v", info)
	}
	if got := info.MinPINLengthText(); got != "not reported (CTAP default 4)" {
		t.Fatalf("min PIN length shown as %q", got)
	}
}
