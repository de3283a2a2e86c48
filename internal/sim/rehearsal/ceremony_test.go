package rehearsal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/testenv"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

const (
	officerA = "Alice Officer"
	officerB = "Bob Officer"
)

type bench struct {
	t        *testing.T
	dir      string
	tenant   *emulated.Tenant
	devices  *rehearsal.Devices
	prompter *rehearsal.Prompter
	signer   workstation.Signer
	journal  string
	userID   string
}

func newBench(t *testing.T) *bench {
	t.Helper()
	return newBenchWith(t, simkey.Config{TouchDelay: time.Millisecond}, "00000000")
}

// newBenchWith is newBench with keys of cfg whose last year's PIN is oldPIN.
func newBenchWith(t *testing.T, cfg simkey.Config, oldPIN string) *bench {
	t.Helper()
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	devs, err := rehearsal.NewDevices(2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Last year's keys: a PIN and a credential on each, to be wiped.
	for slot := 1; slot <= 2; slot++ {
		devs.Plug(slot)
		k := devs.Key(slot)
		c := ctap.NewClient(k, ctap.Options{})
		if err := c.SetPIN(context.Background(), []byte(oldPIN)); err != nil {
			t.Fatal(err)
		}
	}
	devs.Key(2).Unplug()
	signer, _ := workstation.NewRehearsal()
	b := &bench{t: t, dir: dir, tenant: ten, devices: devs, prompter: rehearsal.NewPrompter(devs, nil), signer: signer,
		journal: filepath.Join(dir, "journal.jsonl"), userID: ten.Emu.Snapshot().Users[0].ID}
	// Last year's key, to be retired.
	ten.Emu.Update(func(st *graphemu.State) {
		st.Methods[b.userID] = append(st.Methods[b.userID], &graphemu.Method{ID: "old-key-2025", DisplayName: "Break glass key 1 (2025)",
			AAGUID: "2fc0579f-8113-47ea-b116-bb5a8db9202a", CreatedDateTime: time.Now().AddDate(-1, 0, 0), AttestationLevel: "attested", CredentialID: "b2xk"})
	})
	return b
}

func (b *bench) engine(g ceremony.Graph, resume bool) *ceremony.Engine {
	b.t.Helper()
	return b.engineWith(g, resume, nil, b.prompter)
}

// engineWith is engine with a change to the config and another prompter.
func (b *bench) engineWith(g ceremony.Graph, resume bool, change func(*ceremony.Config), p officer.Prompter) *ceremony.Engine {
	b.t.Helper()
	var j *ceremony.Journal
	var err error
	if resume {
		j, err = ceremony.OpenOrCreateJournal(b.journal, true)
	} else {
		j, err = ceremony.CreateJournal(b.journal, time.Now)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { j.Close() })
	pol, _ := attest.LoadPolicy("")
	if g == nil {
		g = b.tenant.Client
	}
	cfg := ceremony.Config{
		Account: "breakglass1@contoso.onmicrosoft.com", TenantID: b.tenant.TenantID, OfficerA: officerA, OfficerB: officerB,
		Keys: 2, Reset: true, Retire: true, Verifier: rehearsal.Verifier(pol), Rehearsal: true,
		Signer: b.signer, Tool: report.Tool{Version: "test"}, Hostname: "test-ws", OutDir: filepath.Join(b.dir, "report"),
	}
	if change != nil {
		change(&cfg)
	}
	e, err := ceremony.New(cfg, j, b.devices, g, p)
	if err != nil {
		b.t.Fatal(err)
	}
	return e
}

func (b *bench) methods() []*graphemu.Method { return b.tenant.Emu.Snapshot().Methods[b.userID] }

// checkFinished asserts the end state of a successful ceremony.
func (b *bench) checkFinished(res *ceremony.Result) {
	t := b.t
	t.Helper()
	ms := b.methods()
	if len(ms) != 2 {
		t.Fatalf("the account has %d FIDO2 methods, want the 2 new ones: %+v", len(ms), ms)
	}
	for _, m := range ms {
		if m.ID == "old-key-2025" || m.AAGUID != simkey.DefaultAAGUID().String() {
			t.Fatalf("unexpected method %+v", m)
		}
	}
	if len(res.Retired) != 1 || res.Retired[0] != "old-key-2025" {
		t.Fatalf("retired %v", res.Retired)
	}
	body, _ := os.ReadFile(filepath.Join(res.Dir, report.FileReport))
	sig, _ := os.ReadFile(filepath.Join(res.Dir, report.FileSignature))
	pub, _ := b.signer.SSHPublicKey()
	r, err := report.Verify(body, sig, pub, report.VerifyOptions{Rehearsal: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Keys) != 2 || r.Keys[0].GraphMethodID == "" || len(r.Retired) != 1 || r.Account.ObjectID != b.userID {
		t.Fatalf("report %+v", r)
	}
	// Each key reset exactly once, each registration done exactly once.
	entries, err := ceremony.ReadJournal(b.journal)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range entries {
		if e.Phase == "done" {
			count[e.Step]++
		}
	}
	for _, s := range []string{"key1/reset", "key2/reset", "key1/enroll", "key2/enroll"} {
		if count[s] != 1 {
			t.Fatalf("%s done %d times", s, count[s])
		}
	}
	// No PIN anywhere on disk: journal and report files.
	for slot := 1; slot <= 2; slot++ {
		pin := b.prompter.PIN(slot, officerA, officerB)
		if len(pin) != 8 {
			t.Fatalf("PIN of key %d not made", slot)
		}
		filepath.Walk(b.dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return nil
			}
			data, _ := os.ReadFile(p)
			if bytes.Contains(data, pin) {
				t.Errorf("%s contains the PIN of key %d", p, slot)
			}
			return nil
		})
	}
}

func TestHeadlessCeremonyEndToEnd(t *testing.T) {
	b := newBench(t)
	res, err := b.engine(nil, false).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.checkFinished(res)
	// Two-person control: both officers confirmed each state change.
	confirms := map[string]int{}
	for _, a := range b.prompter.Asked {
		if strings.HasPrefix(a, "confirm (") {
			confirms[a[len("confirm ("):strings.Index(a, ")")]]++
		}
	}
	if confirms[officerA] != confirms[officerB] || confirms[officerA] < 8 {
		t.Fatalf("confirmations %v", confirms)
	}
	if b.prompter.Touches == 0 {
		t.Fatal("nobody was asked to touch a key")
	}
}

