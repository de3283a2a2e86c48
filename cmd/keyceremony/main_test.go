package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/simkey"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"info"}, {"simkey"}, {"simkey", "serve"}, {"info", "--device", "usb:1"}} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestDevicesAndInfoOnSimkeySocket(t *testing.T) {
	sock := serveSimkey(t)
	code, out, errOut := runCLI(t, "devices", "--json", "--device", "simkey:"+sock)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []deviceReport
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var sim *deviceReport
	for i := range rows {
		if rows[i].Address == "simkey:"+sock {
			sim = &rows[i]
		}
	}
	if sim == nil || sim.AAGUID != simkey.DefaultAAGUID().String() || sim.PINSet == nil || *sim.PINSet || sim.Firmware != "5.7.4 (0x050704)" {
		t.Fatalf("%+v", rows)
	}
	code, out, errOut = runCLI(t, "devices", "--device", "simkey:"+sock)
	if code != 0 || !strings.Contains(out, "6b657963-6572-656d-6f6e-792d73696d6b") || !strings.Contains(out, "not set") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "info", "--device", "simkey:"+sock)
	for _, want := range []string{"AAGUID", "FIDO_2_1", "clientPin=false", "credMgmt=true", "PIN/UV protocols", "[2 1]", "5.7.4"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "info", "--json", "--device", "simkey:"+sock)
	var info struct {
		Info struct {
			AAGUID     string `json:"aaguid"`
			MaxMsgSize int    `json:"maxMsgSize"`
		} `json:"getInfo"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info.Info.MaxMsgSize != 1200 || info.Info.AAGUID != simkey.DefaultAAGUID().String() {
		t.Fatalf("info --json: %s", out)
	}
}

func TestDevicesReportsUnreachableDevice(t *testing.T) {
	code, out, _ := runCLI(t, "devices", "--json", "--device", "simkey:"+filepath.Join(t.TempDir(), "gone.sock"))
	if code != 0 || !strings.Contains(out, `"error"`) {
		t.Fatalf("exit %d: %s", code, out)
	}
}

func TestRehearseWritesRecord(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "rehearse", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "REHEARSAL") || strings.Count(out, "test assertion verified") != 2 {
		t.Fatalf("output:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "rehearsal.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Keys []rehearsedKey `json:"keys"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || len(rec.Keys) != 2 {
		t.Fatalf("%s %v", b, err)
	}
	for _, k := range rec.Keys {
		if k.PINRetries != 8 || k.CredentialID == "" || k.AttestationRoot == "" || !strings.Contains(k.AttestationRoot, "TEST") {
			t.Errorf("%+v", k)
		}
	}
	if rec.Keys[0].CredentialID == rec.Keys[1].CredentialID {
		t.Error("both keys produced the same credential")
	}
}

func TestSplitKnowledgePIN(t *testing.T) {
	a, _ := splitKnowledgePIN()
	b, _ := splitKnowledgePIN()
	if len(a) != 8 || bytes.Equal(a, b) {
		t.Fatalf("%q %q", a, b)
	}
	for _, c := range a {
		if c < '0' || c > '9' {
			t.Fatalf("non-digit in %q", a)
		}
	}
}
