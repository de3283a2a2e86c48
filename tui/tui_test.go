package tui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/keyceremony/keyceremony/officer"
)

var update = flag.Bool("update", false, "rewrite the golden screens")

func keys(m tea.Model, s string) tea.Model {
	for _, r := range s {
		m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m
}

func enter(m tea.Model) tea.Model {
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	return m
}

// golden compares a screen with testdata/NAME.golden and checks it fits 80×24.
func golden(t *testing.T, name string, m tea.Model) string {
	t.Helper()
	view := m.View()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		os.WriteFile(path, []byte(view), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update once)", err)
	}
	if view != string(want) {
		t.Errorf("screen %s changed:\n--- got ---\n%s\n--- want ---\n%s", name, view, want)
	}
	lines := strings.Split(view, "\n")
	if len(lines) > 24 {
		t.Errorf("screen %s is %d lines, more than 24", name, len(lines))
	}
	for i, l := range lines {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("screen %s line %d is %d wide", name, i+1, n)
		}
	}
	return view
}

func base() tea.Model {
	var m tea.Model = newModel("keyceremony — breakglass1@contoso.onmicrosoft.com (REHEARSAL)", 20)
	m, _ = m.Update(progressMsg{"preflight", "account breakglass1@contoso.onmicrosoft.com"})
	m, _ = m.Update(progressMsg{"key1/insert", "AAGUID 6b657963-6572-656d-6f6e-792d73696d6b, firmware 5.7.4"})
	return m
}

func TestInstructionScreen(t *testing.T) {
	r := &request{kind: reqInstruct, text: "Officer B: insert key 2 now (and no other key)", reply: make(chan answer, 1)}
	m, _ := base().Update(r)
	golden(t, "instruct", m)
	enter(m)
	if a := <-r.reply; !a.ok {
		t.Fatal("Enter did not acknowledge the instruction")
	}
}

func TestConfirmScreen(t *testing.T) {
	r := &request{kind: reqConfirm, officer: "Alice Officer", text: "reset key 1 (erases everything on it)", reply: make(chan answer, 1)}
	m, _ := base().Update(r)
	golden(t, "confirm", m)
	m = enter(keys(m, "maybe"))
	if !strings.Contains(m.View(), "Type y to confirm") {
		t.Fatal("an unclear answer was taken")
	}
	enter(keys(m, "y"))
	if a := <-r.reply; !a.ok {
		t.Fatal("y did not confirm")
	}
	r2 := &request{kind: reqConfirm, officer: "Bob Officer", text: "x", reply: make(chan answer, 1)}
	m, _ = base().Update(r2)
	enter(keys(m, "n"))
	if a := <-r2.reply; a.ok {
		t.Fatal("n confirmed")
	}
}

func TestPINScreenMasksAndConfirms(t *testing.T) {
	const half = "4711"
	r := &request{kind: reqPIN, officer: "Alice Officer", slot: 1, newPIN: true, reply: make(chan answer, 1)}
	m, _ := base().Update(r)
	m = keys(m, half)
	view := golden(t, "pin", m)
	if strings.Contains(view, half) {
		t.Fatal("the PIN half is on screen")
	}
	m = enter(m)
	if v := m.View(); !strings.Contains(v, "Type it again") || strings.Contains(v, half) {
		t.Fatalf("after the first entry:\n%s", v)
	}
	m = enter(keys(m, "4712"))
	if v := m.View(); !strings.Contains(v, "differ") || strings.Contains(v, "4712") {
		t.Fatalf("mismatch:\n%s", v)
	}
	m = enter(keys(m, half))
	m = enter(keys(m, half))
	a := <-r.reply
	if !a.ok || string(a.secret) != half {
		t.Fatalf("answer %+v", a)
	}
	if strings.Contains(m.View(), half) {
		t.Fatal("the PIN half stayed on screen")
	}
}

func TestTouchAndQuitAndDoneScreens(t *testing.T) {
	m, _ := base().Update(touchMsg{slot: 1})
	golden(t, "touch", m)
	r := &request{kind: reqConfirm, officer: "Bob Officer", text: "register key 1", reply: make(chan answer, 1)}
	m, _ = base().Update(r)
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	golden(t, "quit", m)
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'n'}})
	if strings.Contains(m.View(), "Abandon") {
		t.Fatal("n did not cancel the question")
	}
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'y'}})
	if a := <-r.reply; a.ok || cmd == nil {
		t.Fatal("abandoning did not refuse the pending question and quit")
	}
	m, _ = base().Update(DoneMsg{Title: "Ceremony complete: 2 keys registered, 1 retired.", Fingerprint: "SHA256:wQwzLSG9quSEQBZxgVy1Ahw1/mdbGLUf6+Z2jNklz/M", Detail: "Report in /safe/2026"})
	golden(t, "done", m)
	m, _ = base().Update(DoneMsg{Err: errors.New("key 2: the key was removed or stopped answering")})
	golden(t, "stopped", m)
	// A step stopped while the key asked for a touch: the last screen no
	// longer says to touch it (found under tmux, on a real ceremony refused
	// at attestation), nor offers Ctrl-C where any key leaves.
	m, _ = base().Update(touchMsg{slot: 1})
	m, _ = m.Update(DoneMsg{Err: errors.New("key 1: attestation refused")})
	if v := m.View(); strings.Contains(v, "Touch the key") || strings.Contains(v, "Ctrl-C") || !strings.Contains(v, "Press any key to leave.") {
		t.Fatalf("stop screen after a touch request:\n%s", v)
	}
}

