package ceremony_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/report"
)

// crashWorld is a rehearsal world whose ceremony a test stops where it
// wants (a journal that fails, as a kill leaves it: the last line written
// is the last thing that happened) and resumes.
type crashWorld struct {
	env  *rehearsal.Env
	devs *rehearsal.Devices
	p    *rehearsal.Prompter // the same officers (and PIN halves) across a resume
	out  bytes.Buffer        // what the officers' screen showed
	cfg  ceremony.Config
	path string // the journal
}

// newCrashWorld sets up a rehearsal whose journal and report go into out
// (default a new directory); with fresh, the keys are factory fresh (no
// PIN) instead of last year's keys out of the safe.
func newCrashWorld(t *testing.T, fresh bool, out string) *crashWorld {
	t.Helper()
	dir := t.TempDir()
	if out == "" {
		out = filepath.Join(dir, "out")
	}
	kc := simkey.Config{TouchDelay: time.Millisecond}
	env, err := rehearsal.Setup(context.Background(), dir, kc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	w := &crashWorld{env: env, devs: env.Devices, path: filepath.Join(out, "journal.jsonl")}
	if fresh {
		if w.devs, err = rehearsal.NewDevices(2, kc); err != nil {
			t.Fatal(err)
		}
	}
	w.p = rehearsal.NewPrompter(w.devs, &w.out)
	if err := os.MkdirAll(filepath.Dir(w.path), 0o700); err != nil {
		t.Fatal(err)
	}
	w.cfg = env.CeremonyConfig(filepath.Dir(w.path), report.Tool{Version: "test"})
	return w
}

// run runs (or resumes) the ceremony; the journal fails every write after
// the next failAfter (none when negative).
func (w *crashWorld) run(t *testing.T, failAfter int) (*ceremony.Result, error) {
	t.Helper()
	j, err := ceremony.OpenOrCreateJournal(w.path, fileExists(w.path))
	if err != nil {
		t.Fatalf("open the journal: %v", err)
	}
	defer j.Close()
	if failAfter >= 0 {
		ceremony.FailWritesAfter(j, failAfter)
	}
	e, err := ceremony.New(w.cfg, j, w.devs, w.env.Tenant.Client, w.p)
	if err != nil {
		t.Fatal(err)
	}
	return e.Run(context.Background())
}

// stopAfter runs the ceremony afresh, failing the journal at each append in
// turn, until the journal's last whole line is the one stop picks: the
// state a kill right after that line leaves. (The attempts before it stop
// earlier, so stop must pick a line before anything destructive it does
// not want done twice.)
func (w *crashWorld) stopAfter(t *testing.T, stop func(ceremony.Entry) bool) {
	t.Helper()
	for n := 0; n < 60; n++ {
		os.Remove(w.path)
		if _, err := w.run(t, n); err == nil {
			break
		}
		entries, err := ceremony.ReadJournal(w.path)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) > 0 && stop(entries[len(entries)-1]) {
			return
		}
	}
	t.Fatal("the ceremony never stopped where the test wants")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readReport reads the finished ceremony's report.
func readReport(t *testing.T, res *ceremony.Result) *report.Report {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(res.Dir, report.FileReport))
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func stepOf(r *report.Report, name string) report.Step {
	i := slices.IndexFunc(r.Steps, func(s report.Step) bool { return s.Name == name })
	if i < 0 {
		return report.Step{}
	}
	return r.Steps[i]
}

// Killed right after `reset begin` on a factory-fresh key (no PIN before
// and none after, whether or not the reset ran), the resume records only
// what can be known — "reset state unknown; the key has no PIN" — in the
// journal, in the report's step and as a deviation; never that the reset
// happened (issue 24 §5: the report is a legal record).
func TestResumeAfterResetBeginOnAFreshKeySaysTheResetStateIsUnknown(t *testing.T) {
	w := newCrashWorld(t, true, "")
	w.stopAfter(t, func(e ceremony.Entry) bool { return e.Step == "key1/reset" && e.Phase == "begin" })
	res, err := w.run(t, -1)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	r := readReport(t, res)
	s := stepOf(r, "key1/reset")
	if s.Outcome != "unknown" || s.Detail != "reset state unknown; the key has no PIN" {
		t.Fatalf("the report's key1/reset step: outcome %q, detail %q; want unknown and the reset state unknown",
			s.Outcome, s.Detail)
	}
	unknown := func(d string) bool { return strings.Contains(d, "reset state unknown; the key has no PIN") }
	if !slices.ContainsFunc(r.Deviations, unknown) {
		t.Fatalf("no deviation says the reset state is unknown: %q", r.Deviations)
	}
	body, _ := os.ReadFile(filepath.Join(res.Dir, report.FileReport))
	journal, _ := os.ReadFile(w.path)
	for _, b := range [][]byte{body, journal} {
		if strings.Contains(string(b), "reset had happened") || strings.Contains(string(b), "the reset happened") {
			t.Fatal("the record says the reset happened on a key that had no PIN before it")
		}
	}
	if s := stepOf(r, "key2/reset"); s.Outcome != "done" {
		t.Fatalf("key 2's reset, uninterrupted: %q", s.Outcome)
	}
}

// The same kill on a key that had a PIN when the reset began: it has none
// now, and only a reset removes a PIN, so the reset happened and the
// record says why that is known.
func TestResumeAfterResetBeginOnAKeyThatHadAPINSaysTheResetHappened(t *testing.T) {
	w := newCrashWorld(t, false, "")
	w.stopAfter(t, func(e ceremony.Entry) bool { return e.Step == "key1/reset" && e.Phase == "begin" })
	res, err := w.run(t, -1)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	s := stepOf(readReport(t, res), "key1/reset")
	if s.Outcome != "done" || !strings.Contains(s.Detail, "had a PIN when the reset began and has none now") {
		t.Fatalf("the report's key1/reset step: outcome %q, detail %q", s.Outcome, s.Detail)
	}
}

// methods counts the account's FIDO2 methods in the emulated tenant.
func (w *crashWorld) methods() int { return len(w.env.Tenant.Emu.Snapshot().Methods[w.env.UserID]) }

// A journal left ending in a torn line (as an older build left it on a
// full disk: an entry cut mid-JSON) is not repaired silently on resume:
// the officers' screen names what was cut and after which step, the
// journal records the repair, and the signed report lists it as a
// deviation; the ceremony then goes on to its end (issue 23 §4).
func TestResumeShowsAndRecordsATornJournalLine(t *testing.T) {
	w := newCrashWorld(t, false, "")
	w.stopAfter(t, func(e ceremony.Entry) bool { return e.Step == "key1/created" && e.Phase == "done" })
	entries, _ := ceremony.ReadJournal(w.path)
	last := entries[len(entries)-1]
	torn := fmt.Sprintf(`{"seq":%d,"time":"2026-12-04T10:00:00Z","step":"key1/enroll","phase":"begin",`+
		`"data":{"confirmed_by":"Rehe`, last.Seq+1)
	f, err := os.OpenFile(w.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(torn)
	f.Close()
	w.out.Reset()
	res, err := w.run(t, -1)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	screen := w.out.String()
	want := fmt.Sprintf("after entry %d (key1/created done): %d bytes of an entry for step key1/enroll, phase begin",
		last.Seq, len(torn))
	if !strings.Contains(screen, "REPAIRED") || !strings.Contains(screen, want) {
		t.Fatalf("the officers were not shown the cut (%q):\n%s", want, screen)
	}
	if !slices.ContainsFunc(readReport(t, res).Deviations, func(d string) bool { return strings.Contains(d, want) }) {
		t.Fatal("the report does not list the journal's repair as a deviation")
	}
	after, _ := ceremony.ReadJournal(w.path)
	repair := func(e ceremony.Entry) bool { return e.Step == "journal" && e.Phase == "repair" }
	if i := slices.IndexFunc(after, repair); i != last.Seq {
		t.Fatalf("the repair entry is entry %d, want %d (right after the last whole line)", i+1, last.Seq+1)
	}
	if n := w.methods(); n != 2 {
		t.Fatalf("%d methods after the resumed ceremony, want 2", n)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory for the test,
// or skips the test where mounting is not permitted (not root).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("mount -t tmpfs is not permitted here (%v): the full-disk rehearsal runs where it is "+
			"(root, as scripts/test.sh runs in CI); "+
			"TestJournalAppendFailingAtEveryByteLeavesOnlyWholeLines covers the same append without a mount", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// A real small filesystem fills up during a rehearsal, with a little more
// room left each time: the ceremony stops with the full disk named; the
// journal on it is exactly its whole lines (never a line cut at a page
// boundary, as it was); and once room is made the resume finishes with no
// repair needed and both keys registered (issue 23 §4).
func TestJournalOnAFullTmpfsDuringARehearsal(t *testing.T) {
	const page, pages = 4096, 64
	for _, free := range []int{1, 2, 3, 5, 8, 13} {
		mnt := mountTmpfs(t, pages*page)
		filler := filepath.Join(mnt, "filler")
		if err := os.WriteFile(filler, make([]byte, (pages-free)*page), 0o600); err != nil {
			t.Fatal(err)
		}
		w := newCrashWorld(t, false, filepath.Join(mnt, "out"))
		_, err := w.run(t, -1)
		if err == nil {
			if free < 13 {
				t.Fatalf("%d free pages: the ceremony finished (make the filesystem smaller)", free)
			}
			continue
		}
		if !strings.Contains(err.Error(), "no space left on device") {
			t.Fatalf("%d free pages: the stop does not name the full disk: %v", free, err)
		}
		b, rerr := os.ReadFile(w.path)
		if rerr != nil {
			t.Fatalf("%d free pages: %v (%v)", free, rerr, err)
		}
		entries, rerr := ceremony.ReadJournal(w.path)
		if rerr != nil || len(b) == 0 || b[len(b)-1] != '\n' || bytes.Count(b, []byte("\n")) != len(entries) {
			t.Fatalf("%d free pages: the journal (%d bytes) is not whole lines: %d entries, %v; ends %q", free,
				len(b), len(entries), rerr, b[max(0, len(b)-40):])
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		w.out.Reset()
		res, err := w.run(t, -1)
		if err != nil {
			t.Fatalf("%d free pages, then room made: resume: %v", free, err)
		}
		if strings.Contains(w.out.String(), "REPAIRED") {
			t.Fatalf("%d free pages: the resume had to repair the journal:\n%s", free, w.out.String())
		}
		if n := w.methods(); n != 2 {
			t.Fatalf("%d free pages: %d methods after the resume, want 2", free, n)
		}
		if res.Dir != filepath.Dir(w.path) {
			t.Fatalf("%d free pages: the report is in %s, not beside its journal", free, res.Dir)
		}
		if ok, err := report.VerifyFile(filepath.Join(res.Dir, report.FileReport), "", "", true,
			&bytes.Buffer{}); !ok || err != nil {
			t.Fatalf("%d free pages: the report does not verify: %v", free, err)
		}
	}
}

// reportFiles are the files report.Write puts beside the journal, in the
// order it writes them: report.json last.
var reportFiles = []string{"report.json.sig", "report.json.ecdsa.der", "report.pub", "report.pem", "allowed_signers",
	"report.txt", report.FileReport}

// A kill while the report is written, at every point between its files,
// and then kills at each journal line of the resume: the journal never
// moves (the resume command stays valid), the resume finishes the report
// (report.json kept as signed when it was written, built again when it
// was not), and the report verifies (issue 24 §3).
func TestReportInterruptedAtEveryFileIsFinishedAndTheJournalNeverMoves(t *testing.T) {
	w := newCrashWorld(t, false, "")
	if _, err := w.run(t, -1); err != nil {
		t.Fatal(err)
	}
	out := filepath.Dir(w.path)
	saved := map[string][]byte{}
	for _, name := range reportFiles {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		saved[name] = b
	}
	journal, _ := os.ReadFile(w.path)
	lines := strings.SplitAfter(strings.TrimSuffix(string(journal), "\n"), "\n")
	if !strings.Contains(lines[len(lines)-1], `"step":"report","phase":"done"`) {
		t.Fatalf("the journal does not end with the report done: %s", lines[len(lines)-1])
	}
	beforeDone := strings.Join(lines[:len(lines)-1], "")
	type state struct {
		name    string
		present []string
	}
	var states []state
	for k := 0; k <= len(reportFiles); k++ {
		states = append(states, state{fmt.Sprintf("the first %d files written", k), reportFiles[:k]})
	}
	// An older build wrote report.json first: a report without its signature.
	states = append(states, state{"report.json without its signatures (older build)", []string{report.FileReport,
		"report.pub"}})
	for _, st := range states {
		for kills := 0; kills <= 3; kills++ {
			entries, _ := os.ReadDir(out)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(out, e.Name()))
			}
			os.WriteFile(w.path, []byte(beforeDone), 0o600)
			for _, name := range st.present {
				os.WriteFile(filepath.Join(out, name), saved[name], 0o644)
			}
			// The resume is killed at its 1st, 2nd… journal line, then resumed again.
			for n := 0; n < kills; n++ {
				w.run(t, n)
				if _, err := os.Stat(w.path); err != nil {
					t.Fatalf("%s, resume killed at line %d: the resume command names a journal that is gone: %v",
						st.name, n+1, err)
				}
			}
			res, err := w.run(t, -1)
			if err != nil {
				t.Fatalf("%s, %d kills during the resume: %v", st.name, kills, err)
			}
			if res.Dir != out {
				t.Fatalf("%s: the report went to %s, not beside the journal in %s", st.name, res.Dir, out)
			}
			matches, _ := filepath.Glob(out + ".*")
			if len(matches) > 0 {
				t.Fatalf("%s: files were moved aside: %v", st.name, matches)
			}
			if ok, err := report.VerifyFile(filepath.Join(out, report.FileReport), "", "", true,
				&bytes.Buffer{}); !ok || err != nil {
				t.Fatalf("%s, %d kills during the resume: the report does not verify: %v", st.name, kills, err)
			}
			body, _ := os.ReadFile(filepath.Join(out, report.FileReport))
			if slices.Contains(st.present, report.FileReport) != bytes.Equal(body, saved[report.FileReport]) {
				t.Fatalf("%s: report.json kept %v; it must be kept exactly when it was written before the kill",
					st.name, bytes.Equal(body, saved[report.FileReport]))
			}
			if !slices.Contains(st.present, report.FileReport) && !slices.ContainsFunc(readReport(t, res).Deviations,
				func(d string) bool {
					return strings.Contains(d, "writing the report was interrupted")
				}) {
				t.Fatalf("%s: the report written again does not say the first writing was interrupted", st.name)
			}
			recorded, err := ceremony.ReadJournal(w.path)
			if err != nil || recorded[len(recorded)-1].Step != "report" || recorded[len(recorded)-1].Phase != "done" {
				t.Fatalf("%s: the journal does not end with the report done: %v", st.name, err)
			}
		}
	}
}

// enrollBegun stops a ceremony right after key 1's registration began and
// its POST went through (the journal could not record it done).
func enrollBegun(e ceremony.Entry) bool { return e.Step == "key1/enroll" && e.Phase == "begin" }

// Killed after key 1's registration reached Entra but before the journal
// recorded it: the resume adopts the method only after checking that the
// key holds the credential the journal recorded (Graph lists no credential
// ID), records that check, and registers nothing twice (issue 24 §4).
func TestResumeAdoptsARegistrationOnlyWhenTheKeyHoldsItsCredential(t *testing.T) {
	w := newCrashWorld(t, false, "")
	w.stopAfter(t, enrollBegun)
	if n := w.methods(); n != 2 { // last year's key and key 1's new one
		t.Fatalf("%d methods after the kill, want 2", n)
	}
	res, err := w.run(t, -1)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	entries, _ := ceremony.ReadJournal(w.path)
	i := slices.IndexFunc(entries, func(e ceremony.Entry) bool { return e.Step == "key1/enroll" && e.Phase == "done" })
	if i < 0 || entries[i].Data["credential_id"] == "" || !strings.Contains(entries[i].Data["reconciled"],
		"the key holds credential "+entries[i].Data["credential_id"]) {
		t.Fatalf("the adoption does not record the credential check: %+v", entries[max(i, 0)])
	}
	if n := w.methods(); n != 2 || len(res.Methods) != 2 {
		t.Fatalf("%d methods at the end (want 2: both new keys, last year's retired)", n)
	}
}

// The same kill, then another key of the same model (with the same PIN) is
// plugged in as key 1: the method Entra holds is not adopted for it.
func TestResumeDoesNotAdoptARegistrationForAnotherKey(t *testing.T) {
	w := newCrashWorld(t, false, "")
	w.stopAfter(t, enrollBegun)
	other, err := simkey.New(simkey.Config{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.devs.Swap(1, other)
	w.devs.Plug(1)
	pin := w.p.PIN(1, rehearsal.OfficerA, rehearsal.OfficerB)
	if err := ctap.NewClient(other, ctap.Options{}).SetPIN(context.Background(), pin); err != nil {
		t.Fatal(err)
	}
	other.Unplug()
	_, err = w.run(t, -1)
	if err == nil || !strings.Contains(err.Error(), "before adopting method") || !strings.Contains(err.Error(),
		"this is not the key 1") {
		t.Fatalf("another key plugged in as key 1: %v", err)
	}
	entries, _ := ceremony.ReadJournal(w.path)
	if slices.ContainsFunc(entries, func(e ceremony.Entry) bool {
		return e.Step == "key1/enroll" &&
			e.Phase == "done"
	}) {
		t.Fatal("the registration was recorded done for another key")
	}
}

// A method with key 1's display name that is not its registration (another
// model's AAGUID) is a conflict named to the officers: not adopted, nothing
// registered over it, the tenant unchanged.
func TestResumeNamesAConflictingMethodOfTheSameName(t *testing.T) {
	w := newCrashWorld(t, false, "")
	w.stopAfter(t, enrollBegun)
	w.env.Tenant.Emu.Update(func(s *graphemu.State) {
		for _, m := range s.Methods[w.env.UserID] {
			if m.ID != "previous-key-1" {
				m.AAGUID = "ee882879-721c-4913-9775-3dfcce97072a" // another model's
			}
		}
	})
	before := w.env.Tenant.Emu.Snapshot().Methods[w.env.UserID]
	_, err := w.run(t, -1)
	if err == nil || !strings.Contains(err.Error(), "already holds a method named") || !strings.Contains(err.Error(),
		"ee882879-721c-4913-9775-3dfcce97072a") {
		t.Fatalf("a method of the same name and another model: %v", err)
	}
	if after := w.env.Tenant.Emu.Snapshot().Methods[w.env.UserID]; len(after) != len(before) {
		t.Fatalf("the tenant changed: %d methods, %d before", len(after), len(before))
	}
}
