package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/ceremony"
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

	userID := ten.Emu.Snapshot().Users[0].ID
	register := append([]string{"offline", "register", "--software-key", connKey, "--options", options,
		"--results", results, "--trust", wsFP}, graph...)
	// Results made under --rehearsal never reach a tenant from a register
	// that does not rehearse itself (issue 23 §1): refused, exit 1, and the
	// tenant's method list unchanged.
	code, out, errOut = runWithStdin(t, "", register...)
	if code != 1 || !strings.Contains(errOut, "rehearsal") || strings.Contains(out, "Registered") {
		t.Fatalf("a rehearsal's results without --rehearsal: %d %s %s", code, out, errOut)
	}
	if n := len(ten.Emu.Snapshot().Methods[userID]); n != 0 {
		t.Fatalf("%d methods in Entra after the refusal", n)
	}
	code, out, errOut = runWithStdin(t, "", append(register, "--rehearsal")...)
	if code != 0 || strings.Count(out, "Registered") != 2 || !strings.Contains(out, "REHEARSAL") {
		t.Fatalf("register: %d %s %s", code, out, errOut)
	}
	// Both verdicts, the workstation's and this machine's own, are shown
	// for each key before the registrations.
	if strings.Count(out, "the workstation's verdict") != 2 || strings.Count(out, "this machine's verdict") != 2 ||
		strings.Count(out, "ALLOWED") != 4 || strings.Index(out, "ALLOWED") > strings.Index(out, "Registered") {
		t.Fatalf("register does not show both verdicts first:\n%s", out)
	}
	methods := ten.Emu.Snapshot().Methods[userID]
	if len(methods) != 2 {
		t.Fatalf("%d methods in Entra", len(methods))
	}
	// Run again (as after a kill): each key's credential is found registered
	// and adopted; nothing is posted twice.
	code, out, errOut = runWithStdin(t, "", append(register, "--rehearsal")...)
	if code != 0 || strings.Count(out, "adopted") != 2 {
		t.Fatalf("rerun: %d %s %s", code, out, errOut)
	}
	again := ten.Emu.Snapshot().Methods[userID]
	if len(again) != 2 || again[0].ID != methods[0].ID || again[1].ID != methods[1].ID {
		t.Fatalf("the rerun changed the methods: %+v", again)
	}
}