// The masked input keeps a half in bytes it wipes: backspace removes (and
// zeroes) the last character, wipe zeroes the whole backing array, and a
// half never grows past a whole PIN's 63 bytes.
func TestSecretInputWipes(t *testing.T) {
	var s secretInput
	for _, r := range "12ä4" {
		s.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	s.update(tea.KeyMsg{Type: tea.KeyBackspace})
	if string(s.buf) != "12ä" || s.view() != "> •••" {
		t.Fatalf("buffer %q view %q", s.buf, s.view())
	}
	backing := s.buf[:cap(s.buf)]
	s.wipe()
	for i, b := range backing {
		if b != 0 {
			t.Fatalf("byte %d not wiped: %q", i, backing)
		}
	}
	for range 100 {
		s.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'9'}})
	}
	if len(s.buf) != maxSecret {
		t.Fatalf("a half of %d bytes", len(s.buf))
	}
}

// A panic in the work behind the screen becomes an error that says the
// step stopped where it was: no stack trace reaches an officer.
func TestGuardedTurnsAPanicIntoAnError(t *testing.T) {
	_, err := guarded(context.Background(), nil, func(context.Context, officer.Prompter) (DoneMsg, error) {
		var m map[string]int
		m["boom"]++ // a nil map write: a runtime panic
		return DoneMsg{}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "internal error") || strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("err = %v", err)
	}
}

