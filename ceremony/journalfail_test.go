package ceremony_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/report"
)

// acts counts the destructive commands the simkeys receive: authenticator
// reset and clientPIN setPIN (CTAP 2.1 §6.6, §6.5.5.5).
type acts struct {
	mu             sync.Mutex
	resets, setPIN int
}

func (a *acts) observe(req, _ []byte) {
	if len(req) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch ctapwire.Command(req[0]) {
	case ctapwire.CmdReset:
		a.resets++
	case ctapwire.CmdClientPIN:
		var m map[int]any
		if ctapwire.Unmarshal(req[1:], &m) == nil && m[2] == uint64(3) {
			a.setPIN++
		}
	}
}

// A journal whose medium fails (full disk, read-only) at each append in
// turn stops the ceremony at once with a clear error; every reset, PIN,
// registration and deletion that happened is recorded as begun on disk;
// and the resumed ceremony finishes without doing any of them twice.
func TestJournalWriteFailureStopsBeforeTheNextDestructiveStep(t *testing.T) {
	ctx := context.Background()
	for n := 0; ; n++ {
		dir := t.TempDir()
		var a acts
		env, err := rehearsal.Setup(ctx, dir, simkey.Config{TouchDelay: time.Millisecond, Observe: a.observe})
		if err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		a.resets, a.setPIN = 0, 0 // what Setup did to make last year's keys
		a.mu.Unlock()
		path := filepath.Join(dir, "journal.jsonl")
		cfg := env.CeremonyConfig(filepath.Join(dir, "report"), report.Tool{Version: "test"})
		p := rehearsal.NewPrompter(env.Devices, nil)
		j, err := ceremony.CreateJournal(path, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		ceremony.FailWritesAfter(j, n)
		e, err := ceremony.New(cfg, j, env.Devices, env.Tenant.Client, p)
		if err != nil {
			t.Fatal(err)
		}
		_, runErr := e.Run(ctx)
		j.Close()
		if runErr == nil {
			if n < 20 { // a whole ceremony appends about 25 entries
				t.Fatalf("the ceremony finished with a journal that failed after %d writes", n)
			}
			env.Close()
			return // n is past the last append: every failure point was tried
		}
		if !strings.Contains(runErr.Error(), "no space left on device") {
			t.Fatalf("append %d failed: the error does not say why: %v", n+1, runErr)
		}
		entries, err := ceremony.ReadJournal(path)
		if err != nil {
			t.Fatalf("after a failed append %d the journal does not read back: %v", n+1, err)
		}
		begun := map[string]int{}
		for _, en := range entries {
			if en.Phase == "begin" {
				kind := en.Step[strings.LastIndex(en.Step, "/")+1:]
				if strings.HasPrefix(en.Step, "retire/") {
					kind = "retire"
				}
				begun[kind]++
			}
		}
		methods := env.Tenant.Emu.Snapshot().Methods[env.UserID]
		registered, deleted := 0, 1
		for _, m := range methods {
			if m.ID == "previous-key-1" {
				deleted = 0
			} else {
				registered++
			}
		}
		a.mu.Lock()
		if a.resets > begun["reset"] || a.setPIN > begun["pin"] || registered > begun["enroll"] || deleted > begun["retire"] {
			t.Fatalf("failure at append %d: %d resets, %d PINs set, %d registrations, %d deletions happened; the journal records %v begun",
				n+1, a.resets, a.setPIN, registered, deleted, begun)
		}
		a.mu.Unlock()

		// Resume on a medium that works again.
		j2, err := ceremony.OpenOrCreateJournal(path, true)
		if err != nil {
			t.Fatalf("failure at append %d: resume: %v", n+1, err)
		}
		e2, err := ceremony.New(cfg, j2, env.Devices, env.Tenant.Client, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e2.Run(ctx); err != nil {
			t.Fatalf("failure at append %d: the resumed ceremony: %v", n+1, err)
		}
		j2.Close()
		methods = env.Tenant.Emu.Snapshot().Methods[env.UserID]
		a.mu.Lock()
		if a.resets != 2 || a.setPIN != 2 || len(methods) != 2 {
			t.Fatalf("failure at append %d, then resumed: %d resets, %d PINs set, %d methods; want 2, 2, 2", n+1, a.resets, a.setPIN, len(methods))
		}
		a.mu.Unlock()
		env.Close()
	}
}
