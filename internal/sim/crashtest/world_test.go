package crashtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// The world a trial runs in: separate simkey processes and a Graph
// emulator process, each with its state file, and the keyceremony binary.

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// keyceremonyBinary builds cmd/keyceremony once per test process.
func keyceremonyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyceremony-crashtest-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "keyceremony")
		out, err := exec.Command("go", "build", "-o", builtBin, "github.com/keyceremony/keyceremony/cmd/keyceremony").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// key is one virtual key: a `simkey serve --state` process.
type key struct {
	name        string // "acct1-key1", "acct1-old"
	sock, state string
	halfA       string // the officers' halves for it ("" for last year's key)
	halfB       string
	knownPIN    string // last year's key: its PIN, known to its officers
	cmd         *exec.Cmd
}

// addr is the key's device address.
func (k *key) addr() string { return "simkey:" + k.sock }

// pinVerifier is LEFT(SHA-256(pin), 16), as CTAP (and simkey) store it.
func pinVerifier(pin string) []byte {
	h := sha256.Sum256([]byte(pin))
	return h[:16]
}

// world is one trial's processes and files.
type world struct {
	t        *testing.T
	bin, dir string
	keys     []*key
	emuState string
	emuDir   string
	emuArgs  []string
	emu      *exec.Cmd
	url      string
	tenantID string
	users    map[string]string // UPN → user ID
	before   map[string]int    // UPN → working keys before the trial
}

// newWorld sets up accounts break-glass accounts, each with newKeys fresh
// keys (out of the safe with an old PIN nobody knows) and, when withOld,
// last year's key: a key that holds a credential the tenant has a method
// for, with a PIN its officers know.
func newWorld(t *testing.T, accounts, newKeys int, withOld bool, seed int64) *world {
	t.Helper()
	w := &world{t: t, bin: keyceremonyBinary(t), dir: t.TempDir(), users: map[string]string{}, before: map[string]int{}}
	w.emuDir = filepath.Join(w.dir, "emulator")
	w.emuState = filepath.Join(w.emuDir, "tenant.json")
	if err := os.MkdirAll(w.emuDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Seed the tenant in-process, on the state file the emulator process
	// then starts from (a restart of the emulator on its own state).
	ten, err := emulated.Start(emulated.Options{Dir: w.emuDir, Emulator: graphemu.Config{StatePath: w.emuState}})
	if err != nil {
		t.Fatal(err)
	}
	upns := []string{"breakglass1@contoso.onmicrosoft.com"}
	for n := 2; n <= accounts; n++ {
		upns = append(upns, ten.AddAccount(n))
	}
	snap := ten.Emu.Snapshot()
	w.tenantID = snap.TenantID
	for _, u := range snap.Users {
		w.users[u.UserPrincipalName] = u.ID
	}
	ctx := context.Background()
	for a := range upns {
		for i := 1; i <= newKeys; i++ {
			// The prompts name the slot, not the account: slot i's halves
			// are the same for every account (key 2's PIN on key 1 is
			// still seen; account 1's PIN on account 2's key 1 is not).
			k := &key{name: fmt.Sprintf("acct%d-key%d", a+1, i), halfA: fmt.Sprintf("%04d", (seed*7+int64(i)*1237)%10000),
				halfB: fmt.Sprintf("%04d", (seed*13+int64(i)*4391+17)%10000)}
			w.makeKey(ctx, k, "", nil)
		}
		if withOld {
			k := &key{name: fmt.Sprintf("acct%d-old", a+1), knownPIN: "60417293"}
			w.makeKey(ctx, k, upns[a], ten)
		}
	}
	if err := ten.Close(); err != nil {
		t.Fatal(err)
	}
	for _, k := range w.keys {
		w.startKey(k)
	}
	w.startEmulator()
	for _, upn := range upns {
		w.before[upn] = w.observe().working[upn]
	}
	return w
}

// makeKey makes a key's state file: a fresh key given an old PIN nobody
// here knows, or (upn set) last year's key of upn with its known PIN and a
// credential for login.microsoft.com that the tenant has a method for.
func (w *world) makeKey(ctx context.Context, k *key, upn string, ten *emulated.Tenant) {
	t := w.t
	k.sock, k.state = filepath.Join(w.dir, k.name+".sock"), filepath.Join(w.dir, k.name+".json")
	sk, err := simkey.New(simkey.Config{StatePath: k.state, TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := ctap.NewClient(sk, ctap.Options{})
	pin := k.knownPIN
	if pin == "" {
		pin = "38" + k.halfB + k.halfA[:2] // an old PIN: not the officers' new one
	}
	if err := c.SetPIN(ctx, []byte(pin)); err != nil {
		t.Fatal(err)
	}
	if upn != "" {
		tok, err := c.GetPINToken(ctx, []byte(pin), ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "login.microsoft.com"})
		if err != nil {
			t.Fatal(err)
		}
		cdh := sha256.Sum256([]byte("last year"))
		if _, err := c.MakeCredential(ctx, ctap.MakeCredentialOptions{ClientDataHash: cdh[:], RP: ctap.RelyingParty{ID: "login.microsoft.com"},
			User: ctap.User{ID: []byte(upn), Name: upn}, ResidentKey: true, Token: tok}); err != nil {
			t.Fatal(err)
		}
		st := readKey(t, k)
		uid := w.users[upn]
		ten.Emu.Update(func(s *graphemu.State) {
			s.Methods[uid] = append(s.Methods[uid], &graphemu.Method{ID: "last-year-" + k.name, DisplayName: "Break glass key (last year)",
				AAGUID: "6b657963-6572-656d-6f6e-792d73696d6b", CreatedDateTime: time.Now().AddDate(-1, 0, 0).UTC(), AttestationLevel: "attested",
				CredentialID: base64.RawURLEncoding.EncodeToString(st.Credentials[0].ID)})
		})
	}
	w.keys = append(w.keys, k)
}

// startKey runs the key's simkey process (a long reset window: the
// scripted officers re-plug no key the program cannot re-plug itself).
func (w *world) startKey(k *key) {
	k.cmd = w.spawn(k.name, w.bin, "simkey", "serve", "--socket", k.sock, "--state", k.state, "--touch-delay", "10ms", "--reset-window", "30m")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("unixpacket", k.sock); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("simkey %s did not start: %s", k.name, w.logOf(k.name))
		}
	}
}

