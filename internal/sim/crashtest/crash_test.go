package crashtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/report"
)

// rePrompt is the line prompter's PIN prompt (officer.Lines): the slot,
// the officer, first or second entry.
var rePrompt = regexp.MustCompile(`Key (\d) — Officer (A|B), (?:type your half of the PIN|type it again): `)

// scenario is a provisioning job made of phases, each one command run
// until it finishes.
type scenario struct {
	name     string
	accounts int
	withOld  bool
	retire   bool // the job deletes last year's methods at the end
	// phases returns the job's commands in order, given the world.
	phases func(w *world) []phase
}

// phase is one command of a scenario and the files it journals in.
type phase struct {
	name    string
	argv    []string
	env     []string
	journal string              // glob of the journals: line kill points, chain verified ("" for none)
	account func(slot int) *key // which key a PIN prompt for slot is for
	reports []string            // report.json files that must verify once it is done
	graph   bool                // it writes to the tenant: tenant-write kill points
}

// trial is one kill schedule for a scenario: for each phase, the kill
// points of its successive runs (a run without a point finishes).
type trial map[string][]killPoint

// violation is a broken invariant, with where it was seen.
type violation struct{ where, what string }

func (v violation) String() string { return v.where + ": " + v.what }

// TestCrashAtEveryBoundary is issue 24's crash test: for the offline split
// (create, then register), the ceremony and a two-account sitting, the
// provisioning process is killed -9 after a journal line or a tenant
// write, then run again with the same command until it finishes; after
// every run the invariants are checked from the keys' and the tenant's
// state files. A seeded sample by default (KEYCEREMONY_CRASH_SEED), every
// kill point and then random double kills up to KEYCEREMONY_CRASH_N trials.
func TestCrashAtEveryBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 crash test: not in -short")
	}
	seed := int64(24)
	if s := os.Getenv("KEYCEREMONY_CRASH_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("KEYCEREMONY_CRASH_SEED: %v", err)
		}
		seed = v
	}
	budget := 0 // trials per scenario beyond the uninterrupted one; 0: the CI sample
	if s := os.Getenv("KEYCEREMONY_CRASH_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("KEYCEREMONY_CRASH_N must be a positive number, not %q", s)
		}
		budget = v
	}
	t.Logf("seed %d (KEYCEREMONY_CRASH_SEED=%d reproduces it)", seed, seed)
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			// An uninterrupted run measures the kill points and must itself
			// keep every invariant.
			lines, writes, vs := runTrial(t, sc, seed, trial{})
			record := func(vs []violation) {
				for _, v := range vs {
					t.Errorf("%s: %s", sc.name, v)
				}
			}
			record(vs)
			t.Logf("%s uninterrupted: journal lines %v, tenant writes %v", sc.name, lines, writes)
			var linePoints, writePoints []trial
			for _, ph := range sc.phases(nil) {
				for n := 1; n <= lines[ph.name]; n++ {
					linePoints = append(linePoints, trial{ph.name: {{lines: n}}})
				}
				for n := 1; n <= writes[ph.name]; n++ { // every other one with the emulator restarted too
					writePoints = append(writePoints, trial{ph.name: {{writes: n, restartEmulator: n%2 == 0}}})
				}
			}
			points := append(append([]trial(nil), linePoints...), writePoints...)
			n := len(points)
			if budget > 0 {
				n = budget
			} else {
				points = ciSample(rng, linePoints, writePoints)
				n = len(points)
			}
			for i := 0; i < n; i++ {
				var tr trial
				if i < len(points) {
					tr = points[i]
				} else { // beyond every single point: a kill, then a second kill in the rerun
					tr = trial{}
					phs := sc.phases(nil)
					ph := phs[rng.Intn(len(phs))].name
					for j := 0; j < 2; j++ {
						restart := rng.Intn(4) == 0
						if writes[ph] > 0 && rng.Intn(2) == 0 {
							tr[ph] = append(tr[ph], killPoint{writes: 1 + rng.Intn(writes[ph]), restartEmulator: restart})
						} else if lines[ph] > 0 {
							tr[ph] = append(tr[ph], killPoint{lines: 1 + rng.Intn(lines[ph]), restartEmulator: restart})
						}
					}
				}
				_, _, vs := runTrial(t, sc, seed+int64(i)+1, tr)
				record(vs)
			}
		})
	}
}

