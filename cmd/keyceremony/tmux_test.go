package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/testenv"
)

// TestTUIUnderTmux runs the real binary's rehearsal TUI in an 80×24 tmux
// pane, reads the screen and answers as the officers would: Enter for
// instructions, y for confirmations, a PIN half typed twice. The half never
// appears on any captured screen.
func TestTUIUnderTmux(t *testing.T) {
	const half = "qzqzqzqz"
	screens, final, outDir := driveRehearsalTUI(t, 80, 24, half)
	for _, s := range screens {
		if strings.Contains(s, half) {
			t.Fatalf("a PIN half is on screen:\n%s", s)
		}
	}
	if !strings.Contains(final, "SHA256:") || !strings.Contains(final, "Rehearsal complete: 2 keys registered, 1 retired") {
		t.Fatalf("final screen:\n%s", final)
	}
	if _, err := os.Stat(filepath.Join(outDir, "report.json")); err != nil {
		t.Fatalf("no report: %v", err)
	}
}

// Generated PIN halves and two accounts, as the officers meet them at
// 100×30: the sealing confirmations come up one half at a time, and no
// captured screen shows a half of any key (read back from its envelope
// page) — let alone both.
func TestTUIGeneratedPINTwoAccounts(t *testing.T) {
	pdftotext := testenv.Tool(t, "pdftotext", "poppler-utils")
	screens, final, outDir := driveRehearsalTUI(t, 100, 30, "", "--generated-pin", "--accounts", "2")
	if !strings.Contains(final, "Rehearsal complete: 2 keys registered") {
		t.Fatalf("final screen:\n%s", final)
	}
	for _, want := range []string{"(account 1 of 2)", "(account 2 of 2)"} {
		if !slices.ContainsFunc(screens, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no screen says %q", want)
		}
	}
	sealing := 0
	for _, s := range screens {
		if strings.Contains(s, "seal it in your envelope") {
			sealing++
		}
	}
	if sealing == 0 {
		t.Fatal("no screen asked an officer to seal a PIN half")
	}
	pages, _ := filepath.Glob(filepath.Join(outDir, "*", "envelopes", "pin-half-key*.pdf"))
	if len(pages) != 8 {
		t.Fatalf("%d envelope pages, want 2 accounts × 2 keys × 2 halves", len(pages))
	}
	for _, page := range pages {
		text, err := exec.Command(pdftotext, "-layout", page, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		var digits string
		for _, l := range strings.Split(string(text), "\n") {
			if f := strings.TrimSpace(l); len(f) == 5 && f[2] == ' ' && strings.Trim(f, "0123456789 ") == "" {
				digits = f
			}
		}
		if digits == "" {
			t.Fatalf("%s: no half found:\n%s", page, text)
		}
		// The half as printed ("12 34"), or its digits standing alone: not
		// four digits inside a longer run of letters and digits (a temporary
		// folder's name, a method ID), which a half would be only by chance.
		alone := regexp.MustCompile(`(^|[^0-9A-Za-z])` + strings.ReplaceAll(digits, " ", "") + `([^0-9A-Za-z]|$)`)
		for _, s := range screens {
			if strings.Contains(s, digits) || alone.MatchString(s) && strings.Contains(s, "PIN") {
				t.Fatalf("the half of %s is on screen:\n%s", filepath.Base(page), s)
			}
		}
	}
}

// driveRehearsalTUI runs `keyceremony rehearse ARGS` in a width×height
// tmux pane and answers as the officers would (half typed for a PIN half),
// returning every distinct screen, the final one and the output folder.
func driveRehearsalTUI(t *testing.T, width, height int, half string, args ...string) (screens []string, final, outDir string) {
	t.Helper()
	bin := buildBinary(t)
	outDir = filepath.Join(t.TempDir(), "out")
	command, health := " rehearse", len(args) > 0 && args[0] == "health"
	if health { // the ceremony's screens, then the health check's
		command, args = " rehearse health", args[1:]
	}
	send, capture := tmuxRun(t, bin+command+" --out "+outDir+" "+strings.Join(args, " ")+"; sleep 60", width, height)
	last, lastAction := "", time.Time{}
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		s := capture()
		if s != last {
			screens = append(screens, s)
		}
		if strings.Contains(s, "Copy onto the envelope") && (len(args) == 0 || strings.Contains(s, "summary") || !strings.Contains(strings.Join(args, " "), "--accounts")) &&
			(!health || strings.Contains(s, "Health check:")) {
			send("Enter")
			return screens, s, outDir
		}
		if strings.Contains(s, "STOPPED") {
			t.Fatalf("the ceremony stopped:\n%s", s)
		}
		if s != last || time.Since(lastAction) > 3*time.Second {
			switch {
			case strings.Contains(s, "type your half"):
				send("-l", half)
				send("Enter")
			case strings.Contains(s, ", you confirm:"):
				send("y", "Enter")
			case strings.Contains(s, "Press Enter when done"), strings.Contains(s, "Copy onto the envelope"):
				send("Enter")
			}
			last, lastAction = s, time.Now()
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("the rehearsal did not finish under tmux; last screen:\n%s", capture())
	return nil, "", ""
}

// tmuxRun starts cmdline in a detached tmux pane of the given size and
// returns functions to type keys and read the screen. Each test has a tmux
// server of its own (-L, named for this process and test): a server shared
// with another test or another run of the suite, exiting after its last
// session was killed, refused new sessions now and then ("tmux: exit
// status 1").
func tmuxRun(t *testing.T, cmdline string, width, height int) (send func(...string), screen func() string) {
	t.Helper()
	tmux := testenv.Tool(t, "tmux", "tmux")
	session := fmt.Sprintf("kc%d-%s", os.Getpid(), filepath.Base(t.TempDir())) // unique across test processes too
	run := func(args ...string) *exec.Cmd { return exec.Command(tmux, append([]string{"-L", session}, args...)...) }
	if out, err := run("new-session", "-d", "-s", session, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), cmdline).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { run("kill-server").Run() })
	send = func(keys ...string) {
		run(append([]string{"send-keys", "-t", session}, keys...)...).Run()
	}
	screen = func() string {
		b, err := run("capture-pane", "-p", "-t", session).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return send, screen
}

// buildBinary builds this command once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keyceremony")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// An officer who answers n to a confirmation ends the rehearsal cleanly:
// the screen says STOPPED and why, names the journal by its path, wraps
// within 80 columns, and the process exits 1 (refused), with no panic or
// stack trace anywhere on the screen.
func TestTUIDeclineStopsCleanlyUnderTmux(t *testing.T) {
	outDir := filepath.Join(t.TempDir(), "out")
	// A rehearsal cannot be resumed: the stop says what to do instead.
	declineUnderTmux(t, buildBinary(t)+" rehearse --out "+outDir, filepath.Join(outDir, "journal.jsonl"),
		"Arehearsalisnotresumed", "keyceremonyrehearse--outNEW_DIR")
}

// declineUnderTmux runs cmdline at 80×24, goes through its instructions,
// answers n to the first confirmation and fails unless the stop screen
// says an officer stopped it and holds each onStop (whitespace taken out: a
// long path may wrap anywhere), and the process then exits 1.
func declineUnderTmux(t *testing.T, cmdline string, onStop ...string) {
	t.Helper()
	send, screen := tmuxRun(t, cmdline+"; echo EXIT=$?; sleep 60", 80, 24)
	declined, stopped := false, false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(150 * time.Millisecond) {
		s := screen()
		checkScreen(t, s)
		switch {
		case strings.Contains(s, "EXIT="):
			if !declined || !stopped || !strings.Contains(s, "EXIT=1") {
				t.Fatalf("exit after declining:\n%s", s)
			}
			return
		case strings.Contains(s, "STOPPED"):
			flat, joined := strings.Join(strings.Fields(s), " "), strings.Join(strings.Fields(s), "")
			if !strings.Contains(flat, "stopped by an officer") || slices.ContainsFunc(onStop, func(w string) bool { return !strings.Contains(joined, w) }) {
				t.Fatalf("the stop screen does not say who stopped it, or lacks %q:\n%s", onStop, s)
			}
			stopped = true
			send("Enter")
		case !declined && strings.Contains(s, ", you confirm:"):
			send("n", "Enter")
			declined = true
		case strings.Contains(s, "Press Enter when done"):
			send("Enter")
			time.Sleep(300 * time.Millisecond)
		}
	}
	t.Fatalf("no clean stop; last screen:\n%s", screen())
}

// `rehearse health` at a terminal (it used to refuse and ask for --yes):
// the ceremony's screens, then the health check's own, where the officers
// type the same PIN halves again for the test signature; no screen shows a
// half, and the signed health report is written.
func TestRehearseHealthUnderTmux(t *testing.T) {
	const half = "qzqzqzqz"
	screens, final, outDir := driveRehearsalTUI(t, 80, 24, half, "health")
	sawHealth := false
	for _, s := range screens {
		checkScreen(t, s)
		if strings.Contains(s, half) {
			t.Fatalf("a PIN half is on screen:\n%s", s)
		}
		sawHealth = sawHealth || strings.Contains(s, "REHEARSAL health check")
	}
	if !sawHealth || !strings.Contains(final, "Health check:") || !strings.Contains(final, " 0 findings, 0 could not check") || !strings.Contains(final, "SHA256:") {
		t.Fatalf("final screen:\n%s", final)
	}
	// Issue 30: one line per check with its result on the last screen.
	if n := strings.Count(final, "pass "); n < 10 {
		t.Errorf("the last screen lists %d passed checks, not one line per check:\n%s", n, final)
	}
	if _, err := os.Stat(filepath.Join(outDir, "health", "report.json")); err != nil {
		t.Fatalf("no health report: %v", err)
	}
	// The health check counts no steps: its screen has no progress bar
	// (it used to sit at 0% beside "Health check: 21 pass").
	if _, after, _ := strings.Cut(final, "REHEARSAL health check"); strings.Contains(after, "%") {
		t.Errorf("a progress bar on the health check's screen:\n%s", final)
	}
}

// checkScreen fails on what no officer may meet on an 80-column
// terminal: a stack trace, or a line wider than the terminal.
func checkScreen(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, "goroutine ") || strings.Contains(s, "panic:") {
		t.Fatalf("a stack trace reached the officers:\n%s", s)
	}
	for i, l := range strings.Split(s, "\n") {
		if len([]rune(strings.TrimRight(l, " "))) > 80 {
			t.Fatalf("line %d is wider than the 80-column terminal:\n%s", i+1, s)
		}
	}
}