// startEmulator runs `graph-emulator --state --dir` on a port of its own.
func (w *world) startEmulator() {
	if w.emuArgs == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			w.t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		w.url = "https://" + addr
		w.emuArgs = []string{"graph-emulator", "--listen", addr, "--state", w.emuState, "--dir", w.emuDir}
	}
	w.emu = w.spawn("emulator", w.bin, w.emuArgs...)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(w.logOf("emulator"), "Ctrl-C stops it"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.t.Fatalf("the emulator did not start: %s", w.logOf("emulator"))
		}
	}
}

// restartEmulator kills the emulator (-9) and starts it again on its state.
func (w *world) restartEmulator() {
	_ = w.emu.Process.Kill()
	_ = w.emu.Wait()
	w.startEmulator()
}

// signIn is the sign-in flags that reach the emulator.
func (w *world) signIn() []string {
	return []string{"--tenant", w.tenantID, "--client-id", emulated.AppID, "--auth", "certificate",
		"--cert", filepath.Join(w.emuDir, "emulated-app.pem"), "--authority", w.url + "/", "--graph", w.url,
		"--ca", filepath.Join(w.emuDir, "emulator-ca.pem")}
}

// spawn starts a long-running helper process, its output in DIR/NAME.log,
// killed when the test ends.
func (w *world) spawn(name, bin string, args ...string) *exec.Cmd {
	f, err := os.OpenFile(filepath.Join(w.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
	})
	return cmd
}

func (w *world) logOf(name string) string {
	b, _ := os.ReadFile(filepath.Join(w.dir, name+".log"))
	return string(b)
}

// keyState is the part of a simkey state file the invariants read.
type keyState struct {
	MasterKey   []byte `json:"master_key"`
	PINVerifier []byte `json:"pin_verifier"`
	PINRetries  int    `json:"pin_retries"`
	Credentials []struct {
		ID   []byte `json:"id"`
		RPID string `json:"rp_id"`
	} `json:"credentials"`
}

func readKey(t *testing.T, k *key) keyState {
	t.Helper()
	b, err := os.ReadFile(k.state)
	if err != nil {
		t.Fatal(err)
	}
	var st keyState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s's state file: %v", k.name, err)
	}
	return st
}

// observation is the ground truth at one moment: the keys and the tenant.
type observation struct {
	keys    map[string]keyState
	tenant  *graphemu.State
	working map[string]int // UPN → methods whose credential is on a key that opens with a PIN its officers know
}

func (w *world) observe() *observation {
	t := w.t
	o := &observation{keys: map[string]keyState{}, working: map[string]int{}}
	for _, k := range w.keys {
		o.keys[k.name] = readKey(t, k)
	}
	b, err := os.ReadFile(w.emuState)
	if err != nil {
		t.Fatal(err)
	}
	o.tenant = &graphemu.State{}
	if err := json.Unmarshal(b, o.tenant); err != nil {
		t.Fatalf("the tenant's state file: %v", err)
	}
	for upn, uid := range w.users {
		for _, m := range o.tenant.Methods[uid] {
			if k := o.holder(w, m.CredentialID); k != nil && o.opens(k) {
				o.working[upn]++
			}
		}
	}
	return o
}

// holder is the key that holds the credential (base64url ID), or nil.
func (o *observation) holder(w *world, credB64 string) *key {
	id, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(credB64, "="))
	if err != nil {
		return nil
	}
	for _, k := range w.keys {
		for _, c := range o.keys[k.name].Credentials {
			if bytes.Equal(c.ID, id) {
				return k
			}
		}
	}
	return nil
}