// killingGraph "kills the process" right after Graph accepted the POST,
// before the engine can write its journal line.
type killingGraph struct {
	ceremony.Graph
	killAfterRegister bool
}

type killed struct{}

func (k *killingGraph) Register(ctx context.Context, userID, name string, cred enroll.Credential) (*enroll.Method, error) {
	m, err := k.Graph.Register(ctx, userID, name, cred)
	if k.killAfterRegister {
		k.killAfterRegister = false
		panic(killed{})
	}
	return m, err
}

func TestKilledBetweenPOSTAndJournalResumesWithoutDuplicate(t *testing.T) {
	b := newBench(t)
	kg := &killingGraph{Graph: b.tenant.Client, killAfterRegister: true}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(killed); !ok {
					panic(r)
				}
			}
		}()
		b.engine(kg, false).Run(context.Background())
		t.Fatal("the process was not killed")
	}()
	if n := len(b.methods()); n != 2 { // the old one and the first new one
		t.Fatalf("%d methods after the kill", n)
	}
	res, err := b.engine(nil, true).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.checkFinished(res)
}

// A key pulled out at any CTAP command of its provisioning (before or
// after the key acted on it) is waited for: the officers are asked to plug
// it back in, and the steps go on from the journal, never repeating a reset
// or a registration (checkFinished counts them).
func TestYankedKeyAtEachStepIsWaitedFor(t *testing.T) {
	for _, after := range []bool{false, true} {
		for n := 1; n <= 16; n++ {
			b := newBench(t)
			b.devices.Key(1).YankAt(n, after)
			res, err := b.engine(nil, false).Run(context.Background())
			if err != nil {
				t.Fatalf("yank at command %d (after=%v): %v", n, after, err)
			}
			b.checkFinished(res)
			if !strings.Contains(strings.Join(b.prompter.Asked, "\n"), "insert key 1") {
				t.Fatalf("yank at command %d: key 1 was not asked for again: %q", n, b.prompter.Asked)
			}
		}
	}
}

