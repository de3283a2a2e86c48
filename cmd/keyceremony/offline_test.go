package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/testenv"
)

func runWithStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

var reFingerprint = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]+`)

// offlineTenant starts an emulated tenant for the offline commands and
// returns a folder, the tenant and the sign-in flags that reach it.
func offlineTenant(t *testing.T) (string, *emulated.Tenant, []string) {
	t.Helper()
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, ten.Emu.CAPEM(), 0o644)
	return dir, ten, []string{"--tenant", ten.TenantID, "--client-id", emulated.AppID, "--auth", "certificate", "--cert", ten.CertPath,
		"--authority", ten.Emu.URL() + "/", "--graph", ten.Emu.URL(), "--ca", ca}
}

func TestOfflineSplitCommands(t *testing.T) {
	dir, ten, graph := offlineTenant(t)
	connKey, wsKey := filepath.Join(dir, "connected.key"), filepath.Join(dir, "workstation.key")
	options, results := filepath.Join(dir, "options.json"), filepath.Join(dir, "results.json")

	code, out, errOut := runWithStdin(t, "", append([]string{"offline", "export", "--software-key", connKey, "--user", "breakglass1@contoso.onmicrosoft.com",
		"--keys", "2", "--out", options}, graph...)...)
	if code != 0 {
		t.Fatalf("export: %d %s %s", code, out, errOut)
	}
	connFP := reFingerprint.FindString(out)

	// Two keys with their PINs already set (halves pin~A + pin~B: a "~" is
	// in no fingerprint, ID or hash the output prints, so finding a half
	// there is an echo, never chance, as "1234" in a hex hash once was).
	var devices []string
	for i := 0; i < 2; i++ {
		sock := serveSimkey(t)
		c, dev, err := openNative(context.Background(), "simkey:"+sock, ctap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetPIN(context.Background(), []byte("pin~Apin~B")); err != nil {
			t.Fatal(err)
		}
		dev.Close()
		devices = append(devices, "--device", "simkey:"+sock)
	}
	halves := strings.Repeat("pin~A\npin~A\npin~B\npin~B\n", 2)
	create := append([]string{"offline", "create", "--software-key", wsKey, "--options", options, "--trust", connFP, "--out", results, "--rehearsal", "--yes"}, devices...)
	// A wrong trust fingerprint refuses the options before touching a key.
	bad := append([]string(nil), create...)
	bad[7] = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if code, _, errOut := runWithStdin(t, halves, bad...); code == 0 || !strings.Contains(errOut, "does not trust") {
		t.Fatalf("untrusted options: %d %s", code, errOut)
	}
	code, out, errOut = runWithStdin(t, halves, create...)
	if code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "pin~A") || strings.Contains(out+errOut, "pin~B") {
		t.Fatal("a PIN half was echoed")
	}
	wsFP := reFingerprint.FindString(out)
	b, _ := os.ReadFile(results)
	if bytes.Contains(b, []byte("pin~A")) || bytes.Contains(b, []byte("pin~B")) {
		t.Fatal("the PIN reached results.json")
	}

	code, out, errOut = runWithStdin(t, "", append([]string{"offline", "register", "--software-key", connKey, "--options", options, "--results", results, "--trust", wsFP}, graph...)...)
	if code != 0 || strings.Count(out, "Registered") != 2 {
		t.Fatalf("register: %d %s %s", code, out, errOut)
	}
	// The workstation's signed verdicts are shown before the registrations.
	if strings.Count(out, "ALLOWED") != 2 || strings.Index(out, "ALLOWED") > strings.Index(out, "Registered") {
		t.Fatalf("register does not show the verdicts first:\n%s", out)
	}
	userID := ten.Emu.Snapshot().Users[0].ID
	if n := len(ten.Emu.Snapshot().Methods[userID]); n != 2 {
		t.Fatalf("%d methods in Entra", n)
	}
}

// offline create --generated-pin: the workstation draws each key's PIN and
// prints each half to its own page (a rehearsal: pages in the results'
// folder, envelopes/), nobody types a half, and no half reaches the
// results file or the screen.
func TestOfflineCreateGeneratedPIN(t *testing.T) {
	pdftotext := testenv.Tool(t, "pdftotext", "poppler-utils")
	dir, _, graph := offlineTenant(t)
	options, results := filepath.Join(dir, "options.json"), filepath.Join(dir, "results.json")
	code, out, errOut := runWithStdin(t, "", append([]string{"offline", "export", "--software-key", filepath.Join(dir, "c.key"),
		"--user", "breakglass1@contoso.onmicrosoft.com", "--keys", "2", "--out", options}, graph...)...)
	if code != 0 {
		t.Fatalf("export: %d %s %s", code, out, errOut)
	}
	create := []string{"offline", "create", "--software-key", filepath.Join(dir, "w.key"), "--options", options,
		"--trust", reFingerprint.FindString(out), "--out", results, "--rehearsal", "--yes", "--generated-pin"}
	for i := 0; i < 2; i++ {
		create = append(create, "--device", "simkey:"+serveSimkey(t))
	}
	code, out, errOut = runWithStdin(t, "", create...)
	if code != 0 {
		t.Fatalf("create --generated-pin: %d %s %s", code, out, errOut)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "envelopes", "pin-half-key*.pdf"))
	if len(pages) != 4 {
		t.Fatalf("%d pages, want 2 keys × 2 halves", len(pages))
	}
	b, _ := os.ReadFile(results)
	halves := map[string]string{}
	for _, page := range pages {
		text, err := exec.Command(pdftotext, "-layout", page, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^\s*(\d\d \d\d)\s*$`).FindSubmatch(text)
		if m == nil {
			t.Fatalf("%s holds no half:\n%s", page, text)
		}
		halves[strings.TrimSuffix(filepath.Base(page), ".pdf")] = string(m[1])
		if strings.Contains(out+errOut, string(m[1])) {
			t.Errorf("the half of %s was shown", filepath.Base(page))
		}
	}
	for _, key := range []string{"key1", "key2"} {
		pin := strings.ReplaceAll(halves["pin-half-"+key+"-A"]+halves["pin-half-"+key+"-B"], " ", "")
		if len(pin) != 8 || bytes.Contains(b, []byte(pin)) || strings.Contains(out+errOut, pin) {
			t.Errorf("%s's PIN %d digits long, or shown, or in results.json", key, len(pin))
		}
	}
}
