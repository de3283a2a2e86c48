package ceremony_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/sitting"
)

// sittingWorld is a rehearsal of a two-account sitting whose run the test
// can interrupt, counting the resets every key receives.
type sittingWorld struct {
	env      *rehearsal.Env
	p        *rehearsal.Prompter
	dir      string
	accounts []sitting.Account
	a        acts
	runs     map[string]int // ceremonies run (or resumed) per account
}

func newSittingWorld(t *testing.T) *sittingWorld {
	t.Helper()
	w := &sittingWorld{dir: t.TempDir(), runs: map[string]int{}}
	env, err := rehearsal.Setup(context.Background(), filepath.Join(w.dir, "world"),
		simkey.Config{TouchDelay: time.Millisecond, Observe: w.a.observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	w.env, w.p = env, rehearsal.NewPrompter(env.Devices, nil)
	for _, upn := range []string{env.UPN, env.AddAccount(2)} {
		w.accounts = append(w.accounts, sitting.Account{UPN: upn, OutDir: filepath.Join(w.dir, upn)})
	}
	return w
}

// sit runs the sitting as the same command run again does: each account's
// journal is resumed when it exists. interrupt, when set, is called after an
// account's ceremony and may stop the sitting there (a kill).
func (w *sittingWorld) sit(t *testing.T, out *bytes.Buffer, interrupt func(a sitting.Account) error) error {
	t.Helper()
	_, err := sitting.Run(context.Background(), out, w.accounts, w.dir, w.env.Signer,
		func(ctx context.Context, a sitting.Account, others []ceremony.KnownKey) (*ceremony.Result, error) {
			w.runs[a.UPN]++
			if len(others) > 0 && w.runs[a.UPN] == 1 {
				if err := w.env.NextKeys(ctx); err != nil { // the second account's own keys
					return nil, err
				}
			}
			if err := os.MkdirAll(a.OutDir, 0o700); err != nil {
				return nil, err
			}
			j, err := ceremony.OpenOrCreateJournal(a.JournalPath(), false)
			if err != nil {
				return nil, err
			}
			defer j.Close()
			cfg := w.env.CeremonyConfig(a.OutDir, report.Tool{Version: "test"})
			cfg.Account, cfg.OtherKeys = a.UPN, others
			e, err := ceremony.New(cfg, j, w.env.Devices, w.env.Tenant.Client, w.p)
			if err != nil {
				return nil, err
			}
			res, err := e.Run(ctx)
			if err == nil && interrupt != nil {
				err = interrupt(a)
			}
			return res, err
		})
	return err
}

var errKilled = errors.New("killed")

// Killed while the first account's report was written, leaving report.json
// without its signature (as an older build left it), the same command run
// again does not call that account done: it finishes its report from its
// journal (no key reset, no registration again), then provisions the
// second account; every report verifies (issue 24 §4).
func TestSittingAccountIsDoneOnlyWhenItsReportVerifies(t *testing.T) {
	w := newSittingWorld(t)
	first := w.accounts[0]
	var out bytes.Buffer
	err := w.sit(t, &out, func(a sitting.Account) error {
		if a.UPN != first.UPN {
			return nil
		}
		// The kill: report.json on disk, its signature not, the journal
		// without its last line (report done).
		os.Remove(filepath.Join(a.OutDir, report.FileSignature))
		b, _ := os.ReadFile(a.JournalPath())
		lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
		os.WriteFile(a.JournalPath(), []byte(strings.Join(lines[:len(lines)-1], "")), 0o600)
		return errKilled
	})
	if !errors.Is(err, errKilled) {
		t.Fatalf("the first sitting: %v", err)
	}
	w.a.mu.Lock()
	resetsBefore := w.a.resets
	w.a.mu.Unlock()
	methodsBefore := len(w.env.Tenant.Emu.Snapshot().Methods[w.env.UserID])
	out.Reset()
	if err := w.sit(t, &out, nil); err != nil {
		t.Fatalf("the same command again: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "does not verify yet (its signature is missing)") {
		t.Fatalf("the rerun did not say why the first account is not done:\n%s", out.String())
	}
	w.a.mu.Lock()
	resets := w.a.resets - resetsBefore
	w.a.mu.Unlock()
	if resets != 2 { // the second account's two keys, none of the first's
		t.Fatalf("%d resets on the rerun, want 2 (the second account's keys only)", resets)
	}
	if n := len(w.env.Tenant.Emu.Snapshot().Methods[w.env.UserID]); n != methodsBefore || n != 2 {
		t.Fatalf("the first account has %d methods after the rerun (%d before), want 2", n, methodsBefore)
	}
	for _, a := range w.accounts {
		if ok, err := report.VerifyFile(filepath.Join(a.OutDir, report.FileReport), "", "", true,
			&bytes.Buffer{}); !ok || err != nil {
			t.Fatalf("%s: the report does not verify: %v", a.UPN, err)
		}
	}
	if w.runs[first.UPN] != 2 {
		t.Fatalf("the first account's ceremony ran %d times, want 2 (the first, then finished)", w.runs[first.UPN])
	}
	// A third run: both accounts are done, nothing is run again.
	out.Reset()
	if err := w.sit(t, &out, nil); err != nil || w.runs[first.UPN] != 2 || w.runs[w.accounts[1].UPN] != 1 {
		t.Fatalf("a third run: %v, runs %v", err, w.runs)
	}
}

// A report.json that does not verify with no journal beside it to finish
// it (an edited or foreign file) is refused before anything is done: the
// account is never started afresh over it.
func TestSittingRefusesAnUnverifiableReportWithoutAJournal(t *testing.T) {
	w := newSittingWorld(t)
	first := w.accounts[0]
	os.MkdirAll(first.OutDir, 0o700)
	os.WriteFile(filepath.Join(first.OutDir, report.FileReport), []byte(`{"type":"ceremony"}`), 0o644)
	var out bytes.Buffer
	err := w.sit(t, &out, nil)
	if err == nil || !strings.Contains(err.Error(), "does not verify") || !strings.Contains(err.Error(),
		"nothing was done") {
		t.Fatalf("an unverifiable report without a journal: %v", err)
	}
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if len(w.runs) != 0 || w.a.resets != 0 {
		t.Fatalf("something was run: %v, %d resets", w.runs, w.a.resets)
	}
}
