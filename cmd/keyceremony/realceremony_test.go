package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// `keyceremony ceremony --config`, the real ceremony's own path, as the
// officers run it: the built binary at an 80×24 terminal under tmux, a
// config file, certificate sign-in to the Graph emulator over TLS trusting
// its CA, two keys at fixed addresses. It signs in, audits the posture,
// and refuses key 1 by its getInfo AAGUID before anything is done to it
// (issue 23 §2): a simkey is allowed in a rehearsal only, never in a real
// ceremony; no PIN half is asked. Nothing is registered in the tenant;
// the screen says why and names the journal with the command that
// resumes; no line is wider than the terminal, no PIN half is ever on
// screen, and the process exits 2 (it could not run: the key is not one
// the policy allows).
func TestRealCeremonyRefusesASimkeyUnderTmux(t *testing.T) {
	ctx := context.Background()
	ten, user, cfgPath, outDir := realSitting(t, 1)
	before, err := ten.Client.ListFIDO2(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The day before: the config checks out, and checking it signs in to
	// nothing and creates no workstation key.
	// It names the emulator's endpoints, which are no Microsoft cloud's
	// (issue 23 §3).
	code, out, errOut := runCLI(t, "config", "check", cfgPath)
	if flat := strings.Join(strings.Fields(out), " "); code != 0 || !strings.Contains(out, "Ready.") ||
		!strings.Contains(flat, "DEVIATION sign-in and Graph are NOT a Microsoft cloud's") || !strings.Contains(flat, "Graph "+ten.Emu.URL()) {
		t.Fatalf("config check: %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfgPath), "workstation.key")); err == nil {
		t.Fatal("config check created the workstation key")
	}
	bin := buildBinary(t)
	stopped, firstSeen := driveRefusedCeremony(t, bin+" ceremony --config "+cfgPath)
	// The officers confirmed the start with the emulator's endpoints in
	// view, named as a deviation (issue 23 §3).
	if all := strings.Join(strings.Fields(strings.Join(firstSeen, "\n")), " "); !strings.Contains(all, "start the ceremony") ||
		!strings.Contains(all, "DEVIATION, the report records it: sign-in and Graph are NOT a Microsoft cloud's") ||
		strings.Contains(all, "type your half") || strings.Contains(all, "reset key 1") {
		t.Fatalf("something was done to a key the policy refuses:\n%s", all)
	}
	flat := strings.Join(strings.Fields(stopped), " ")
	joined := strings.Join(strings.Fields(stopped), "") // a long path may wrap anywhere
	if !strings.Contains(flat, "simkey") || !strings.Contains(flat, "rehearsal") ||
		!strings.Contains(joined, filepath.Join(outDir, "journal.jsonl")) || !strings.Contains(joined, "--resume") {
		t.Fatalf("the stop screen does not say why, or where the journal is and how to resume:\n%s", stopped)
	}
	// Issue 30: the resume command is copyable as is: absolute paths, its
	// screen lines joined by the shell's " \" continuations.
	if !strings.Contains(joined, "keyceremonyceremony\\--config"+cfgPath+"\\--resume"+filepath.Join(outDir, "journal.jsonl")) {
		t.Fatalf("the resume command is not one shell command with absolute paths:\n%s", stopped)
	}
	after, err := ten.Client.ListFIDO2(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("%d FIDO2 methods before, %d after a refused ceremony", len(before), len(after))
	}
	journal := filepath.Join(outDir, "journal.jsonl")
	if _, err := os.Stat(journal); err != nil {
		t.Fatalf("no journal kept: %v", err)
	}
	// Run again without --resume: refused before any sign-in, saying how
	// to resume, the journal untouched. Then
	// resume as the screen said: the journal is read (the start is not
	// confirmed again), the same key is refused again untouched, still with
	// nothing registered.
	kept, _ := os.ReadFile(journal)
	_, again := tmuxRun(t, bin+" ceremony --config "+cfgPath+"; echo EXIT=$?; sleep 60", 80, 24)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !strings.Contains(again(), "EXIT="); {
		time.Sleep(100 * time.Millisecond)
	}
	if s := again(); !strings.Contains(s, "EXIT=2") || strings.Contains(s, "Signed in") ||
		!strings.Contains(strings.Join(strings.Fields(s), ""), "--resume"+journal) {
		t.Fatalf("a second run without --resume was not refused, before sign-in, with the way to resume:\n%s", s)
	}
	if now, _ := os.ReadFile(journal); string(now) != string(kept) {
		t.Fatal("a refused second run changed the journal")
	}
	resumed, resumedSeen := driveRefusedCeremony(t, bin+" ceremony --config "+cfgPath+" --resume "+journal)
	if all := strings.Join(strings.Fields(strings.Join(resumedSeen, "\n")), " "); !strings.Contains(strings.Join(strings.Fields(resumed), " "), "simkey") ||
		strings.Contains(all, "start the ceremony") || strings.Contains(all, "type your half") {
		t.Fatalf("the resumed ceremony did not pick up where it stopped:\n%s", strings.Join(resumedSeen, "\n----\n"))
	}
	if after, _ := ten.Client.ListFIDO2(ctx, user.ID); len(after) != len(before) {
		t.Fatalf("%d FIDO2 methods before, %d after the resumed ceremony", len(before), len(after))
	}
	if _, err := os.Stat(filepath.Join(outDir, "report.json")); err == nil {
		t.Fatal("a refused ceremony wrote a report")
	}
}

// driveRefusedCeremony runs cmdline under tmux at 80×24, answers as the
// officers would, and returns the screen that says the ceremony STOPPED
// (and every distinct screen), failing on a stack trace, a PIN half on
// screen, a line wider than the terminal, a credential accepted, or an
// exit other than 2.
func driveRefusedCeremony(t *testing.T, cmdline string) (stopped string, seen []string) {
	t.Helper()
	const half = "qzqzqzqz"
	send, screen := tmuxRun(t, cmdline+"; echo EXIT=$?; sleep 60", 80, 24)
	last, lastAction := "", time.Time{}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(150 * time.Millisecond) {
		s := screen()
		if s != last {
			seen = append(seen, s)
		}
		checkScreen(t, s)
		if strings.Contains(s, half) {
			t.Fatalf("a PIN half reached the screen:\n%s", s)
		}
		if strings.Contains(s, "EXIT=") {
			if stopped == "" || !strings.Contains(s, "EXIT=2") {
				t.Fatalf("exit without the refusal on screen:\n%s", strings.Join(seen, "\n----\n"))
			}
			break
		}
		if s == last && time.Since(lastAction) < 3*time.Second {
			continue
		}
		switch {
		case strings.Contains(s, "STOPPED"):
			stopped = s
			send("Enter")
		case strings.Contains(s, "Copy onto the envelope"):
			t.Fatalf("a simkey's credential was accepted in a real ceremony:\n%s", s)
		case strings.Contains(s, "type your half"):
			send("-l", half)
			send("Enter")
		case strings.Contains(s, ", you confirm:"):
			send("y", "Enter")
		case strings.Contains(s, "Press Enter when done"):
			send("Enter")
		}
		last, lastAction = s, time.Now()
	}
	if stopped == "" {
		t.Fatalf("the ceremony did not stop; last screen:\n%s", screen())
	}
	return stopped, seen
}

// realSitting is what a real sitting needs, with stand-ins nobody can
// tell from the real ones by their interfaces: the Graph emulator reached
// by certificate sign-in over TLS (its CA trusted by the config), two
// simkeys at fixed addresses, a software workstation key, and a config
// file that names them all, for breakglass1 and, with accounts > 1, the
// next ones of the sitting.
func realSitting(t *testing.T, accounts int) (ten *emulated.Tenant, user *enroll.User, cfgPath, outDir string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	const upn = "breakglass1@contoso.onmicrosoft.com"
	who := fmt.Sprintf("%q: %q", "account", upn)
	if accounts > 1 {
		list := []string{fmt.Sprintf("{%q: %q}", "account", upn)}
		for n := 2; n <= accounts; n++ {
			list = append(list, fmt.Sprintf("{%q: %q}", "account", ten.AddAccount(n)))
		}
		who = `"accounts": [` + strings.Join(list, ", ") + `]`
	}
	user, err = ten.Client.GetUser(ctx, upn)
	if err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(dir, "emulator-ca.pem")
	if err := os.WriteFile(caPath, ten.Emu.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	var devices []string
	for i := 1; i <= 2; i++ {
		key, err := simkey.New(simkey.Config{TouchDelay: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(dir, fmt.Sprintf("k%d.sock", i))
		kctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		go key.Listen(kctx, sock)
		devices = append(devices, `"simkey:`+sock+`"`)
	}
	outDir = filepath.Join(dir, "out")
	cfgPath = filepath.Join(dir, "ceremony.jsonc")
	cfg := fmt.Sprintf(`{
	// the emulated tenant, reached as a real one is: certificate sign-in over TLS
	"tenant_id": %q, "client_id": %q, "auth": "certificate", "certificate": %q,
	"cloud": "custom", "endpoints": {"authority": %q, "graph": %q, "ca": %q},
	%s, "officer_a": "Alice Example", "officer_b": "Bob Example",
	"reset": false, "retire": false, "out_dir": %q,
	"software_key": %q, "devices": [%s]
}`, ten.TenantID, emulated.AppID, ten.CertPath, ten.Emu.URL()+"/", ten.Emu.URL(), caPath, who, outDir,
		filepath.Join(dir, "workstation.key"), strings.Join(devices, ", "))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	return ten, user, cfgPath, outDir
}

// `keyceremony health --config` at a terminal, the health check's own
// screen (a rehearsal refuses to show it): given a rehearsal's report, a
// real health check signs in read-only, opens the TUI and stops there,
// because a rehearsal report is not a real account's record. The stop
// screen says so within 80 columns, no stack trace, and the exit is 2
// (could not run); no health report is written; it names no flag or
// journal the health check does not have.
func TestRealHealthCheckScreenUnderTmux(t *testing.T) {
	_, _, cfgPath, outDir := realSitting(t, 1)
	last := filepath.Join(t.TempDir(), "last")
	if code, _, errOut := runCLI(t, "rehearse", "--yes", "--out", last); code != 0 {
		t.Fatal(errOut)
	}
	send, screen := tmuxRun(t, buildBinary(t)+" health --config "+cfgPath+" --report "+filepath.Join(last, "report.json")+"; echo EXIT=$?; sleep 60", 80, 24)
	stopped := ""
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(150 * time.Millisecond) {
		s := screen()
		checkScreen(t, s)
		switch {
		case strings.Contains(s, "EXIT="):
			if stopped == "" || !strings.Contains(s, "EXIT=2") {
				t.Fatalf("exit without the stop screen, or not 2:\n%s", s)
			}
			if matches, _ := filepath.Glob(filepath.Join(outDir, "health-*", "report.json")); len(matches) > 0 {
				t.Fatalf("a stopped health check wrote %v", matches)
			}
			return
		case strings.Contains(s, "STOPPED"):
			if flat := strings.Join(strings.Fields(s), " "); !strings.Contains(flat, "keyceremony health check") || !strings.Contains(flat, "REHEARSAL report") {
				t.Fatalf("the stop screen does not say why:\n%s", s)
			}
			// It names no flag or journal the health check does not have
			// (it said "pass --rehearsal" and "resume with --resume
			// JOURNAL", found by this test).
			if strings.Contains(s, "--") || strings.Contains(s, "journal") {
				t.Fatalf("the stop screen names a flag or a journal the health check lacks:\n%s", s)
			}
			stopped = s
			send("Enter")
		}
	}
	t.Fatalf("the health check did not stop; last screen:\n%s", screen())
}

// A real sitting of two accounts, run as the officers run it: the
// posture of both is audited first, the first account's ceremony is
// refused at attestation (a simkey) and its journal is kept in its own
// folder (out_dir/ACCOUNT), the screen says to run the same command again,
// and running it again resumes that journal rather than refusing it.
func TestRealSittingOfTwoAccountsUnderTmux(t *testing.T) {
	_, _, cfgPath, outDir := realSitting(t, 2)
	bin := buildBinary(t)
	stopped, seen := driveRefusedCeremony(t, bin+" ceremony --config "+cfgPath)
	journal := filepath.Join(outDir, "breakglass1@contoso.onmicrosoft.com", "journal.jsonl")
	joined := strings.Join(strings.Fields(stopped), "")
	if !strings.Contains(joined, journal) || !strings.Contains(stopped, "Resume with the same command:") || strings.Contains(stopped, "--resume") {
		t.Fatalf("the stop screen does not name the account's journal and the same command:\n%s", stopped)
	}
	if strings.Contains(stopped, "Nothing is lost") { // a journal that failed loses its last line (issue 23 §4)
		t.Fatalf("the stop screen promises what it cannot know:\n%s", stopped)
	}
	all := strings.Join(strings.Fields(strings.Join(seen, "\n")), " ")
	for _, want := range []string{"Preflight breakglass1@contoso.onmicrosoft.com: 0 posture", "Preflight breakglass2@contoso.onmicrosoft.com: 0 posture",
		"start the ceremony for breakglass1"} {
		if !strings.Contains(all, want) {
			t.Fatalf("no %q before the first key:\n%s", want, all)
		}
	}
	if _, err := os.Stat(journal); err != nil {
		t.Fatal(err)
	}
	_, again := driveRefusedCeremony(t, bin+" ceremony --config "+cfgPath)
	if all := strings.Join(strings.Fields(strings.Join(again, "\n")), " "); strings.Contains(all, "start the ceremony for breakglass1") ||
		!strings.Contains(all, "simkey") {
		t.Fatalf("the same command again did not resume the first account:\n%s", all)
	}
}

// An officer who refuses the first confirmation of a real ceremony stops
// it cleanly: the screen says an officer stopped it and how to resume,
// the process exits 1 (refused, not broken), and nothing is registered.
func TestRealCeremonyDeclinedUnderTmux(t *testing.T) {
	ten, user, cfgPath, outDir := realSitting(t, 1)
	declineUnderTmux(t, buildBinary(t)+" ceremony --config "+cfgPath, "--resume"+filepath.Join(outDir, "journal.jsonl"))
	if methods, err := ten.Client.ListFIDO2(context.Background(), user.ID); err != nil || len(methods) != 0 {
		t.Fatalf("methods after a declined ceremony: %v %v", methods, err)
	}
}