// opens says whether the key's PIN is one its officers know (its halves,
// or last year's known PIN) and is not blocked.
func (o *observation) opens(k *key) bool {
	st := o.keys[k.name]
	if st.PINRetries == 0 || st.PINVerifier == nil {
		return false
	}
	return bytes.Equal(st.PINVerifier, pinVerifier(k.halfA+k.halfB)) || (k.knownPIN != "" && bytes.Equal(st.PINVerifier, pinVerifier(k.knownPIN)))
}

// run is one run of the provisioning process and how it ended.
type run struct {
	argv     []string
	killedAt string // "" when it was not killed
	exitCode int
	output   string
	timedOut bool
	writes   int // changes of the tenant's state file seen during the run
}

// killPoint says when to SIGKILL: after the journal holds Lines lines, or
// after the tenant's state file has changed Writes times since the start.
type killPoint struct {
	journal string // the journal files to watch (a glob)
	lines   int
	writes  int
	// restartEmulator: after the kill, the emulator is killed -9 too and
	// started again on its state file before the rerun.
	restartEmulator bool
}

func (p killPoint) String() string {
	s := fmt.Sprintf("after tenant write %d", p.writes)
	if p.lines > 0 {
		s = fmt.Sprintf("after journal line %d", p.lines)
	}
	if p.restartEmulator {
		s += " (and the emulator killed and restarted)"
	}
	return s
}

// countLines counts the whole lines of the files matching pattern (0 when
// there is none).
func countLines(pattern string) int {
	if pattern == "" {
		return 0
	}
	paths, _ := filepath.Glob(pattern)
	n := 0
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

// execute runs argv (env added), answering the PIN prompts on its standard
// error from the keys' halves, and kills it -9 at p (when p is set and is
// reached). It returns how the run ended.
func (w *world) execute(argv, env []string, p *killPoint, keysOf func(slot int) *key) run {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	var mu sync.Mutex
	var out bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		w.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	pw.Close()
	readDone := make(chan struct{})
	go func() { // the officers: answer each PIN prompt with that key's half
		defer close(readDone)
		buf := make([]byte, 4096)
		answered := 0
		for {
			n, err := pr.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			text := out.String()
			mu.Unlock()
			ms := rePrompt.FindAllStringSubmatch(text, -1)
			for ; answered < len(ms); answered++ {
				m := ms[answered]
				k := keysOf(int(m[1][0] - '0'))
				half := k.halfA
				if strings.HasSuffix(m[2], "B") {
					half = k.halfB
				}
				fmt.Fprintln(stdin, half)
			}
			if err != nil {
				return
			}
		}
	}()
	var (
		startWrites = w.tenantBytes()
		killed      string
		done        = make(chan error, 1)
	)
	go func() { done <- cmd.Wait() }()
	// Watch the journal and the tenant's state file (every write the
	// emulator keeps changes it) until the process ends or is killed.
	startLines, seen, writes := 0, startWrites, 0
	if p != nil {
		startLines = countLines(p.journal)
	}
watch:
	for {
		select {
		case err := <-done:
			done <- err
			break watch
		default:
		}
		if b := w.tenantBytes(); !bytes.Equal(b, seen) {
			seen, writes = b, writes+1
			if p != nil && p.writes > 0 && writes >= p.writes {
				killed = p.String()
			}
		}
		if p != nil && p.lines > 0 && countLines(p.journal) >= startLines+p.lines {
			killed = p.String()
		}
		if killed != "" {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			break
		}
		time.Sleep(500 * time.Microsecond)
	}
	err = <-done
	if b := w.tenantBytes(); !bytes.Equal(b, seen) {
		writes++
	}
	if killed != "" && p.journal != "" {
		killed += " [journal ends " + lastEntry(p.journal) + "]"
	}
	stdin.Close()
	<-readDone
	r := run{argv: argv, killedAt: killed, output: out.String(), timedOut: ctx.Err() != nil, writes: writes}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		r.exitCode = -1
	}
	return r
}

func (w *world) tenantBytes() []byte {
	b, _ := os.ReadFile(w.emuState)
	return b
}

// lastEntry names the step and phase of the newest journal line among the
// journals matching pattern.
func lastEntry(pattern string) string {
	paths, _ := filepath.Glob(pattern)
	var newest time.Time
	last := "(none)"
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
		var e struct {
			Step  string    `json:"step"`
			Phase string    `json:"phase"`
			Time  time.Time `json:"time"`
		}
		if len(lines) == 0 || json.Unmarshal(lines[len(lines)-1], &e) != nil {
			continue
		}
		if e.Time.After(newest) || newest.IsZero() {
			newest, last = e.Time, e.Step+" "+e.Phase
		}
	}
	return last
}