// Another key of the same model plugged in after key 1 was yanked: once
// key 1's credential exists, the other key is refused (it does not hold
// that credential); before, it is simply provisioned in its place, its
// credential created once.
func TestAnotherKeyAfterAYankIsRefused(t *testing.T) {
	refused := 0
	for n := 1; n <= 16; n++ {
		b := newBench(t)
		other, err := simkey.New(simkey.Config{TouchDelay: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		swapper := &swapOnReinsert{Prompter: b.prompter, devices: b.devices, key: other}
		b.devices.Key(1).YankAt(n, true)
		_, err = b.engineWith(nil, false, nil, swapper).Run(context.Background())
		entries, _ := ceremony.ReadJournal(b.journal)
		created := 0
		for _, e := range entries {
			if e.Step == "key1/created" && e.Phase == "done" {
				created++
			}
		}
		switch {
		case err != nil && strings.Contains(err.Error(), "not the key 1 that created credential"):
			refused++
		case err != nil:
			t.Fatalf("yank at %d, another key: %v", n, err)
		case created != 1:
			t.Fatalf("yank at %d: the other key was accepted after key 1's credential was created (%d created)", n, created)
		}
	}
	if refused == 0 {
		t.Fatal("no yank point fell between the credential's creation and its test")
	}
}

// swapOnReinsert puts another key in slot 1 when it is asked for again.
type swapOnReinsert struct {
	*rehearsal.Prompter
	devices *rehearsal.Devices
	key     *simkey.Key
	inserts int
}

func (s *swapOnReinsert) Instruct(ctx context.Context, in officer.Instruction) error {
	if in.Kind == officer.Insert && in.Slot == 1 {
		if s.inserts++; s.inserts == 2 {
			s.devices.Swap(1, s.key)
		}
	}
	return s.Prompter.Instruct(ctx, in)
}

func TestGraphFaultsAtEachCall(t *testing.T) {
	for _, path := range []string{"/users/", "/creationOptions", "/fido2Methods"} {
		for _, kind := range []graphemu.FaultKind{graphemu.FaultThrottle, graphemu.FaultUnavailable, graphemu.FaultDropAfterCommit} {
			b := newBench(t)
			b.tenant.Emu.Inject(graphemu.Fault{Path: path, Kind: kind, Count: 2})
			res, err := b.engine(nil, false).Run(context.Background())
			if err != nil {
				// A clear stop is allowed; the resume must then finish.
				res, err = b.engine(nil, true).Run(context.Background())
				if err != nil {
					t.Fatalf("%s %v: %v", path, kind, err)
				}
			}
			b.checkFinished(res)
		}
	}
}

func TestDeclinedConfirmationStopsAndResumes(t *testing.T) {
	b := newBench(t)
	b.prompter.Decline = func(officer, action string) bool {
		return officer == officerB && strings.HasPrefix(action, "register key 2")
	}
	_, err := b.engine(nil, false).Run(context.Background())
	if !errors.Is(err, officer.ErrAbandoned) {
		t.Fatalf("declined: %v", err)
	}
	if n := len(b.methods()); n != 2 {
		t.Fatalf("%d methods after stopping before key 2's registration", n)
	}
	// Issue 30: the journal records who refused which step.
	entries, err := ceremony.ReadJournal(b.journal)
	if err != nil {
		t.Fatal(err)
	}
	if last := entries[len(entries)-1]; last.Step != "refused-confirmation" || last.Data["refused_by"] != officerB ||
		!strings.HasPrefix(last.Data["action"], "register key 2") {
		t.Fatalf("the journal's last entry after the refusal: %+v", last)
	}
	b.prompter.Decline = nil
	res, err := b.engine(nil, true).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.checkFinished(res)
}

// carelessPrompter plugs key 2 in as well whenever key 1 is asked for.
type carelessPrompter struct{ *rehearsal.Prompter }

func (c carelessPrompter) Instruct(ctx context.Context, in officer.Instruction) error {
	if err := c.Prompter.Instruct(ctx, in); err != nil {
		return err
	}
	if in.Slot == 1 {
		return c.Devices.PlugAlso(2)
	}
	return nil
}

func TestSecondKeyPluggedInIsRefused(t *testing.T) {
	b := newBench(t)
	j, _ := ceremony.CreateJournal(b.journal, time.Now)
	defer j.Close()
	pol, _ := attest.LoadPolicy("")
	e, _ := ceremony.New(ceremony.Config{Account: "breakglass1@contoso.onmicrosoft.com", OfficerA: officerA, OfficerB: officerB, Keys: 2,
		Verifier: rehearsal.Verifier(pol), Rehearsal: true, Signer: b.signer, OutDir: filepath.Join(b.dir, "r")},
		j, b.devices, b.tenant.Client, carelessPrompter{b.prompter})
	_, err := e.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exactly one security key") {
		t.Fatalf("two keys plugged in: %v", err)
	}
	if n := len(b.methods()); n != 1 {
		t.Fatalf("%d methods: something was registered", n)
	}
}

// BenchmarkHeadlessRehearsal is the whole rehearsal: emulator and sign-in,
// two keys reset, PIN, create, attest, enroll, test, retire, signed report.
func BenchmarkHeadlessRehearsal(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		ten, err := emulated.Start(emulated.Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		devs, _ := rehearsal.NewDevices(2, simkey.Config{TouchDelay: time.Millisecond})
		signer, _ := workstation.NewRehearsal()
		j, _ := ceremony.CreateJournal(filepath.Join(dir, "journal.jsonl"), time.Now)
		pol, _ := attest.LoadPolicy("")
		e, err := ceremony.New(ceremony.Config{Account: "breakglass1@contoso.onmicrosoft.com", OfficerA: officerA, OfficerB: officerB, Keys: 2,
			Reset: true, Retire: true, Verifier: rehearsal.Verifier(pol), Rehearsal: true, Signer: signer,
			OutDir: filepath.Join(dir, "out")}, j, devs, ten.Client, rehearsal.NewPrompter(devs, nil))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		j.Close()
		ten.Close()
	}
}

// The headless ceremony with the report signed by a key held in swtpm.
func TestHeadlessCeremonyWithSwtpm(t *testing.T) {
	swtpm := testenv.Tool(t, "swtpm", "swtpm")
	b := newBench(t)
	sockDir := t.TempDir()
	sock := filepath.Join(sockDir, "tpm.sock")
	cmd := exec.Command(swtpm, "socket", "--tpm2", "--tpmstate", "dir="+sockDir, "--server", "type=unixio,path="+sock,
		"--ctrl", "type=unixio,path="+filepath.Join(sockDir, "ctrl.sock"), "--flags", "not-need-init,startup-clear")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	signer, closeTPM, err := workstation.Open("swtpm:"+sock, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer closeTPM()
	b.signer = signer
	res, err := b.engine(nil, false).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.checkFinished(res)
	body, _ := os.ReadFile(filepath.Join(res.Dir, report.FileReport))
	r, _ := report.Parse(body)
	if r.Workstation.SignerKind != "tpm" {
		t.Fatalf("signed by %s", r.Workstation.SignerKind)
	}
}

// halvesOfficers type the PIN halves they are told to: the halves of the
// PIN a key has (current), then for a new PIN each entry of fresh in turn.
type halvesOfficers struct {
	*rehearsal.Prompter
	current string
	fresh   []string
	asked   []string // "new" or "current", in order
	log     []string
}

func (h *halvesOfficers) PINHalf(_ context.Context, slot int, name string, newPIN bool) ([]byte, error) {
	if !newPIN {
		h.asked = append(h.asked, "current")
		return []byte(h.current), nil
	}
	h.asked = append(h.asked, "new")
	half := h.fresh[0]
	if len(h.fresh) > 1 {
		h.fresh = h.fresh[1:]
	}
	return []byte(half), nil
}

func (h *halvesOfficers) Progress(step, detail string) {
	h.log = append(h.log, step+" "+detail)
	h.Prompter.Progress(step, detail)
}

// The minimum PIN length (policy 10 here) is said before the halves are
// typed and checked on the joined PIN before anything reaches the key: a
// PIN of 8 asks both halves again, and the ceremony goes on.
func TestShortPINReasksBothHalves(t *testing.T) {
	b := newBench(t)
	h := &halvesOfficers{Prompter: b.prompter, fresh: []string{"1234", "1234", "123456"}}
	res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.MinPINLength = 10 }, h).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	said, again := -1, -1
	for i, l := range h.log {
		if strings.Contains(l, "key1/pin the new PIN must have at least 10 characters") && said < 0 {
			said = i
		}
		if strings.Contains(l, "key1/pin the joined PIN is not accepted") && again < 0 {
			again = i
		}
	}
	if said < 0 || again < said {
		t.Fatalf("the minimum was not said first, or the short PIN not refused: %q", h.log)
	}
	if n := strings.Count(strings.Join(h.asked, " "), "new"); n != 2+2+2 { // key 1: 2 short, 2 good; key 2: 2 good
		t.Fatalf("halves asked %v", h.asked)
	}
}

// A key left demanding a new PIN (forcePINChange) by an earlier run is
// recognised: the officers give the current halves, then new ones, and the
// PIN is changed; nothing loops.
func TestForcePINChangeIsChangedNotStuck(t *testing.T) {
	b := newBench(t)
	ctx := context.Background()
	for slot := 1; slot <= 2; slot++ {
		b.devices.Plug(slot)
		c := ctap.NewClient(b.devices.Key(slot), ctap.Options{})
		tok, err := c.GetPINToken(ctx, []byte("00000000"), ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetMinPINLength(ctx, tok, 8, true); err != nil {
			t.Fatal(err)
		}
		if info, _ := c.Info(ctx); !info.ForcePINChange {
			t.Fatal("the key does not demand a new PIN")
		}
	}
	h := &halvesOfficers{Prompter: b.prompter, current: "0000", fresh: []string{"5678"}}
	res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Reset, c.Retire = false, true }, h).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Methods) != 2 || !strings.Contains(strings.Join(h.log, "\n"), "PIN changed from two new halves") {
		t.Fatalf("methods %v, log %q", res.Methods, h.log)
	}
	if info, _ := ctap.NewClient(b.devices.Key(2), ctap.Options{}).Info(ctx); info.ForcePINChange {
		t.Fatal("the key still demands a new PIN")
	}
}