// ciSample is the bounded sample the test command runs: a seeded journal
// kill point from each third of the journal lines (beginning, keys, end)
// and a seeded tenant-write kill point.
func ciSample(rng *rand.Rand, linePoints, writePoints []trial) []trial {
	var out []trial
	for third := 0; third < 3 && len(linePoints) > 0; third++ {
		lo, hi := third*len(linePoints)/3, (third+1)*len(linePoints)/3
		if hi > lo {
			out = append(out, linePoints[lo+rng.Intn(hi-lo)])
		}
	}
	if len(writePoints) > 0 {
		out = append(out, writePoints[rng.Intn(len(writePoints))])
	}
	return out
}

// runTrial builds a fresh world, runs each phase of sc with the trial's
// kills and then until it finishes, and checks the invariants after every
// run. It returns the journal lines and tenant writes each phase made in
// all (the kill points of an uninterrupted trial) and the violations.
func runTrial(t *testing.T, sc scenario, seed int64, tr trial) (lines, writes map[string]int, vs []violation) {
	t.Helper()
	w := newWorld(t, sc.accounts, 2, sc.withOld, seed)
	lines, writes = map[string]int{}, map[string]int{}
	inv := newInvariants(w, sc)
	var story []string // the runs so far, each with its kill point
	for _, ph := range sc.phases(w) {
		kills := tr[ph.name]
		finished, refused := false, ""
		for attempt := 0; attempt < len(kills)+3 && !finished; attempt++ {
			var p *killPoint
			if attempt < len(kills) {
				k := kills[attempt]
				k.journal = ph.journal
				p = &k
			}
			before := countLines(ph.journal)
			began := time.Now()
			r := w.execute(ph.argv, ph.env, p, ph.account)
			where := fmt.Sprintf("%s run %d", ph.name, attempt+1)
			if r.killedAt != "" {
				where += " (killed " + r.killedAt + ")"
			}
			story = append(story, where)
			where = strings.Join(story, " → ")
			t.Logf("%s %s: exit %d in %v", sc.name, where, r.exitCode, time.Since(began).Round(time.Millisecond))
			if os.Getenv("KEYCEREMONY_CRASH_VERBOSE") != "" {
				t.Logf("output:\n%s", r.output)
			}
			if p != nil && r.killedAt != "" && p.restartEmulator {
				w.restartEmulator()
			}
			lines[ph.name] += countLines(ph.journal) - before
			writes[ph.name] += r.writes
			switch {
			case r.timedOut:
				vs = append(vs, violation{where, "hung for 2 minutes; output:\n" + tail(r.output)})
			case r.killedAt == "" && r.exitCode == 0:
				finished = true
			case r.killedAt == "" && attempt >= len(kills):
				// A rerun that refuses: the same command is tried again
				// (as the officers would) a few times before it is a finding.
				refused = fmt.Sprintf("%s: the rerun did not finish (exit %d): %s", where, r.exitCode, tail(r.output))
			}
			vs = append(vs, inv.check(where, ph, finished)...)
		}
		if !finished {
			vs = append(vs, violation{ph.name, "never finished (later phases not run); " + refused})
			return lines, writes, vs
		}
	}
	return lines, writes, vs
}

// tail is the last lines of a run's output: what it said when it stopped.
func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 2 {
		lines = lines[len(lines)-2:]
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "…"
		}
	}
	return strings.Join(lines, " | ")
}

