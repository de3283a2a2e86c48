package ceremony_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
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
	cfg  ceremony.Config
	path string // the journal
}

// newCrashWorld sets up a rehearsal; with fresh, the keys are factory
// fresh (no PIN) instead of last year's keys out of the safe.
func newCrashWorld(t *testing.T, fresh bool) *crashWorld {
	t.Helper()
	dir := t.TempDir()
	kc := simkey.Config{TouchDelay: time.Millisecond}
	env, err := rehearsal.Setup(context.Background(), dir, kc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	w := &crashWorld{env: env, devs: env.Devices, path: filepath.Join(dir, "out", "journal.jsonl")}
	if fresh {
		if w.devs, err = rehearsal.NewDevices(2, kc); err != nil {
			t.Fatal(err)
		}
	}
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
	e, err := ceremony.New(w.cfg, j, w.devs, w.env.Tenant.Client, rehearsal.NewPrompter(w.devs, nil))
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
	w := newCrashWorld(t, true)
	w.stopAfter(t, func(e ceremony.Entry) bool { return e.Step == "key1/reset" && e.Phase == "begin" })
	res, err := w.run(t, -1)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	r := readReport(t, res)
	s := stepOf(r, "key1/reset")
	if s.Outcome != "unknown" || s.Detail != "reset state unknown; the key has no PIN" {
		t.Fatalf("the report's key1/reset step: outcome %q, detail %q; want unknown and the reset state unknown", s.Outcome, s.Detail)
	}
	if !slices.ContainsFunc(r.Deviations, func(d string) bool { return strings.Contains(d, "reset state unknown; the key has no PIN") }) {
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
	w := newCrashWorld(t, false)
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