// offline create does not reset key 1 when it is offered again as key 2
// (issue 24 §2): the ceremony's probe knows the credentials the offline
// journal recorded. Without a crash (the same key at both --device
// addresses) and on resume, key 1 is sent back untouched and still holds
// its credential; with the right key 2 the session completes.
func TestOfflineCreateRefusesKey1AsKey2(t *testing.T) {
	dir, _, graph := offlineTenant(t)
	options, results := filepath.Join(dir, "options.json"), filepath.Join(dir, "results.json")
	code, out, errOut := runWithStdin(t, "", append([]string{"offline", "export", "--software-key", filepath.Join(dir, "c.key"),
		"--user", "breakglass1@contoso.onmicrosoft.com", "--keys", "2", "--out", options}, graph...)...)
	if code != 0 {
		t.Fatalf("export: %d %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "2 keys") {
		t.Fatalf("export: %s", out)
	}
	key1, key2 := serveSimkey(t), serveSimkey(t)
	create := []string{"offline", "create", "--software-key", filepath.Join(dir, "w.key"), "--options", options,
		"--trust", reFingerprint.FindString(out), "--out", results, "--rehearsal", "--yes"}
	halves := strings.Repeat("pin~A\npin~A\npin~B\npin~B\n", 2)
	journal := results + ".journal.jsonl"
	for run := 0; run < 2; run++ { // the first run, then its resume
		code, out, errOut = runWithStdin(t, halves,
			append(create, "--device", "simkey:"+key1, "--device", "simkey:"+key1)...)
		if code == 0 || !strings.Contains(errOut, "key 1 of this offline session") {
			t.Fatalf("run %d: key 1 as key 2: %d %s %s", run, code, out, errOut)
		}
		shown := "account breakglass1@contoso.onmicrosoft.com, 2 keys, challenges valid until"
		if run == 0 && (!strings.Contains(errOut, shown) ||
			strings.Index(errOut, "2 keys") > strings.Index(errOut, "reset")) {
			t.Fatalf("the options' account, key count and expiry are not shown before the first reset:\n%s", errOut)
		}
		if strings.Count(errOut, "key 1: key 1") > 0 || strings.Count(out+errOut, "Touch key 1 now.") > 2 {
			t.Fatalf("run %d: doubled prefixes or touches:\n%s", run, errOut)
		}
	}
	entries, err := ceremony.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	var credID string
	for _, e := range entries {
		switch {
		case e.Step == "offline/key1/created" && e.Phase == "done":
			credID = e.Data["credential_id"]
		case strings.HasPrefix(e.Step, "key2/") && e.Step != "key2/insert":
			t.Fatalf("key 1, offered as key 2, had a step done to it: %+v", e)
		}
	}
	id, err := base64.RawURLEncoding.DecodeString(credID)
	if err != nil || len(id) == 0 {
		t.Fatalf("no key 1 credential in the journal: %q %v", credID, err)
	}
	c, dev, err := openNative(context.Background(), "simkey:"+key1, ctap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	up := false
	_, err = c.GetAssertion(context.Background(), ctap.GetAssertionOptions{RPID: "login.microsoft.com",
		ClientDataHash: make([]byte, 32), AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: id}},
		UserPresence: &up})
	dev.Close()
	if err != nil {
		t.Fatalf("key 1 no longer holds its credential: %v", err)
	}
	code, out, errOut = runWithStdin(t, halves,
		append(create, "--device", "simkey:"+key1, "--device", "simkey:"+key2)...)
	if code != 0 || !strings.Contains(out, "with 2 credentials") {
		t.Fatalf("with the right key 2: %d %s %s", code, out, errOut)
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

// offline create --device without --yes waits for the officers (issue 30):
// "insert key 1" and "unplug key 1, plug it back in" wait for Enter; a
// key that refuses the reset (its power-up window passed) is tried once
// per re-plug the officers confirm, not in a tight loop; the error names
// the key once.
func TestOfflineCreateWaitsForTheOfficers(t *testing.T) {
	dir, _, graph := offlineTenant(t)
	options, results := filepath.Join(dir, "options.json"), filepath.Join(dir, "results.json")
	code, out, errOut := runWithStdin(t, "", append([]string{"offline", "export", "--software-key", filepath.Join(dir, "c.key"),
		"--user", "breakglass1@contoso.onmicrosoft.com", "--keys", "2", "--out", options}, graph...)...)
	if code != 0 {
		t.Fatalf("export: %d %s %s", code, out, errOut)
	}
	// The window is always past: every reset is refused.
	key, fp := serveSimkey(t, "--reset-window", "1ns"), reFingerprint.FindString(out)
	// Enter at "insert key 1", y and y for the reset, Enter at the re-plug;
	// then nothing: the officers stop at "too late".
	code, out, errOut = runWithStdin(t, "\ny\ny\n\n", "offline", "create", "--software-key", filepath.Join(dir, "w.key"),
		"--options", options, "--trust", fp, "--out", results, "--rehearsal", "--device", "simkey:"+key)
	if code != 1 || strings.Count(errOut, "Press Enter when done") != 3 {
		t.Fatalf("create: %d %s\n%s", code, out, errOut)
	}
	for _, doubled := range []string{"key 1: key 1", "reset: reset"} {
		if strings.Contains(errOut, doubled) {
			t.Fatalf("%q in the message:\n%s", doubled, errOut)
		}
	}
	entries, err := ceremony.ReadJournal(results + ".journal.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	phases := map[string]int{}
	for _, e := range entries {
		if e.Step == "key1/reset" {
			phases[e.Phase]++
		}
	}
	if phases["begin"] != 1 || phases["failed"] != 1 {
		t.Fatalf("reset attempts in the journal: %v, want one begin and one failed", phases)
	}
	// Headless (--yes, a new session), the refused reset's message names
	// the key and the step once each.
	code, _, errOut = runWithStdin(t, "", "offline", "create", "--software-key", filepath.Join(dir, "w.key"),
		"--options", options, "--trust", fp, "--out", filepath.Join(dir, "headless.json"), "--rehearsal", "--yes", "--device", "simkey:"+key)
	once := strings.Count(errOut, "key 1: reset: the key does not allow this now") == 1
	if code == 0 || !once || strings.Contains(errOut, "reset: reset") {
		t.Fatalf("headless: %d\n%s", code, errOut)
	}
}
