package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `simkey serve --ctap22` serves a key of the CTAP 2.2 profile: `devices`
// shows its PIN bounds, complexity policy and reset needs, `info` every
// member 0x16-0x1F (the encrypted ones as present), both in 80 columns;
// `info --json` carries them, encIdentifier without its bytes.
func TestDevicesAndInfoOfACTAP22Simkey(t *testing.T) {
	sock := serveSimkey(t, "--ctap22")
	code, out, errOut := runCLI(t, "devices", "--device", "simkey:"+sock)
	if code != 0 || !strings.Contains(out, "firmware 5.7.4 (getInfo, simkey 0xMMmmpp)") ||
		!strings.Contains(out, "PIN not set, PIN 4-32, complexity policy") || !strings.Contains(out,
		"reset: long touch (touch and hold), only over usb") {
		t.Fatalf("devices: exit %d\n%s%s", code, out, errOut)
	}
	code, info, _ := runCLI(t, "info", "--device", "simkey:"+sock)
	for _, want := range []string{"FIDO_2_2", "Attestation formats", "packed, none", "UV since PIN entry",
		"Reset needs", "a long touch",
		"PIN complexity", "enforced", "PIN policy URL", "Max PIN length", "32", "Encrypted identifier", "present (32 bytes",
		"Cred store state", "Config commands", "[1 2 3]"} {
		if code != 0 || !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
	for _, l := range strings.Split(out+info, "\n") {
		if len([]rune(l)) > 80 && !strings.Contains(l, sock) {
			t.Errorf("%d columns: %q", len([]rune(l)), l)
		}
	}
	code, js, _ := runCLI(t, "info", "--json", "--device", "simkey:"+sock)
	var d struct {
		GetInfo map[string]any `json:"getInfo"`
	}
	if err := json.Unmarshal([]byte(js), &d); code != 0 || err != nil {
		t.Fatalf("%d %v: %s", code, err, js)
	}
	if d.GetInfo["maxPINLength"] != 32.0 || d.GetInfo["longTouchForReset"] != true ||
		d.GetInfo["encIdentifier"] != "present, 32 bytes, encrypted (not decrypted)" {
		t.Errorf("info --json: %v", d.GetInfo)
	}
}

// `policy check` refuses a min_firmware for a model whose firmwareVersion
// encoding is unknown (Token2's), exit 2, saying why; Yubico's is taken.
func TestPolicyCheckRefusesMinFirmwareOfUnknownEncoding(t *testing.T) {
	dir := t.TempDir()
	root, err := os.ReadFile("../../attest/roots/yubico-u2f-root-ca-serial-457200631.pem")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "root.pem"), root, 0o644)
	policy := func(aaguid string) string {
		p := filepath.Join(dir, aaguid+".json")
		os.WriteFile(p, []byte(`{"version":1,"name":"t","roots":[{"name":"y","pem_file":"root.pem"}],`+
			`"allowed":[{"aaguid":"`+aaguid+`","name":"k","min_firmware":"5.4.3"}]}`), 0o644)
		return p
	}
	code, _, errOut := runCLI(t, "policy", "check", policy("ab32f0c6-2239-afbb-c470-d2ef4e254db7"))
	if code != 2 || !strings.Contains(errOut, "vendor-defined and not known") || strings.Contains(errOut, "goroutine") {
		t.Errorf("Token2 minimum: exit %d: %s", code, errOut)
	}
	if code, out, errOut := runCLI(t, "policy", "check", policy("2fc0579f-8113-47ea-b116-bb5a8db9202a")); code != 0 {
		t.Errorf("YubiKey minimum: exit %d: %s%s", code, out, errOut)
	}
}