// slowOfficers take too long after the first re-plug of each key.
type slowOfficers struct {
	*rehearsal.Prompter
	slowFor map[int]bool
	replugs []string
}

func (s *slowOfficers) Instruct(ctx context.Context, in officer.Instruction) error {
	err := s.Prompter.Instruct(ctx, in)
	if in.Kind == officer.Replug {
		s.replugs = append(s.replugs, in.Text)
		if !s.slowFor[in.Slot] {
			s.slowFor[in.Slot] = true
			time.Sleep(400 * time.Millisecond) // past the key's reset window
		}
	}
	return err
}

// A reset missed its power-up window (CTAP2_ERR_NOT_ALLOWED): the officers
// are asked to re-plug and answer within 10 s, as often as needed, and the
// ceremony goes on; the journal records the late attempt as failed.
func TestMissedResetWindowAsksToReplugAgain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env, err := rehearsal.Setup(ctx, dir, simkey.Config{TouchDelay: time.Millisecond, ResetWindow: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	p := &slowOfficers{Prompter: rehearsal.NewPrompter(env.Devices, nil), slowFor: map[int]bool{}}
	journal := filepath.Join(dir, "journal.jsonl")
	j, err := ceremony.CreateJournal(journal, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	e, err := ceremony.New(env.CeremonyConfig(filepath.Join(dir, "report"), report.Tool{Version: "test"}), j, env.Devices, env.Tenant.Client, p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Methods) != 2 || len(p.replugs) != 4 || !strings.Contains(p.replugs[1], "within 10 s") {
		t.Fatalf("methods %v, re-plug instructions %q", res.Methods, p.replugs)
	}
	failed := 0
	entries, err := ceremony.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if strings.HasSuffix(en.Step, "/reset") && en.Phase == "failed" {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("%d late resets recorded, want 2", failed)
	}
}

// The passkey policy is read before any touch: a profile that blocks the
// key's model for the account's group stops the ceremony at the key's
// insertion, naming the profile and the AAGUID; nothing is reset or
// registered. A policy that would take none of the allowed models stops
// it in preflight.
func TestEntraPolicyPredictedBeforeTheFirstTouch(t *testing.T) {
	sim := simkey.DefaultAAGUID().String()
	block := func(aaguids []string) func(st *graphemu.State) {
		return func(st *graphemu.State) {
			st.Groups = append(st.Groups, graphemu.Group{ID: "g-bg", DisplayName: "Break glass", Members: []string{st.Users[0].ID}})
			st.FIDO2.IncludeTargetIDs = []string{"g-bg"}
			st.FIDO2.DefaultProfile = "default"
			st.FIDO2.PasskeyProfiles = []graphemu.PasskeyProfile{{ID: "default", Name: "Default passkey profile", PasskeyTypes: "deviceBound",
				AttestationEnforcement: "registrationOnly", KeyRestrictionsEnforced: true, EnforcementType: "block", AAGUIDs: aaguids}}
		}
	}
	t.Run("the key's model", func(t *testing.T) {
		b := newBench(t)
		b.tenant.Emu.Update(block([]string{sim}))
		_, err := b.engine(nil, false).Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "Entra would not register key 1 (AAGUID "+sim) || !strings.Contains(err.Error(), `"Default passkey profile"`) {
			t.Fatalf("%v", err)
		}
		entries, _ := ceremony.ReadJournal(b.journal)
		for _, en := range entries {
			if strings.HasSuffix(en.Step, "/reset") || strings.HasSuffix(en.Step, "/enroll") {
				t.Fatalf("the ceremony acted on a key Entra would refuse: %s %s", en.Step, en.Phase)
			}
		}
	})
	t.Run("every allowed model", func(t *testing.T) {
		b := newBench(t)
		pol, _ := attest.LoadPolicy("")
		all := []string{sim}
		for _, m := range pol.Allowed {
			all = append(all, m.AAGUID)
		}
		b.tenant.Emu.Update(block(all))
		_, err := b.engine(nil, false).Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "preflight: Entra would register none of the models") {
			t.Fatalf("%v", err)
		}
		if len(b.prompter.Asked) > 0 && strings.Contains(strings.Join(b.prompter.Asked, "\n"), "insert key") {
			t.Fatal("a key was asked for")
		}
	})
}

// Posture findings of the preflight audit are shown before the officers
// confirm the start, and kept in the signed report.
func TestPostureFindingsShownAndReported(t *testing.T) {
	b := newBench(t)
	finding := "Conditional Access (finding): the account is not excluded from: \"Admins\" (through role Global Administrator)"
	rec := &recordingOfficers{Prompter: b.prompter}
	res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.PostureFindings = []string{finding} }, rec).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	asked := strings.Join(rec.seen, "\n")
	if i, j := strings.Index(asked, "POSTURE FINDING: "+finding), strings.Index(asked, "start the ceremony"); i < 0 || j < i {
		t.Fatalf("the finding was not shown before the start:\n%s", asked)
	}
	body, _ := os.ReadFile(filepath.Join(res.Dir, report.FileReport))
	r, _ := report.Parse(body)
	if r == nil || !slices.Contains(r.Findings, finding) {
		t.Fatalf("report findings %v", r.Findings)
	}
}

// recordingOfficers keep, in order, what they were shown and asked.
type recordingOfficers struct {
	*rehearsal.Prompter
	seen []string
}

func (r *recordingOfficers) Progress(step, detail string) {
	r.seen = append(r.seen, detail)
	r.Prompter.Progress(step, detail)
}

func (r *recordingOfficers) Confirm(ctx context.Context, name, action string) error {
	r.seen = append(r.seen, action)
	return r.Prompter.Confirm(ctx, name, action)
}