// invariants remembers what was seen so far in a trial.
type invariants struct {
	w          *world
	sc         scenario
	held       map[string]map[string]bool // key → credentials (base64url) it held at the last look
	master     map[string][]byte          // key → its master key at the last look (a reset changes it)
	registered map[string]bool            // credentials the tenant ever had a method for
}

func newInvariants(w *world, sc scenario) *invariants {
	inv := &invariants{w: w, sc: sc, held: map[string]map[string]bool{}, master: map[string][]byte{}, registered: map[string]bool{}}
	o := w.observe()
	for _, k := range w.keys {
		inv.held[k.name] = map[string]bool{}
		inv.master[k.name] = o.keys[k.name].MasterKey
		for _, c := range o.keys[k.name].Credentials {
			inv.held[k.name][b64(c.ID)] = true
		}
	}
	for _, ms := range o.tenant.Methods {
		for _, m := range ms {
			inv.registered[strings.TrimRight(m.CredentialID, "=")] = true
		}
	}
	return inv
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// check judges the ground truth after a run of ph (finished: it said done).
func (inv *invariants) check(where string, ph phase, finished bool) []violation {
	w := inv.w
	o := w.observe()
	var vs []violation
	bad := func(format string, a ...any) { vs = append(vs, violation{where, fmt.Sprintf(format, a...)}) }
	onKeys := map[string]string{}
	for _, k := range w.keys {
		st := o.keys[k.name]
		now := map[string]bool{}
		for _, c := range st.Credentials {
			now[b64(c.ID)] = true
			onKeys[b64(c.ID)] = k.name
		}
		// No reset of a key that held this run's credential (its master
		// key changes only with a reset); no registered credential lost. A
		// resident credential never registered may be replaced by the next
		// one for the same account (CTAP 2.1 authenticatorMakeCredential: a
		// discoverable credential for the same RP ID and user ID is
		// overwritten): that is not a reset.
		if !bytes.Equal(st.MasterKey, inv.master[k.name]) && len(inv.held[k.name]) > 0 {
			var lost []string
			for c := range inv.held[k.name] {
				lost = append(lost, short(c))
			}
			bad("%s was reset while it held this run's credential %s", k.name, strings.Join(lost, ", "))
		}
		for c := range inv.held[k.name] {
			if !now[c] && inv.registered[c] {
				bad("%s no longer holds credential %s, which was registered in the tenant", k.name, short(c))
			}
		}
		inv.held[k.name], inv.master[k.name] = now, st.MasterKey
		if k.knownPIN != "" {
			if !o.opens(k) {
				bad("last year's key %s no longer opens with its PIN", k.name)
			}
			continue
		}
		// One credential per key.
		if len(st.Credentials) > 1 {
			bad("%s holds %d credentials, want at most 1", k.name, len(st.Credentials))
		}
		// Every PIN is the two halves: a key with this run's credential has
		// its officers' PIN; no key ever gets another slot's PIN.
		mine := bytes.Equal(st.PINVerifier, pinVerifier(k.halfA+k.halfB))
		if len(st.Credentials) > 0 && !mine {
			bad("%s holds a credential but its PIN is not its two halves", k.name)
		}
		for _, other := range w.keys {
			if other.knownPIN == "" && other.halfA+other.halfB != k.halfA+k.halfB && bytes.Equal(st.PINVerifier, pinVerifier(other.halfA+other.halfB)) {
				bad("%s has the PIN of %s's halves", k.name, other.name)
			}
		}
		if st.PINRetries <= 3 {
			bad("%s has %d PIN retries left: the last retries were spent", k.name, st.PINRetries)
		}
	}
	// The tenant: every method is a credential a key holds, and the account
	// never has fewer working keys than before.
	for upn, uid := range w.users {
		for _, m := range o.tenant.Methods[uid] {
			inv.registered[strings.TrimRight(m.CredentialID, "=")] = true
			if _, ok := onKeys[strings.TrimRight(m.CredentialID, "=")]; !ok {
				bad("%s has method %q (%s) for credential %s, which no key holds", upn, m.DisplayName, m.ID, short(m.CredentialID))
			}
		}
		if o.working[upn] < w.before[upn] {
			bad("%s has %d working keys, fewer than the %d it had before", upn, o.working[upn], w.before[upn])
		}
	}
	var journals []string
	if ph.journal != "" {
		journals, _ = filepath.Glob(ph.journal)
	}
	for _, j := range journals {
		if _, err := ceremony.ReadJournal(j); err != nil {
			bad("journal %s does not verify: %v", j, err)
		}
	}
	if finished {
		for _, rp := range ph.reports {
			r := w.execute([]string{w.bin, "report", "verify", "--rehearsal", rp}, nil, nil, nil)
			if r.exitCode != 0 {
				bad("the run said done but %s does not verify: %s", rp, tail(r.output))
			}
		}
		vs = append(vs, inv.done(where, ph, o)...)
	}
	return vs
}

// done: once a phase that registers says done, every new key holds one
// credential, and the account's methods are exactly its new keys' (and
// last year's, unless the job retires it).
func (inv *invariants) done(where string, ph phase, o *observation) []violation {
	var vs []violation
	w := inv.w
	if !ph.graph {
		for _, k := range w.keys {
			if k.knownPIN == "" && len(o.keys[k.name].Credentials) != 1 {
				vs = append(vs, violation{where, fmt.Sprintf("done, but %s holds %d credentials", k.name, len(o.keys[k.name].Credentials))})
			}
		}
		return vs
	}
	for a := 1; a <= inv.sc.accounts; a++ {
		upn := fmt.Sprintf("breakglass%d@contoso.onmicrosoft.com", a)
		want := map[string]bool{}
		for _, k := range w.keys {
			if !strings.HasPrefix(k.name, fmt.Sprintf("acct%d-", a)) || (k.knownPIN != "" && inv.sc.retire) {
				continue
			}
			for _, c := range o.keys[k.name].Credentials {
				want[b64(c.ID)] = true
			}
		}
		got := map[string]bool{}
		for _, m := range o.tenant.Methods[w.users[upn]] {
			got[strings.TrimRight(m.CredentialID, "=")] = true
		}
		for c := range want {
			if !got[c] {
				vs = append(vs, violation{where, fmt.Sprintf("done, but %s has no method for credential %s on its key", upn, short(c))})
			}
		}
		for c := range got {
			if !want[c] {
				vs = append(vs, violation{where, fmt.Sprintf("done, but %s still has a method for credential %s", upn, short(c))})
			}
		}
	}
	return vs
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// slotKey maps a prompt's slot to account acct's key.
func slotKey(w *world, acct int) func(int) *key {
	return func(slot int) *key {
		for _, k := range w.keys {
			if k.name == fmt.Sprintf("acct%d-key%d", acct, slot) {
				return k
			}
		}
		return w.keys[0]
	}
}

var reFingerprint = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]{43}`)

// scenarios are the jobs the crash test kills: the offline split, the
// ceremony, and a sitting of two accounts.
func scenarios() []scenario {
	return []scenario{
		{name: "offline", accounts: 1, withOld: true, phases: offlinePhases},
		{name: "ceremony", accounts: 1, withOld: true, retire: true, phases: ceremonyPhases(1)},
		{name: "sitting", accounts: 2, withOld: true, retire: true, phases: ceremonyPhases(2)},
	}
}

// offlinePhases: the connected machine exports (once, not killed), the
// workstation creates (journaled beside results.json), the connected
// machine registers (tenant writes).
func offlinePhases(w *world) []phase {
	if w == nil {
		return []phase{{name: "offline create"}, {name: "offline register"}}
	}
	t := w.t
	dir := filepath.Join(w.dir, "offline")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	conn, ws := filepath.Join(dir, "connected.key"), filepath.Join(dir, "workstation.key")
	options, results := filepath.Join(dir, "options.json"), filepath.Join(dir, "results.json")
	r := w.execute(append([]string{w.bin, "offline", "export", "--software-key", conn, "--user", "breakglass1@contoso.onmicrosoft.com",
		"--keys", "2", "--out", options}, w.signIn()...), nil, nil, nil)
	if r.exitCode != 0 {
		t.Fatalf("offline export: %s", r.output)
	}
	connFP := reFingerprint.FindString(r.output)
	// The workstation's fingerprint, as register needs it: its key is made
	// here first (report key prints it), as the officers would carry it.
	r = w.execute([]string{w.bin, "report", "key", "--software-key", ws}, nil, nil, nil)
	wsFP := reFingerprint.FindString(r.output)
	if r.exitCode != 0 || connFP == "" || wsFP == "" {
		t.Fatalf("fingerprints: %q %q\n%s", connFP, wsFP, r.output)
	}
	create := []string{w.bin, "offline", "create", "--software-key", ws, "--options", options, "--trust", connFP, "--out", results,
		"--rehearsal", "--yes", "--device", slotKey(w, 1)(1).addr(), "--device", slotKey(w, 1)(2).addr()}
	register := append([]string{w.bin, "offline", "register", "--software-key", conn, "--options", options, "--results", results,
		"--trust", wsFP}, w.signIn()...)
	if strings.Contains(w.registerHelp(), "\n  -rehearsal") { // issue 23: register judges itself, --rehearsal for a rehearsal's results
		register = append(register, "--rehearsal")
	}
	return []phase{
		{name: "offline create", argv: create, journal: results + ".journal.jsonl", account: slotKey(w, 1)},
		{name: "offline register", argv: register, account: slotKey(w, 1), graph: true},
	}
}

// registerHelp is `offline register -h` of this build.
func (w *world) registerHelp() string {
	return w.execute([]string{w.bin, "offline", "register", "-h"}, nil, nil, nil).output
}

// ceremonyPhases: the ceremony of accounts accounts, run by the child
// process (this test binary, see TestMain) with the same command each time.
func ceremonyPhases(accounts int) func(w *world) []phase {
	return func(w *world) []phase {
		if w == nil {
			return []phase{{name: "ceremony"}}
		}
		out := filepath.Join(w.dir, "out")
		spec := childSpec{Out: out, TenantID: w.tenantID, URL: w.url, Cert: filepath.Join(w.emuDir, "emulated-app.pem"),
			CA: filepath.Join(w.emuDir, "emulator-ca.pem"), SoftwareKey: filepath.Join(w.dir, "workstation.key")}
		var reports []string
		for a := 1; a <= accounts; a++ {
			upn := fmt.Sprintf("breakglass%d@contoso.onmicrosoft.com", a)
			acc := childAccount{UPN: upn, Devices: []string{slotKey(w, a)(1).addr(), slotKey(w, a)(2).addr()}, OutDir: out}
			if accounts > 1 {
				acc.OutDir = filepath.Join(out, upn)
			}
			spec.Accounts = append(spec.Accounts, acc)
			reports = append(reports, filepath.Join(acc.OutDir, report.FileReport))
		}
		specPath := filepath.Join(w.dir, "child.json")
		writeSpec(w.t, specPath, spec)
		self, err := os.Executable()
		if err != nil {
			w.t.Fatal(err)
		}
		current := 1
		ph := phase{name: "ceremony", argv: []string{self, "-test.run=^$"}, env: []string{childEnv + "=" + specPath},
			journal: filepath.Join(spec.Accounts[0].OutDir, "journal.jsonl"), reports: reports, graph: true}
		// The prompts name the slot; the account is the first without a report.
		ph.account = func(slot int) *key {
			for a := 1; a <= accounts; a++ {
				if _, err := os.Stat(reports[a-1]); err != nil {
					current = a
					break
				}
			}
			return slotKey(w, current)(slot)
		}
		if accounts > 1 { // kill points count the lines of every account's journal
			ph.journal = filepath.Join(out, "*", "journal.jsonl")
		}
		return []phase{ph}
	}
}