// Issue 30: nothing on the screen is cut at 80 columns: a long title, a
// long log entry (the PIN rule) and a long confirmation wrap, every word of
// them on screen, no line wider than 80 and no "…".
func TestLongTextsWrapNeverCut(t *testing.T) {
	title := "keyceremony — rehearsal (virtual keys, emulated tenant) — breakglass-account-with-a-long-name@contoso.onmicrosoft.com"
	rule := "the new PIN must have at least 8 characters (policy 8, key 4): each officer types one half, and the other looks away"
	var m tea.Model = newModel(title, 16)
	m, _ = m.Update(progressMsg{"key1/pin", rule})
	m, _ = m.Update(&request{kind: reqConfirm, officer: "Alice Officer", text: "register key 1 as \"BG1 key 1 2026 YubiKey 5 NFC\" " +
		"on breakglass-account-with-a-long-name@contoso.onmicrosoft.com", reply: make(chan answer, 1)})
	view := m.View()
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
	flat := squeeze(ansi.Strip(view))
	for _, want := range []string{title, rule, "breakglass-account-with-a-long-name@contoso.onmicrosoft.com"} {
		if !strings.Contains(flat, squeeze(want)) {
			t.Errorf("the screen cut %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "…") {
		t.Errorf("the screen truncates:\n%s", view)
	}
	for i, l := range strings.Split(view, "\n") {
		if n := ansi.StringWidth(l); n > 80 {
			t.Errorf("line %d is %d wide", i+1, n)
		}
	}
}

// Issue 30: the bar counts steps, not attempts: a PIN asked again or a key
// re-plugged reports its step again without moving the bar, lines that
// are no step (a yank, a journal repair) do not count, and the bar stays
// short of 100% until the ceremony is done.
func TestProgressCountsStepsNotAttempts(t *testing.T) {
	var m tea.Model = newModel("t", 4) // preflight, 1 key of ... counted to 4
	for _, s := range []string{"preflight", "key1/pin", "key1/pin", "key1", "journal", "key1/pin", "key1/minpin"} {
		m, _ = m.Update(progressMsg{s, "x"})
	}
	if got := m.(model).doneSteps; got != 2 {
		t.Fatalf("%d steps counted, want 2 (preflight, key1/pin)", got)
	}
	for _, s := range []string{"key1/create", "key1/attest", "key1/enroll", "key1/test"} {
		m, _ = m.Update(progressMsg{s, "x"})
	}
	if got := m.(model).doneSteps; got != 3 || strings.Contains(m.View(), "100%") {
		t.Fatalf("before the end: %d steps\n%s", got, m.View())
	}
	m, _ = m.Update(DoneMsg{Title: "done", Fingerprint: "SHA256:x"})
	if !strings.Contains(m.View(), "100%") {
		t.Fatalf("done, not at 100%%:\n%s", m.View())
	}
}

// Issue 30: "Touch the key now." goes once the touch is done and the next
// question comes, even before the next progress line.
func TestTouchLineGoesWithTheNextQuestion(t *testing.T) {
	m, _ := base().Update(touchMsg{slot: 1})
	if !strings.Contains(m.View(), "Touch the key now.") {
		t.Fatal("no touch line while the key waits")
	}
	m, _ = m.Update(&request{kind: reqConfirm, officer: "Bob Officer", text: "register key 1", reply: make(chan answer, 1)})
	if strings.Contains(m.View(), "Touch the key now.") {
		t.Fatalf("the touch line stayed:\n%s", m.View())
	}
}

// Issue 30: the health check's last screen shows one line per check with
// its result (not only "21 pass"), in two columns at 80×24; a finding
// with its detail takes a whole, wrapped line.
func TestHealthDoneScreenListsEveryCheck(t *testing.T) {
	var results []string
	for i := 1; i <= 21; i++ {
		results = append(results, fmt.Sprintf("pass  check number %d", i))
	}
	m, _ := base().Update(DoneMsg{Title: "Health check: 21 pass, 0 findings, 0 could not check.", Fingerprint: "SHA256:x",
		Detail: "Health report in /safe/health", Results: results})
	view := golden(t, "health", m)
	for _, r := range results {
		if !strings.Contains(view, r+" ") && !strings.HasSuffix(strings.TrimRight(view, " "), r) && !strings.Contains(view, r+"\n") {
			t.Errorf("the screen lacks %q:\n%s", r, view)
		}
	}
	finding := "FINDING Conditional Access: the account is not excluded from: Require MFA for admins, Block legacy authentication"
	m, _ = base().Update(DoneMsg{Title: "Health check", Fingerprint: "SHA256:x", Results: append(results[:3:3], finding)})
	flat := strings.Join(strings.Fields(m.View()), " ")
	if !strings.Contains(flat, finding) || !strings.Contains(flat, "pass check number 3") {
		t.Fatalf("a finding's line:\n%s", m.View())
	}
}

// Issue 30: a long question (the summary of what is signed) takes rows
// from the log, not from itself: the screen stays within 24 rows.
func TestLongQuestionTakesRowsFromTheLog(t *testing.T) {
	m := base()
	for i := 0; i < 10; i++ {
		m, _ = m.Update(progressMsg{fmt.Sprintf("key%d/test", i), "signature verified with the recorded public key"})
	}
	summary := "sign the report of this ceremony with the workstation key. It records:\n  account bg1@contoso.onmicrosoft.com\n" +
		strings.Repeat("  key 1 \"BG1 key 1 2026 YubiKey 5\", YubiKey 5, public key SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n", 4) +
		"  retired \"Break glass key 1 (2025)\" (old-key-2025)\n  DEVIATION 1: REHEARSAL"
	m, _ = m.Update(&request{kind: reqConfirm, officer: "Alice Officer", text: summary, reply: make(chan answer, 1)})
	view := m.View()
	if n := strings.Count(view, "\n") + 1; n > 24 {
		t.Fatalf("%d rows:\n%s", n, view)
	}
	if !strings.Contains(view, "DEVIATION 1: REHEARSAL") || !strings.Contains(view, "key9/test") {
		t.Fatalf("the question or the newest log entry is missing:\n%s", view)
	}
}

// Issue 30: "Touch the key now." goes once the key stops asking (its
// keepalives stop when the touch is done), not only at the next step.
func TestTouchLineGoesWhenTheKeyStopsAsking(t *testing.T) {
	m, cmd := base().Update(touchMsg{slot: 1})
	first := cmd
	m, cmd = m.Update(touchMsg{slot: 1}) // the key still asks
	if cmd == nil || first == nil {
		t.Fatal("no timer for the touch line")
	}
	m, _ = m.Update(touchQuiet{seq: 1}) // the first signal's timer: the key asked since
	if !strings.Contains(m.View(), "Touch the key now.") {
		t.Fatal("the touch line went while the key still asked")
	}
	m, _ = m.Update(cmd()) // the last signal's timer fires: the key stopped asking
	if strings.Contains(m.View(), "Touch the key now.") {
		t.Fatalf("the touch line stayed after the touch:\n%s", m.View())
	}
}

// More checks than a 24-row screen holds (the health check with the posture
// and monitoring audits has 33): what is not a pass comes first, whole; the
// title and the fingerprint stay on screen; the passes left out are
// counted, never cut, and the screen is at most 24 rows.
func TestHealthDoneScreenFitsTwentyFourRows(t *testing.T) {
	var results []string
	for i := 1; i <= 33; i++ {
		results = append(results, fmt.Sprintf("pass  Conditional Access (check %d of the audit)", i))
	}
	results = append(results, "FINDING  alert fired: the alert did not fire for the sign-in at 2026-11-02T10:00:00Z")
	m, _ := base().Update(DoneMsg{Title: "Health check: 33 pass, 1 findings, 0 could not check.", Fingerprint: "SHA256:x",
		Detail: "Health report in /safe/health", Results: results})
	view := m.View()
	if n := strings.Count(view, "\n") + 1; n > 24 {
		t.Fatalf("%d rows:\n%s", n, view)
	}
	for _, want := range []string{"Health check: 33 pass", "SHA256:x", "the alert did not fire for the sign-in",
		"more pass; the health report lists every check", "pass  Conditional Access (check 1 of the audit)"} {
		if !strings.Contains(strings.Join(strings.Fields(view), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the screen lacks %q:\n%s", want, view)
		}
	}
}