// Generated PIN halves (the policy's choice): the tool draws each key's PIN
// and prints half A, waits for officer A to seal it, then prints half B.
// The joined PIN is the key's (a PIN token is granted with it); the report
// says the halves were generated and never holds them; no file the
// ceremony wrote and nothing the officers were shown holds either half.
// The PINs are 16 digits (policy minimum 16) so that an 8-digit half
// cannot turn up in a report's hex by chance.
func TestGeneratedPINHalvesSealedApart(t *testing.T) {
	b := newBench(t)
	var printed []envelope.Half
	var shown bytes.Buffer
	p := rehearsal.NewPrompter(b.devices, &shown)
	res, err := b.engineWith(nil, false, func(c *ceremony.Config) {
		c.GeneratedPIN, c.MinPINLength = true, 16
		c.PrintHalf = func(_ context.Context, h envelope.Half) error {
			h.Digits = append([]byte(nil), h.Digits...) // the engine zeroes its copy
			printed = append(printed, h)
			p.Progress("printer", fmt.Sprintf("page for half %s of key %d", h.Part, h.Slot))
			return nil
		}
	}, p).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(printed) != 4 {
		t.Fatalf("%d pages printed, want 2 keys × 2 halves", len(printed))
	}
	// Half B of a key is printed only after officer A confirmed sealing A.
	sealA := slices.IndexFunc(p.Asked, func(s string) bool {
		return strings.HasPrefix(s, "confirm ("+officerA+"): take the page with PIN half A of key 1")
	})
	sealB := slices.IndexFunc(p.Asked, func(s string) bool {
		return strings.HasPrefix(s, "confirm ("+officerB+"): take the page with PIN half B of key 1")
	})
	if sealA < 0 || sealB < sealA {
		t.Fatalf("sealing confirmations out of order or missing: %q", p.Asked)
	}
	for i, h := range printed {
		wantPart, wantOfficer := "A", officerA
		if i%2 == 1 {
			wantPart, wantOfficer = "B", officerB
		}
		if h.Part != wantPart || h.Officer != wantOfficer || h.Slot != i/2+1 || len(h.Digits) != 8 || !h.Rehearsal ||
			h.Account != "breakglass1@contoso.onmicrosoft.com" || !strings.HasPrefix(h.CeremonyID, "kc-") {
			t.Fatalf("page %d: %+v", i, h)
		}
	}
	for slot := 1; slot <= 2; slot++ {
		a, bHalf := printed[2*(slot-1)].Digits, printed[2*(slot-1)+1].Digits
		pin := append(append([]byte(nil), a...), bHalf...)
		b.devices.Plug(slot)
		tok, err := ctap.NewClient(b.devices.Key(slot), ctap.Options{}).GetPINToken(context.Background(), pin,
			ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "login.microsoft.com"})
		if err != nil {
			t.Fatalf("key %d does not take the joined generated PIN: %v", slot, err)
		}
		tok.Zero()
		for _, secret := range [][]byte{a, bHalf} {
			if bytes.Contains(shown.Bytes(), secret) || slices.ContainsFunc(p.Asked, func(s string) bool { return strings.Contains(s, string(secret)) }) {
				t.Errorf("a half of key %d was shown to the officers", slot)
			}
			filepath.Walk(b.dir, func(path string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					if data, _ := os.ReadFile(path); bytes.Contains(data, secret) {
						t.Errorf("%s contains a PIN half of key %d", path, slot)
					}
				}
				return nil
			})
		}
	}
	body, _ := os.ReadFile(filepath.Join(res.Dir, report.FileReport))
	sig, _ := os.ReadFile(filepath.Join(res.Dir, report.FileSignature))
	pub, _ := b.signer.SSHPublicKey()
	r, err := report.Verify(body, sig, pub, report.VerifyOptions{Rehearsal: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range r.Keys {
		if !k.PINSet || !k.PINSplit || !k.PINGenerated {
			t.Errorf("report key %d: pin_set %v, pin_split %v, pin_generated %v", k.Slot, k.PINSet, k.PINSplit, k.PINGenerated)
		}
	}
	text, _ := os.ReadFile(filepath.Join(res.Dir, "report.txt"))
	if !bytes.Contains(text, []byte("set from two generated halves")) {
		t.Errorf("the printable report does not say the halves were generated")
	}
}

// Without a printer the engine refuses generated halves before any step.
func TestGeneratedPINNeedsAPrinter(t *testing.T) {
	b := newBench(t)
	j, err := ceremony.CreateJournal(filepath.Join(b.dir, "j2.jsonl"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pol, _ := attest.LoadPolicy("")
	_, err = ceremony.New(ceremony.Config{Account: "a@b", OfficerA: officerA, OfficerB: officerB, Keys: 2, Verifier: rehearsal.Verifier(pol),
		OutDir: b.dir, GeneratedPIN: true}, j, b.devices, b.tenant.Client, b.prompter)
	if err == nil || !strings.Contains(err.Error(), "printer") {
		t.Fatalf("New without PrintHalf: %v", err)
	}
}

// Key 1, freshly enrolled, offered again as key 2: the tool finds its own
// credential on it (a silent getAssertion, as a platform checks an
// excludeList) and sends it back before the reset that would have broken
// the enrolled key 1; key 2 proper is then provisioned, and key 1 still
// signs with its credential at the end.
func TestEnrolledKeyOfferedAgainIsRefusedBeforeReset(t *testing.T) {
	b := newBench(t)
	key1, key2 := b.devices.Key(1), b.devices.Key(2)
	swapped := false
	p := rehearsal.NewPrompter(b.devices, nil)
	p.Decline = func(_, action string) bool {
		// The moment key 1 is done, the officers pick it up again as key 2.
		if strings.HasPrefix(action, "register key 1") && !swapped {
			swapped = true
			b.devices.Swap(2, key1)
		}
		return false
	}
	p.Removed = func(slot int) {
		if slot == 2 {
			b.devices.Swap(2, key2) // the officer finds the right key
		}
	}
	res, err := b.engineWith(nil, false, nil, p).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	refused := slices.ContainsFunc(p.Asked, func(s string) bool {
		return strings.Contains(s, "This key is key 1 of this ceremony, not key 2")
	})
	if !swapped || !refused {
		t.Fatalf("swapped %v, refused %v: %q", swapped, refused, p.Asked)
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	// Key 1 was never reset: its enrolled credential is still on it.
	entries, _ := ceremony.ReadJournal(b.journal)
	resets := 0
	for _, e := range entries {
		if e.Step == "key2/reset" && e.Phase == "begin" {
			resets++
		}
	}
	b.devices.Swap(1, key1)
	b.devices.Plug(1)
	c := ctap.NewClient(key1, ctap.Options{})
	up := false
	r, _ := report.Parse(mustRead(t, filepath.Join(res.Dir, report.FileReport)))
	id, _ := base64.RawURLEncoding.DecodeString(r.Keys[0].CredentialID)
	sum := make([]byte, 32)
	if _, err := c.GetAssertion(context.Background(), ctap.GetAssertionOptions{RPID: enroll.RPID, ClientDataHash: sum,
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: id}}, UserPresence: &up}); err != nil {
		t.Fatalf("key 1 lost its enrolled credential: %v (key 2 resets begun: %d)", err, resets)
	}
}

// Across accounts: a key of account 1 (OtherKeys) offered for account 2 is
// named and refused, and nothing is done to it.
func TestOtherAccountsKeyIsRefused(t *testing.T) {
	b := newBench(t)
	other := b.devices.Key(1)
	c := ctap.NewClient(other, ctap.Options{})
	// Give it a credential as a ceremony for another account would have.
	tok, err := c.GetPINToken(context.Background(), []byte("00000000"), ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: enroll.RPID})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := c.MakeCredential(context.Background(), ctap.MakeCredentialOptions{ClientDataHash: make([]byte, 32),
		RP: ctap.RelyingParty{ID: enroll.RPID}, User: ctap.User{ID: []byte("account-1"), Name: "breakglass1"}, ResidentKey: true,
		CredProtect: ctap.CredProtectUVOptional, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	ad, _ := ctap.ParseAuthData(mc.AuthData)
	label := "key 2 of breakglass1@contoso.onmicrosoft.com"
	p := rehearsal.NewPrompter(b.devices, nil)
	fresh, _ := simkey.New(simkey.Config{TouchDelay: time.Millisecond})
	p.Removed = func(slot int) {
		if slot == 1 {
			b.devices.Swap(1, fresh)
		}
	}
	_, err = b.engineWith(nil, false, func(c *ceremony.Config) {
		c.OtherKeys = []ceremony.KnownKey{{Label: label, CredentialID: ad.CredentialID}}
	}, p).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Asked, func(s string) bool { return strings.Contains(s, "This key is "+label+", not key 1") }) {
		t.Fatalf("account 1's key was not named: %q", p.Asked)
	}
	other.Plug()
	up := false
	if _, err := ctap.NewClient(other, ctap.Options{}).GetAssertion(context.Background(), ctap.GetAssertionOptions{RPID: enroll.RPID,
		ClientDataHash: make([]byte, 32), AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}}, UserPresence: &up}); err != nil {
		t.Fatalf("account 1's key lost its credential: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A key that will not answer the silent probe (alwaysUv: PUAT_REQUIRED
// without a PIN) is not reset on faith: both officers confirm it is none of
// the keys already done, and the report records the deviation; an officer
// who declines stops the ceremony before the reset.
func TestUnprobeableKeyNeedsBothOfficers(t *testing.T) {
	for _, decline := range []bool{false, true} {
		b := newBench(t)
		c := ctap.NewClient(b.devices.Key(1), ctap.Options{})
		b.devices.Plug(1)
		tok, err := c.GetPINToken(context.Background(), []byte("00000000"), ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ToggleAlwaysUV(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		p := rehearsal.NewPrompter(b.devices, nil)
		p.Decline = func(_, action string) bool {
			return decline && strings.Contains(action, "none of the 1 key(s) already provisioned")
		}
		res, err := b.engineWith(nil, false, func(c *ceremony.Config) {
			c.OtherKeys = []ceremony.KnownKey{{Label: "key 1 of breakglass2@contoso.onmicrosoft.com", CredentialID: []byte("not-on-this-key")}}
		}, p).Run(context.Background())
		if decline {
			if !errors.Is(err, officer.ErrAbandoned) {
				t.Fatalf("declined: %v", err)
			}
			if _, done := journalDone(t, b.journal, "key1/reset"); done {
				t.Fatal("the key was reset although an officer declined")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		r, _ := report.Parse(mustRead(t, filepath.Join(res.Dir, report.FileReport)))
		if !slices.ContainsFunc(r.Deviations, func(d string) bool { return strings.Contains(d, "would not say whether it already holds") }) {
			t.Fatalf("deviations %q", r.Deviations)
		}
	}
}

func journalDone(t *testing.T, path, step string) (ceremony.Entry, bool) {
	t.Helper()
	entries, err := ceremony.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Step == step && (e.Phase == "done" || e.Phase == "begin") {
			return e, true
		}
	}
	return ceremony.Entry{}, false
}

// feitianBioPass is the AAGUID of the Feitian BioPass FIDO2 Authenticator
// (FIDO MDS3 blob no. 9, attest/testdata/mds/webauthn4j-blob-no9.jwt): a
// real model, on no allowlist of keyceremony's.
const feitianBioPass = "77010bd7-212a-4fc9-b236-d2ca5e9d4084"

// Issue 23 §2: a key whose getInfo AAGUID the policy would refuse (someone's
// personal key, holding its PIN and a credential) is named and sent back
// before anything is done to it; the officers plug in another key, and the
// ceremony goes on with that one. Afterwards the refused key still opens
// with its own PIN and still holds its credential.
func TestKeyOffTheAllowlistIsRefusedUntouched(t *testing.T) {
	b := newBench(t)
	aaguid, _ := ctap.ParseAAGUID(feitianBioPass)
	personal, err := simkey.New(simkey.Config{AAGUID: aaguid, TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := ctap.NewClient(personal, ctap.Options{})
	own := []byte("271828")
	if err := c.SetPIN(ctx, own); err != nil {
		t.Fatal(err)
	}
	tok, err := c.GetPINToken(ctx, own, ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "github.com"})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := c.MakeCredential(ctx, ctap.MakeCredentialOptions{ClientDataHash: make([]byte, 32), RP: ctap.RelyingParty{ID: "github.com"},
		User: ctap.User{ID: []byte("me"), Name: "me"}, ResidentKey: true, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	ad, _ := ctap.ParseAuthData(mc.AuthData)
	allowed := b.devices.Key(1)
	b.devices.Swap(1, personal)
	p := rehearsal.NewPrompter(b.devices, nil)
	p.Removed = func(slot int) {
		if slot == 1 {
			b.devices.Swap(1, allowed) // the officers find an allowed key
		}
	}
	res, err := b.engineWith(nil, false, nil, p).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "Key 1 is a key of a model the policy and the MDS blob do not name (AAGUID " + feitianBioPass + "): not on the policy's allowlist"
	if !slices.ContainsFunc(p.Asked, func(s string) bool { return strings.Contains(s, want) }) {
		t.Fatalf("the refused key was not named: %q", p.Asked)
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	if en, ok := journalDone(t, b.journal, "key1/refused"); ok || en.Step != "" {
		t.Fatalf("the refusal is recorded as a step done: %+v", en)
	}
	entries, _ := ceremony.ReadJournal(b.journal)
	if !slices.ContainsFunc(entries, func(e ceremony.Entry) bool { return e.Step == "key1/refused" && e.Data["aaguid"] == feitianBioPass }) {
		t.Fatal("the journal does not record the key sent back")
	}
	// The personal key is as it was: its PIN opens it (no retry spent),
	// and its credential is still there.
	b.devices.Swap(1, personal)
	b.devices.Plug(1)
	c = ctap.NewClient(personal, ctap.Options{})
	if n, _, err := c.PINRetries(ctx); err != nil || n != 8 {
		t.Fatalf("PIN retries %d %v", n, err)
	}
	if _, err := c.GetPINToken(ctx, own, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "github.com"}); err != nil {
		t.Fatalf("the refused key no longer opens with its own PIN: %v", err)
	}
	up := false
	if _, err := c.GetAssertion(ctx, ctap.GetAssertionOptions{RPID: "github.com", ClientDataHash: make([]byte, 32),
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}}, UserPresence: &up}); err != nil {
		t.Fatalf("the refused key lost its credential: %v", err)
	}
}

// Issue 23 §2: a key whose attestation is refused (here: a verifier that
// trusts no root for it, though its getInfo model is allowed) stops the
// ceremony with "replace key 1 with an allowed key", the journal marks it
// void, and the resume asks for a new key for the slot — reset, PIN,
// credential all anew — instead of repeating the refusal.
func TestAttestationRefusalVoidsTheKeyAndResumeAsksForANewOne(t *testing.T) {
	b := newBench(t)
	pol, _ := attest.LoadPolicy("")
	untrusting := &attest.Verifier{Policy: pol, Rehearsal: true, RehearsalModel: rehearsal.Verifier(pol).RehearsalModel}
	_, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Verifier = untrusting }, b.prompter).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "replace key 1 with an allowed key") {
		t.Fatalf("refusal: %v", err)
	}
	entries, _ := ceremony.ReadJournal(b.journal)
	if !slices.ContainsFunc(entries, func(e ceremony.Entry) bool { return e.Step == "key1/void" }) {
		t.Fatal("the journal does not mark the refused key void")
	}
	if len(b.methods()) != 1 {
		t.Fatalf("methods after the refusal: %v", b.methods())
	}
	void := b.devices.Key(1)
	fresh, _ := simkey.New(simkey.Config{TouchDelay: time.Millisecond})
	b.devices.Swap(1, fresh)
	p := rehearsal.NewPrompter(b.devices, nil)
	res, err := b.engineWith(nil, true, nil, p).Run(context.Background())
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if !slices.ContainsFunc(p.Asked, func(s string) bool { return strings.Contains(s, "insert key 1") }) {
		t.Fatalf("the resume did not ask for a key for slot 1: %q", p.Asked)
	}
	if _, ok := journalDone(t, b.journal, "key1.2/reset"); !ok {
		t.Fatal("the new key of slot 1 was not reset as a key of its own")
	}
	r, _ := report.Parse(mustRead(t, filepath.Join(res.Dir, report.FileReport)))
	if len(r.Keys) != 2 || r.Keys[0].Slot != 1 {
		t.Fatalf("report keys %+v", r.Keys)
	}
	// The new key holds slot 1's credential; the void key does not.
	id, _ := base64.RawURLEncoding.DecodeString(r.Keys[0].CredentialID)
	up := false
	probe := ctap.GetAssertionOptions{RPID: enroll.RPID, ClientDataHash: make([]byte, 32),
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: id}}, UserPresence: &up}
	b.devices.Swap(1, void)
	b.devices.Plug(1)
	if _, err := ctap.NewClient(void, ctap.Options{}).GetAssertion(context.Background(), probe); !errors.Is(err, ctap.ErrNoCredentials) {
		t.Fatalf("the void key answers for slot 1's credential: %v", err)
	}
}

// Issue 23 §3: a ceremony run against the Graph emulator shows the officers
// where sign-in and Graph go before they confirm the start — a deviation,
// as the emulator is no Microsoft cloud — and its signed report records
// the endpoints as a deviation.
func TestEmulatorEndpointsShownAndReported(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env, err := rehearsal.Setup(ctx, dir, simkey.Config{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	p := rehearsal.NewPrompter(env.Devices, nil)
	var beforeStart string
	p.Decline = func(_, action string) bool {
		if strings.HasPrefix(action, "start the ceremony") && beforeStart == "" {
			beforeStart = action
		}
		return false
	}
	res, err := env.RunCeremony(ctx, p, filepath.Join(dir, "report"), report.Tool{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	url := env.Tenant.Emu.URL()
	for _, want := range []string{"(sign-in " + url + "/, Graph " + url, "DEVIATION, the report records it: sign-in and Graph are NOT a Microsoft cloud's"} {
		if !strings.Contains(beforeStart, want) {
			t.Errorf("before the start, the officers were not shown %q:\n%s", want, beforeStart)
		}
	}
	r, err := report.Parse(mustRead(t, filepath.Join(res.Dir, report.FileReport)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(r.Deviations, func(d string) bool {
		return strings.Contains(d, "NOT a Microsoft cloud's") && strings.Contains(d, "Graph "+url)
	}) {
		t.Fatalf("the report does not record the endpoints: %q", r.Deviations)
	}
}

// Issue 23, "Also found": a rehearsal cannot be resumed (its virtual keys
// and emulated tenant lived in the run that stopped), so its stop never
// says "resume": run over the folder of a stopped rehearsal, it says
// exactly what to do instead, and leaves that journal as it was.
func TestStoppedRehearsalSaysHowToRehearseAgain(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal.jsonl")
	kept := []byte(`{"step":"preflight","phase":"begin"}` + "\n")
	if err := os.WriteFile(journal, kept, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := rehearsal.RunSitting(context.Background(), &out, rehearsal.SittingOptions{Dir: dir, Accounts: 1, Headless: true,
		Tool: report.Tool{Version: "test"}})
	if err == nil || !strings.Contains(err.Error(), "A rehearsal is not resumed") ||
		!strings.Contains(err.Error(), "keyceremony rehearse --out NEW_DIR") || strings.Contains(err.Error(), "resume it") {
		t.Fatalf("over a stopped rehearsal: %v", err)
	}
	if now, _ := os.ReadFile(journal); !bytes.Equal(now, kept) {
		t.Fatal("the stopped rehearsal's journal was changed")
	}
	if strings.Contains(officer.ErrAbandoned.Error(), "resume") {
		t.Fatalf("an officer's stop promises a resume a rehearsal cannot give: %v", officer.ErrAbandoned)
	}
}

// Key names Entra accepts (issue 26 §1): the default names say account
// slot, key and year in at most 30 characters, and the emulator (which
// refuses longer ones, as Entra does) registers them; a policy pattern
// that cannot fit stops the ceremony before any key is asked for.
func TestKeyNamesFitEntraAndABadPatternStopsFirst(t *testing.T) {
	t.Run("default names", func(t *testing.T) {
		b := newBench(t)
		res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Sitting = 2 }, b.prompter).Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b.checkFinished(res)
		year := fmt.Sprint(time.Now().Year())
		for _, m := range b.methods() {
			if !strings.HasPrefix(m.DisplayName, "BG2 key ") || !strings.Contains(m.DisplayName, " "+year) || len([]rune(m.DisplayName)) > 30 {
				t.Errorf("registered as %q", m.DisplayName)
			}
		}
	})
	t.Run("this year's names already taken", func(t *testing.T) {
		b := newBench(t)
		name := fmt.Sprintf("BG1 key 2 %d YubiKey 5", time.Now().Year())
		b.tenant.Emu.Update(func(st *graphemu.State) {
			st.Methods[b.userID] = append(st.Methods[b.userID], &graphemu.Method{ID: "earlier-this-year", DisplayName: name,
				AAGUID: "2fc0579f-8113-47ea-b116-bb5a8db9202a", CreatedDateTime: time.Now().AddDate(0, -2, 0), CredentialID: "ZWFybGllcg"})
		})
		_, err := b.engine(nil, false).Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "{date}") {
			t.Fatalf("%v", err)
		}
		if strings.Contains(strings.Join(b.prompter.Asked, "\n"), "insert key") {
			t.Fatal("a key was asked for")
		}
	})
	t.Run("a pattern too long", func(t *testing.T) {
		b := newBench(t)
		pol, _ := attest.LoadPolicy("")
		pol.DisplayNamePattern = "Break glass key {n} ({model}, {date})"
		e := b.engineWith(nil, false, func(c *ceremony.Config) { c.Verifier = rehearsal.Verifier(pol) }, b.prompter)
		_, err := e.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "at most 30") || !strings.Contains(err.Error(), "nothing was touched") {
			t.Fatalf("%v", err)
		}
		if entries, _ := ceremony.ReadJournal(b.journal); len(entries) > 0 {
			t.Fatalf("the ceremony journaled %d steps", len(entries))
		}
		if strings.Contains(strings.Join(b.prompter.Asked, "\n"), "insert key") {
			t.Fatal("a key was asked for")
		}
	})
}

// yankDuringCreateTouch pulls key 1 out while it waits for the touch that
// creates its credential, once: its last answer is CTAP2 0x2d.
type yankDuringCreateTouch struct {
	*rehearsal.Prompter
	devices *rehearsal.Devices
	yanked  bool
}

func (y *yankDuringCreateTouch) Progress(step, detail string) {
	if step == "key1/create" && !y.yanked {
		y.yanked = true
		y.devices.Key(1).InjectFault(simkey.FaultYankDuringTouch)
	}
	y.Prompter.Progress(step, detail)
}

// Issue 30: a key pulled out during the touch for its credential (the key
// ends the operation with CTAP2 0x2d, nobody cancelled) is the yank it is:
// the officers are asked to insert key 1 again and the ceremony goes on.
func TestKeyPulledOutDuringCreateTouchIsWaitedFor(t *testing.T) {
	b := newBenchWith(t, simkey.Config{TouchDelay: 300 * time.Millisecond}, "00000000")
	var screen strings.Builder
	b.prompter.Out = &screen
	y := &yankDuringCreateTouch{Prompter: b.prompter, devices: b.devices}
	res, err := b.engineWith(nil, false, nil, y).Run(context.Background())
	if err != nil {
		t.Fatalf("a key pulled out during the touch: %v\n%s", err, screen.String())
	}
	if !y.yanked {
		t.Fatal("the key was never pulled out during the touch")
	}
	b.checkFinished(res)
	if !strings.Contains(screen.String(), "key 1 was pulled out") ||
		strings.Count(strings.Join(b.prompter.Asked, "\n"), "insert key 1 now") < 2 {
		t.Fatalf("key 1 was not asked for again:\n%s\n%q", screen.String(), b.prompter.Asked)
	}
}
