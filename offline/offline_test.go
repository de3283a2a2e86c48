package offline

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/sim/testca"
	"github.com/keyceremony/keyceremony/sigfile"
)

func trustOf(k *ecdsa.PrivateKey) trustedKey {
	pub, _ := ssh.NewPublicKey(&k.PublicKey)
	return trustedKey{Fingerprint: ssh.FingerprintSHA256(pub)}
}

// split runs the whole offline split and returns the paths and keys.
func TestOfflineSplitRoundTripAndTampering(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	connected, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	workstation, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// Connected machine: export, signed.
	opts, err := fetchOptions(ctx, ten.Client, ten.TenantID, "breakglass1@contoso.onmicrosoft.com", 2, 24*60,
		func(slot int) string { return fmt.Sprintf("Break glass key %d", slot) }, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	optsPath := filepath.Join(dir, "options.json")
	if err := writeFile(optsPath, opts, namespaceOptions, connected); err != nil {
		t.Fatal(err)
	}

	// Workstation: read (trusting the connected machine), create, sign results.
	var got optionsFile
	payload, err := readFile(optsPath, namespaceOptions, trustOf(connected), &got)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := attest.LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	// Fresh keys: the workstation resets them and sets their PINs from the
	// officers' halves, then creates, as the ceremony does.
	devs, err := rehearsal.NewDevices(2, simkey.Config{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	officers := rehearsal.NewPrompter(devs, nil)
	keysWith := func(j *ceremony.Journal, vf *attest.Verifier, failSlot int) keySource {
		return func(ctx context.Context, slot int) (*ceremony.PreparedKey, error) {
			if slot == failSlot {
				return nil, errors.New("the session was interrupted here")
			}
			e, err := ceremony.New(ceremony.Config{Account: got.UPN, OfficerA: rehearsal.OfficerA, OfficerB: rehearsal.OfficerB, Keys: 2,
				Reset: true, Verifier: vf, OutDir: dir}, j, devs, nil, officers)
			if err != nil {
				return nil, err
			}
			return e.PrepareKey(ctx, slot)
		}
	}
	// An options file with a name Entra would refuse (over 30 characters,
	// as older exports' could be) stops before any key is asked for.
	long := got
	long.Keys = append([]keyOptions(nil), got.Keys...)
	long.Keys[1].DisplayName = "Break glass key 2 (YubiKey, 2026-01-02)"
	jL, _ := ceremony.CreateJournal(filepath.Join(dir, "long.journal"), time.Now)
	defer jL.Close()
	asked := false
	never := func(context.Context, int) (*ceremony.PreparedKey, error) {
		asked = true
		return nil, errors.New("asked")
	}
	if _, err := createCredentials(ctx, &long, payload, never, rehearsal.Verifier(pol), jL, time.Now(), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "options key 2") || !strings.Contains(err.Error(), "3 to 30") || asked {
		t.Fatalf("a 39-character name: %v (key asked: %v)", err, asked)
	}
	// The same policy and verifier as the connected ceremony: outside a
	// rehearsal, a simkey is refused before any result is written — by its
	// getInfo AAGUID, before the key is reset (issue 23 §2).
	jA, _ := ceremony.CreateJournal(filepath.Join(dir, "a.journal"), time.Now)
	defer jA.Close()
	if _, err := createCredentials(ctx, &got, payload, keysWith(jA, &attest.Verifier{Policy: pol}, 0), &attest.Verifier{Policy: pol}, jA, time.Now(), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "a keyceremony simkey (a virtual key, allowed in a rehearsal only)") {
		t.Fatalf("a simkey outside a rehearsal: %v", err)
	}
	// Issue 23 §2: a key its attestation refuses (here: a verifier that
	// does not trust the TEST root, past the getInfo check) is void for its
	// slot, as in the ceremony: the error says to replace it, and the journal
	// marks it, so the run after asks for another key instead of repeating
	// the refusal.
	untrusting := &attest.Verifier{Policy: pol, Rehearsal: true, RehearsalModel: rehearsal.Verifier(pol).RehearsalModel}
	vPath := filepath.Join(dir, "void.journal")
	jV, _ := ceremony.CreateJournal(vPath, time.Now)
	defer jV.Close()
	if _, err := createCredentials(ctx, &got, payload, keysWith(jV, untrusting, 0), untrusting, jV, time.Now(),
		io.Discard); err == nil || !strings.Contains(err.Error(), "replace key 1 with an allowed key") {
		t.Fatalf("a key its attestation refuses: %v", err)
	}
	if entries, _ := ceremony.ReadJournal(vPath); !slices.ContainsFunc(entries,
		func(e ceremony.Entry) bool { return e.Step == "key1/void" }) {
		t.Fatal("offline create does not mark the refused key void")
	}
	if _, err := createCredentials(ctx, &got, payload, keysWith(jV, rehearsal.Verifier(pol), 0), rehearsal.Verifier(pol),
		jV, time.Now(), io.Discard); err != nil {
		t.Fatalf("the run after, with an allowed key: %v", err)
	}
	if entries, _ := ceremony.ReadJournal(vPath); !slices.ContainsFunc(entries,
		func(e ceremony.Entry) bool { return e.Step == "key1.2/reset" && e.Phase == "done" }) {
		t.Fatal("the slot's next key was not prepared as a key of its own")
	}
	// Interrupted after key 1, then resumed from the journal: key 1's
	// credential is taken from the journal, not made again.
	jPath := filepath.Join(dir, "create.journal")
	j, _ := ceremony.CreateJournal(jPath, time.Now)
	if _, err := createCredentials(ctx, &got, payload, keysWith(j, rehearsal.Verifier(pol), 2), rehearsal.Verifier(pol), j, time.Now(), io.Discard); err == nil {
		t.Fatal("the interruption went unnoticed")
	}
	j.Close()
	first, _ := ceremony.ReadJournal(jPath)
	j, err = ceremony.OpenOrCreateJournal(jPath, true)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	res, err := createCredentials(ctx, &got, payload, keysWith(j, rehearsal.Verifier(pol), 0), rehearsal.Verifier(pol), j, time.Now(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	made, resets := 0, 0
	entries, err := ceremony.ReadJournal(jPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Phase == "done" && strings.HasSuffix(e.Step, "/created") {
			made++
		}
		if e.Phase == "done" && strings.HasSuffix(e.Step, "/reset") {
			resets++
		}
	}
	if made != 2 || resets != 2 || len(first) == 0 {
		t.Fatalf("%d credentials made, %d resets in the journal; want 2 and 2", made, resets)
	}
	for _, kr := range res.Credentials {
		if kr.Attestation == nil || !kr.Attestation.Allowed || kr.Attestation.Model != testca.ModelName {
			t.Fatalf("key %d: verdict %+v", kr.Slot, kr.Attestation)
		}
	}
	resPath := filepath.Join(dir, "results.json")
	if err := writeFile(resPath, res, namespaceResults, workstation); err != nil {
		t.Fatal(err)
	}
	for slot := 1; slot <= 2; slot++ {
		pin := string(officers.PIN(slot, rehearsal.OfficerA, rehearsal.OfficerB))
		for _, path := range []string{resPath, jPath} {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), pin) || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte(pin))) {
				t.Fatalf("the PIN of key %d reached %s", slot, path)
			}
		}
	}

	// Tampering on either file is refused before anything is registered.
	tamper := func(path string, edit func(f *file)) string {
		b, _ := os.ReadFile(path)
		var f file
		json.Unmarshal(b, &f)
		edit(&f)
		out := path + ".tampered"
		nb, _ := json.Marshal(f)
		os.WriteFile(out, nb, 0o600)
		return out
	}
	flip := func(f *file) {
		p, _ := base64.StdEncoding.DecodeString(f.Payload)
		p = []byte(strings.Replace(string(p), "Break glass key 1", "Break glass key X", 1))
		f.Payload = base64.StdEncoding.EncodeToString(p)
	}
	var r resultsFile
	if _, err := readFile(tamper(resPath, flip), namespaceResults, trustOf(workstation), &r); !errors.Is(err, sigfile.ErrTampered) {
		t.Fatalf("edited results: %v", err)
	}
	if _, err := readFile(tamper(optsPath, flip), namespaceOptions, trustOf(connected), &got); !errors.Is(err, sigfile.ErrTampered) {
		t.Fatalf("edited options: %v", err)
	}
	// Swapped: a results file re-signed by another machine.
	impostor, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	swapped := filepath.Join(dir, "swapped.json")
	writeFile(swapped, res, namespaceResults, impostor)
	if _, err := readFile(swapped, namespaceResults, trustOf(workstation), &r); !errors.Is(err, errUntrusted) {
		t.Fatalf("swapped results: %v", err)
	}
	// The options file is not a results file (namespaces differ).
	if _, err := readFile(optsPath, namespaceResults, trustOf(connected), &r); !errors.Is(err, sigfile.ErrTampered) {
		t.Fatalf("options read as results: %v", err)
	}
	// No trust given at all: refused.
	if _, err := readFile(resPath, namespaceResults, trustedKey{}, &r); !errors.Is(err, errUntrusted) {
		t.Fatalf("no trust: %v", err)
	}

	// Connected machine: read results, register, and only for these options.
	var back resultsFile
	if _, err := readFile(resPath, namespaceResults, trustOf(workstation), &back); err != nil {
		t.Fatal(err)
	}
	if err := answers([]byte(`{"other":"options"}`), &back); err == nil {
		t.Fatal("results taken for other options")
	}
	if err := answers(payload, &back); err != nil {
		t.Fatal(err)
	}
	rj, err := ceremony.CreateJournal(filepath.Join(dir, "register.journal"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer rj.Close()
	var said strings.Builder
	if err := registerResults(ctx, ten.Client, &back, rj, &said); err != nil {
		t.Fatal(err)
	}
	methods := ten.Emu.Snapshot().Methods[opts.UserID]
	if len(methods) != 2 || methods[0].DisplayName != "Break glass key 1" ||
		strings.Count(said.String(), "Registered") != 2 {
		t.Fatalf("%+v\n%s", methods, said.String())
	}
}

// FuzzReadFile: whatever bytes an options or results file holds when it
// comes off the USB stick, reading it never panics, and nothing but what
// the trusted key signed is taken: a file that reads gives exactly the
// signed payload, whatever its spacing or field order.
func FuzzReadFile(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	genuine := filepath.Join(f.TempDir(), "options.json")
	signed := resultsFile{Kind: kindResults, UserID: "user-1", Credentials: []keyResult{{Slot: 1, DisplayName: "Break glass key 1"}}}
	if err := writeFile(genuine, signed, namespaceResults, key); err != nil {
		f.Fatal(err)
	}
	want, _ := json.Marshal(signed)
	b, _ := os.ReadFile(genuine)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte(`{"payload":"e30=","signature":"-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n","signer":"ecdsa-sha2-nistp256 AAAA"}`))
	f.Add([]byte(strings.Replace(string(b), "payload", "Payload", 1)))
	trust := trustOf(key)
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "in.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var got resultsFile
		payload, err := readFile(path, namespaceResults, trust, &got)
		if err == nil && string(payload) != string(want) {
			t.Fatalf("took a payload the trusted key did not sign: %q", payload)
		}
	})
}

