package fidokey

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// serveKey serves a simkey of cfg on a socket in a temporary folder and
// returns its address.
func serveKey(t *testing.T, cfg simkey.Config) string {
	t.Helper()
	k, err := simkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "k.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go k.Serve(ctx, ln)
	return "simkey:" + path
}

// `devices` and `info` of a key whose getInfo carries no firmwareVersion
// (simkey NoGetInfoFirmware) and whose model's encoding is unknown (a
// Token2 AAGUID): the firmware is CTAPHID_INIT's 8.0.0, labelled so, never
// the integer 524288; a key that reports no firmware at all is "not
// reported" on its own line (it printed "firmware , PIN not set").
func TestDevicesAndInfoShowCTAPHIDFirmware(t *testing.T) {
	token2, _ := ctap.ParseAAGUID("ab32f0c6-2239-afbb-c470-d2ef4e254db7")
	addr := serveKey(t, simkey.Config{AAGUID: token2, FirmwareVersion: 0x080000, NoGetInfoFirmware: true,
		TouchDelay: time.Millisecond})
	ctx := context.Background()
	p := probe(ctx, addr, nil)
	if p.Error != "" || p.Firmware != "8.0.0 (CTAPHID_INIT device version)" ||
		p.FirmwareSource != "CTAPHID_INIT device version" {
		t.Fatalf("probe: %+v", p)
	}
	var out bytes.Buffer
	none := probeResult{Address: "hidraw:/dev/hidraw4", AAGUID: token2.String(), Firmware: (&ctap.Info{}).FirmwareText()}
	if err := (Probes{p, none}).WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "  firmware 8.0.0 (CTAPHID_INIT device version)\n") ||
		!strings.Contains(out.String(), "  firmware not reported\n") || strings.Contains(out.String(), "firmware ,") ||
		strings.Contains(out.String(), "524288") {
		t.Errorf("devices:\n%s", out.String())
	}
	d, err := Describe(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := d.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\nFirmware +8\.0\.0 \(CTAPHID_INIT device version\)\n`).MatchString(out.String()) {
		t.Errorf("info:\n%s", out.String())
	}
}

// recordedInfo decodes a recorded getInfo reply of ctap/testdata/getinfo
// (each names its public source and commit).
func recordedInfo(t *testing.T, name string) *ctap.Info {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "ctap", "testdata", "getinfo", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); !strings.HasPrefix(l, "#") {
			h.WriteString(l)
		}
	}
	reply, err := hex.DecodeString(h.String())
	if err != nil {
		t.Fatal(err)
	}
	info, err := ctap.NewClient(recorded(reply), ctap.Options{}).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// recorded answers getInfo with a recorded reply.
type recorded []byte

func (r recorded) CBOR(context.Context, []byte, func(byte)) ([]byte, error) {
	return append([]byte{0}, r...), nil
}

// `info` of the recorded replies of real keys with CTAP 2.2/2.3 members
// (pico-fido 8.0, a Yubico key over NFC, libfido2's CTAP 2.3 YubiKey is in
// TestDevicesAndInfoFitEightyColumns): every member the key sent is shown,
// the firmware in the vendor's form, in 80 columns, and no row is empty
// (pico-fido sends no transports: no Transports row).
func TestInfoOfRecordedCTAP22Keys(t *testing.T) {
	for _, c := range []struct {
		file string
		want []string
		not  []string
	}{
		{"pico-fido-8.0.hex", []string{"Firmware  8.0 (getInfo, pico-fido 0xMMmm)\n",
			"Encrypted identifier  present (32 bytes", "PIN complexity  not enforced\n",
			"Max PIN length  63\n", "Cred store state  present (32 bytes", "Config commands  [1 2 3 255]\n",
			"Algorithms  public-key/-7, public-key/-35, public-key/-36\n"},
			[]string{"Transports", "Reset needs", "Attestation formats"}},
		{"yubico-nfc-ctap22.hex", []string{"Firmware  0.0.1 (getInfo, Yubico 0xMMmmpp)\n",
			"Attestation formats  packed, none\n", "Reset needs  a long touch (touch and hold), only over usb\n",
			"PIN complexity  enforced\n", "PIN policy URL  https://example.com\n", "Transports  nfc, usb\n"},
			[]string{"Cred store state", "Config commands"}},
	} {
		d := &Description{Address: "hidraw:/dev/hidraw7", CTAPHID: hid.InitInfo{ProtocolVersion: 2, Major: 8, Capabilities: 5},
			Info: recordedInfo(t, c.file)}
		var out bytes.Buffer
		if err := d.WriteText(&out); err != nil {
			t.Fatal(err)
		}
		text := regexp.MustCompile(` {2,}`).ReplaceAllString(out.String(), "  ") // the column's width varies
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: info lacks %q:\n%s", c.file, w, out.String())
			}
		}
		for _, n := range c.not {
			if strings.Contains(out.String(), n) {
				t.Errorf("%s: info shows %q, which the key did not send:\n%s", c.file, n, out.String())
			}
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if len([]rune(l)) > 80 || len(strings.Fields(l)) == 1 {
				t.Errorf("%s: line %q (%d columns)", c.file, l, len([]rune(l)))
			}
		}
	}
}