// madeResults exports options for two keys from an emulated tenant and
// makes their credentials on two fresh virtual keys, as a rehearsal does.
func madeResults(t *testing.T) (*emulated.Tenant, *optionsFile, *resultsFile) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	o, err := fetchOptions(ctx, ten.Client, ten.TenantID, "breakglass1@contoso.onmicrosoft.com", 2, 24*60,
		func(slot int) string { return fmt.Sprintf("Break glass key %d", slot) }, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(o)
	pol, err := attest.LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := rehearsal.NewDevices(2, simkey.Config{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	officers := rehearsal.NewPrompter(devs, nil)
	j, err := ceremony.CreateJournal(filepath.Join(dir, "create.journal"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	vf := rehearsal.Verifier(pol)
	res, err := createCredentials(ctx, o, payload, func(ctx context.Context, slot int) (*ceremony.PreparedKey, error) {
		e, err := ceremony.New(ceremony.Config{Account: o.UPN, OfficerA: rehearsal.OfficerA, OfficerB: rehearsal.OfficerB, Keys: 2,
			Reset: true, Verifier: vf, OutDir: dir}, j, devs, nil, officers)
		if err != nil {
			return nil, err
		}
		return e.PrepareKey(ctx, slot)
	}, vf, j, time.Now(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return ten, o, res
}

// Killed after key 1's method appeared in Graph and before anything was
// journaled (issue 24 §1): the rerun finds key 1's credential registered,
// adopts its method without posting, and registers key 2.
func TestRegisterAfterAKillBetweenThePOSTs(t *testing.T) {
	ctx := context.Background()
	ten, _, res := madeResults(t)
	kr := res.Credentials[0]
	dec := func(s string) []byte { b, _ := base64.RawURLEncoding.DecodeString(s); return b }
	first, err := ten.Client.Register(ctx, res.UserID, kr.DisplayName, enroll.Credential{ID: dec(kr.CredentialID),
		ClientDataJSON: dec(kr.ClientDataJSON), AttestationObject: dec(kr.AttestationObject), AAGUID: kr.AAGUID})
	if err != nil {
		t.Fatal(err)
	}
	j, err := ceremony.CreateJournal(filepath.Join(t.TempDir(), "register.journal"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var out strings.Builder
	if err := registerResults(ctx, ten.Client, res, j, &out); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out.String())
	}
	methods := ten.Emu.Snapshot().Methods[res.UserID]
	if len(methods) != 2 || methods[0].ID != first.ID || methods[1].DisplayName != "Break glass key 2" {
		t.Fatalf("methods after the rerun: %+v", methods)
	}
	if strings.Count(out.String(), "adopted") != 1 || !strings.Contains(out.String(), first.ID) {
		t.Fatalf("key 1 not said adopted:\n%s", out.String())
	}
	for slot := 1; slot <= 2; slot++ {
		if d, ok := j.Done(fmt.Sprintf("register/key%d", slot)); !ok || d["method_id"] == "" {
			t.Fatalf("key %d not journaled done: %v", slot, d)
		}
	}
}

// The connected machine judges every credential itself: outside a
// rehearsal it refuses the simkeys the workstation allowed under
// --rehearsal, and a workstation verdict that differs from its own
// refuses; nothing is registered either way.
func TestJudgeAllRefusesWhatItWouldNotAllow(t *testing.T) {
	ten, o, res := madeResults(t)
	pol, err := attest.LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = judgeAll(o, res, &attest.Verifier{Policy: pol}, &out)
	if err == nil || !strings.Contains(err.Error(), "this machine refuses") || !strings.Contains(out.String(), "REFUSED") {
		t.Fatalf("simkeys outside a rehearsal: %v\n%s", err, out.String())
	}
	if err := judgeAll(o, res, rehearsal.Verifier(pol), io.Discard); err != nil {
		t.Fatalf("in a rehearsal: %v", err)
	}
	res.Credentials[1].Attestation.AAGUID = "00000000-0000-0000-0000-000000000000"
	if err := judgeAll(o, res, rehearsal.Verifier(pol), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "disagree") {
		t.Fatalf("a different workstation verdict: %v", err)
	}
	res.Credentials[1].DisplayName = "Someone else's key"
	if err := judgeAll(o, res, rehearsal.Verifier(pol), io.Discard); err == nil {
		t.Fatal("a credential the options did not ask for was judged")
	}
	if n := len(ten.Emu.Snapshot().Methods[res.UserID]); n != 0 {
		t.Fatalf("%d methods registered", n)
	}
}

// failingFile fails as a full disk does after n bytes.
type failingFile struct {
	*os.File
	n int
}

func (f *failingFile) Write(b []byte) (int, error) {
	if len(b) <= f.n {
		f.n -= len(b)
		return f.File.Write(b)
	}
	w, _ := f.File.Write(b[:f.n])
	f.n = 0
	return w, syscall.ENOSPC
}

// results.json on a full disk is never a 0-byte or cut file: at every
// byte where the disk fills, the file is as it was (absent, or the last
// whole version) and no temporary file is left.
func TestWriteAtomicOnAFullDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	body := []byte(`{"payload":"…"}` + "\n")
	for _, before := range [][]byte{nil, []byte("the last whole version\n")} {
		if before != nil {
			if err := os.WriteFile(path, before, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for n := 0; n < len(body); n++ {
			err := writeAtomic(path, body, func(dir, pattern string) (tempFile, error) {
				f, err := os.CreateTemp(dir, pattern)
				return &failingFile{File: f, n: n}, err
			})
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("full after %d bytes: %v", n, err)
			}
			got, rerr := os.ReadFile(path)
			if before == nil && !errors.Is(rerr, os.ErrNotExist) || before != nil && string(got) != string(before) {
				t.Fatalf("full after %d bytes: the file is now %q (%v)", n, got, rerr)
			}
			if left, _ := os.ReadDir(dir); len(left) != map[bool]int{true: 0, false: 1}[before == nil] {
				t.Fatalf("full after %d bytes: %d files left", n, len(left))
			}
		}
	}
	plain := func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }
	if err := writeAtomic(path, body, plain); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(body) {
		t.Fatalf("written: %q", got)
	}
}

// A key pulled out after its PIN was set (issue 24, "Also") makes the
// session wait for it, as the ceremony does: plugged back in, the journal
// skips its reset and PIN, and its credential is made; nothing is reset
// twice.
func TestCreateWaitsForAYankedKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	o, err := fetchOptions(ctx, ten.Client, ten.TenantID, "breakglass1@contoso.onmicrosoft.com", 2, 24*60,
		func(slot int) string { return fmt.Sprintf("Break glass key %d", slot) }, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(o)
	pol, _ := attest.LoadPolicy("")
	devs, err := rehearsal.NewDevices(2, simkey.Config{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	officers := rehearsal.NewPrompter(devs, nil)
	jPath := filepath.Join(dir, "create.journal")
	j, err := ceremony.CreateJournal(jPath, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	vf := rehearsal.Verifier(pol)
	yanked := 0
	var notice strings.Builder
	res, err := createCredentials(ctx, o, payload, func(ctx context.Context, slot int) (*ceremony.PreparedKey, error) {
		e, err := ceremony.New(ceremony.Config{Account: o.UPN, OfficerA: rehearsal.OfficerA, OfficerB: rehearsal.OfficerB, Keys: 2,
			Reset: true, Verifier: vf, OutDir: dir}, j, devs, nil, officers)
		if err != nil {
			return nil, err
		}
		k, err := e.PrepareKey(ctx, slot)
		if err == nil && slot == 1 && yanked == 0 {
			yanked++
			devs.Key(1).InjectFault(simkey.FaultUnplugBefore) // pulled out before the PIN token
		}
		return k, err
	}, vf, j, time.Now(), &notice)
	if err != nil {
		t.Fatalf("a yanked key ended the session: %v", err)
	}
	if yanked != 1 || len(res.Credentials) != 2 || !strings.Contains(notice.String(), "Key 1 was pulled out") {
		t.Fatalf("yanked %d, %d credentials, notice %q", yanked, len(res.Credentials), notice.String())
	}
	entries, _ := ceremony.ReadJournal(jPath)
	resets := map[string]int{}
	for _, e := range entries {
		if strings.HasSuffix(e.Step, "/reset") && e.Phase == "begin" {
			resets[e.Step]++
		}
	}
	if resets["key1/reset"] != 1 || resets["key2/reset"] != 1 {
		t.Fatalf("resets begun: %v, want one per key", resets)
	}
}
