package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/buildinfo"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/testenv"
	"github.com/keyceremony/keyceremony/report"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"info"}, {"simkey"}, {"simkey", "serve"}, {"info", "--device", "usb:1"}} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestDevicesAndInfoOnSimkeySocket(t *testing.T) {
	sock := serveSimkey(t)
	code, out, errOut := runCLI(t, "devices", "--json", "--device", "simkey:"+sock)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []fidokey.Probe
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var sim *fidokey.Probe
	for i := range rows {
		if rows[i].Address == "simkey:"+sock {
			sim = &rows[i]
		}
	}
	if sim == nil || sim.AAGUID != simkey.DefaultAAGUID().String() || sim.PINSet == nil || *sim.PINSet || sim.Firmware != "5.7.4 (0x050704)" {
		t.Fatalf("%+v", rows)
	}
	code, out, errOut = runCLI(t, "devices", "--device", "simkey:"+sock)
	if code != 0 || !strings.Contains(out, "6b657963-6572-656d-6f6e-792d73696d6b") || !strings.Contains(out, "not set") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "info", "--device", "simkey:"+sock)
	for _, want := range []string{"AAGUID", "FIDO_2_1", "clientPin=false", "credMgmt=true", "PIN/UV protocols", "[2 1]", "5.7.4"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "info", "--json", "--device", "simkey:"+sock)
	var info struct {
		Info struct {
			AAGUID     string `json:"aaguid"`
			MaxMsgSize int    `json:"maxMsgSize"`
		} `json:"getInfo"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info.Info.MaxMsgSize != 1200 || info.Info.AAGUID != simkey.DefaultAAGUID().String() {
		t.Fatalf("info --json: %s", out)
	}
}

func TestDevicesReportsUnreachableDevice(t *testing.T) {
	code, out, _ := runCLI(t, "devices", "--json", "--device", "simkey:"+filepath.Join(t.TempDir(), "gone.sock"))
	if code != 1 || !strings.Contains(out, `"error"`) {
		t.Fatalf("exit %d: %s", code, out)
	}
}

func TestRehearseWritesVerifiableRehearsalReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errOut := runCLI(t, "rehearse", "--yes", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "REHEARSAL") || strings.Count(out, "signature verified with the recorded public key") != 2 || !strings.Contains(out, "2 keys registered, 1 retired") {
		t.Fatalf("output:\n%s", out)
	}
	for _, f := range []string{"report.json", "report.json.sig", "report.pub", "report.txt", "allowed_signers"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	reportPath := filepath.Join(dir, "report.json")
	code, out, _ = runCLI(t, "report", "verify", "--rehearsal", reportPath)
	if code != 0 || !strings.Contains(out, "OK:") || !strings.Contains(out, "REHEARSAL") {
		t.Fatalf("report verify --rehearsal: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "report", "verify", reportPath)
	if code != 1 || !strings.Contains(out, "REHEARSAL report") || !strings.Contains(out, "pass --rehearsal") {
		t.Fatalf("a rehearsal verified as a real ceremony, or no hint at the flag: exit %d\n%s", code, out)
	}
	b, _ := os.ReadFile(reportPath)
	var rec struct {
		Keys []struct {
			CredentialID string `json:"credential_id"`
			PINRetries   int    `json:"pin_retries"`
			Attestation  struct {
				Allowed bool                     `json:"allowed"`
				Root    struct{ Subject string } `json:"root"`
			} `json:"attestation"`
		} `json:"keys"`
		Steps []struct {
			Name        string   `json:"name"`
			ConfirmedBy []string `json:"confirmed_by"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || len(rec.Keys) != 2 {
		t.Fatalf("%s %v", b, err)
	}
	for _, k := range rec.Keys {
		if k.PINRetries != 8 || k.CredentialID == "" || !k.Attestation.Allowed || !strings.Contains(k.Attestation.Root.Subject, "TEST") {
			t.Errorf("%+v", k)
		}
	}
	if rec.Keys[0].CredentialID == rec.Keys[1].CredentialID {
		t.Error("both keys produced the same credential")
	}
	confirmed := 0
	for _, s := range rec.Steps {
		if strings.HasSuffix(s.Name, "/reset") || strings.HasSuffix(s.Name, "/pin") {
			if len(s.ConfirmedBy) != 2 {
				t.Errorf("destructive step %q confirmed by %v", s.Name, s.ConfirmedBy)
			}
			confirmed++
		}
	}
	if confirmed != 4 {
		t.Errorf("%d reset/PIN steps recorded, want 4", confirmed)
	}
	pdf := filepath.Join(t.TempDir(), "r.pdf")
	if code, _, errOut := runCLI(t, "report", "print", reportPath, "--out", pdf); code != 0 {
		t.Fatalf("print: %s", errOut)
	}
	if b, _ := os.ReadFile(pdf); !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Fatal("not a PDF")
	}
	if code, out, _ := runCLI(t, "report", "show", reportPath); code != 0 || !strings.Contains(out, "COPY ONTO THE ENVELOPE") {
		t.Fatalf("show: %s", out)
	}
	// Tampered: one byte of the report changed.
	b[len(b)/2] ^= 1
	os.WriteFile(reportPath, b, 0o644)
	if code, out, _ := runCLI(t, "report", "verify", "--rehearsal", reportPath); code != 1 || !strings.Contains(out, "changed") {
		t.Fatalf("tampered report: exit %d\n%s", code, out)
	}
}

func TestReportKeyWithSoftwareKey(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "report", "key", "--software-key", filepath.Join(dir, "ws.key"), "--out", dir)
	if code != 0 || !strings.Contains(out, "SHA256:") || !strings.Contains(out, "software") {
		t.Fatalf("exit %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "report", "key", "--tpm", filepath.Join(dir, "no-tpm")); code != 2 || !strings.Contains(errOut, "--software-key") {
		t.Fatalf("no TPM: exit %d %s", code, errOut)
	}
}

func TestAttestVerifyExitCodes(t *testing.T) {
	vec := filepath.Join(testenv.VectorsDir(t, 2), "registrations")
	flags := []string{"attest", "verify", "--rp-id", "example.com", "--origin", "https://example.com"}
	if code, out, errOut := runCLI(t, append(flags, filepath.Join(vec, "yubikey-5-packed.json"))...); code != 0 || !strings.Contains(out, "ALLOWED") {
		t.Fatalf("genuine YubiKey 5: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, append(flags, "--json", filepath.Join(vec, "yubikey-neo-fido-u2f.json"))...); code != 1 || !strings.Contains(out, `"aaguid-not-allowed"`) {
		t.Fatalf("U2F key: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "attest", "verify", filepath.Join(vec, "yubikey-5-packed.json")); code != 1 {
		t.Fatalf("registration for example.com judged for login.microsoft.com: exit %d", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	if code, _, _ := runCLI(t, append(flags, bad)...); code != 2 {
		t.Fatalf("unreadable input: exit %d", code)
	}
	if code, _, _ := runCLI(t, append(flags, filepath.Join(t.TempDir(), "missing.json"))...); code != 2 {
		t.Fatalf("missing file: exit %d", code)
	}
}

func TestPolicyCheck(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "check", "default")
	if code != 0 || !strings.Contains(out, "Yubico U2F Root CA Serial 457200631") || !strings.Contains(out, "2fc0579f-8113-47ea-b116-bb5a8db9202a") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// The allowed models fit the console's 80 columns (a long model name
	// pushed a table to 131); only the policy's own name may be longer.
	for _, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 && !strings.HasPrefix(l, "Policy \"keyceremony default:") {
			t.Errorf("%d columns: %q", n, l)
		}
	}
	bad := filepath.Join(t.TempDir(), "p.json")
	os.WriteFile(bad, []byte(`{"version":1,"surprise":true}`), 0o644)
	if code, _, errOut := runCLI(t, "policy", "check", bad); code != 2 || !strings.Contains(errOut, "surprise") {
		t.Fatalf("unknown key: exit %d %s", code, errOut)
	}
}

func TestCeremonyConfigAndTerminal(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.json")
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	good := `{"tenant_id":"t","client_id":"c","account":"breakglass1@contoso.onmicrosoft.com","officer_a":"A","officer_b":"B","out_dir":"` + dir + `","retire":true}`
	if _, err := config.Load(write(good)); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"unknown key":  strings.Replace(good, `"retire":true`, `"retire":true,"pin":"1234"`, 1),
		"same officer": strings.Replace(good, `"officer_b":"B"`, `"officer_b":"A"`, 1),
		"no account":   strings.Replace(good, `"account":"breakglass1@contoso.onmicrosoft.com",`, ``, 1),
	} {
		if _, err := config.Load(write(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Not a terminal: a real ceremony refuses to run headless.
	if code, _, errOut := runCLI(t, "ceremony", "--config", write(good)); code != 2 || !strings.Contains(errOut, "terminal") {
		t.Fatalf("headless ceremony: %d %s", code, errOut)
	}
}

func TestRehearseHealth(t *testing.T) {
	code, out, errOut := runCLI(t, "rehearse", "health", "--yes", "--out", t.TempDir())
	if code != 0 || !strings.Contains(out, "All checks passed") || strings.Count(out, "\n  pass ") < 15 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// The monitoring checks, on the rehearsal's own emulated subscription
	// (internal/sim/armemu), set up by `monitor setup`'s plan.
	for _, check := range []string{"Entra diagnostic setting", "log retention", "workspace sign-ins", "workspace audit log", "alert rule",
		"alert fired"} {
		if !strings.Contains(out, "\n  pass             "+check+" ") {
			t.Errorf("rehearse health shows no passing %q check:\n%s", check, out)
		}
	}
}

func TestHealthRefusesATamperedReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	if code, _, errOut := runCLI(t, "rehearse", "--yes", "--out", dir); code != 0 {
		t.Fatal(errOut)
	}
	body, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	body[40] ^= 1
	os.WriteFile(filepath.Join(dir, "report.json"), body, 0o644)
	cfg := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(cfg, []byte(`{"tenant_id":"t","client_id":"c","account":"breakglass1@contoso.onmicrosoft.com","officer_a":"A","officer_b":"B",
		"out_dir":"`+t.TempDir()+`","software_key":"`+filepath.Join(t.TempDir(), "ws.key")+`","auth":"device-code"}`), 0o600)
	code, out, errOut := runCLI(t, "health", "--config", cfg, "--report", filepath.Join(dir, "report.json"), "--yes")
	if code != 2 || !strings.Contains(errOut, "last report does not verify") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// CLI conventions: every command and verb answers -h and --help with its
// own usage on standard output and exit 0; flags may follow positional
// arguments; --version names version, revision and Go; an unknown command
// is a usage error (2) with the usage on standard error.
func TestCLIConventions(t *testing.T) {
	for _, args := range [][]string{
		{"rehearse"}, {"ceremony"}, {"health"}, {"devices"}, {"info"}, {"simkey"}, {"simkey", "serve"},
		{"attest"}, {"attest", "verify"}, {"policy"}, {"report"}, {"report", "verify"}, {"report", "show"},
		{"report", "print"}, {"report", "key"}, {"graph-emulator"}, {"offline"}, {"offline", "create"}, {"config"}, {"config", "init"}, {"config", "udev"}, {"config", "check"}, {"policy", "roots"}, {"version"}, {"completion"}, {"history"},
		{"monitor"}, {"monitor", "setup"},
	} {
		for _, h := range []string{"-h", "--help"} {
			code, out, errOut := runCLI(t, append(append([]string(nil), args...), h)...)
			if code != 0 || !strings.Contains(out, "usage:") || !strings.Contains(out, "keyceremony "+args[0]) || errOut != "" {
				t.Errorf("%v %s: exit %d, stdout %q, stderr %q", args, h, code, out, errOut)
			}
		}
	}
	// Only the command's own flags.
	if _, out, _ := runCLI(t, "report", "verify", "-h"); strings.Contains(out, "-tpm") || !strings.Contains(out, "-previous") {
		t.Errorf("report verify -h:\n%s", out)
	}
	code, out, _ := runCLI(t, "--version")
	if code != 0 || !strings.Contains(out, "keyceremony ") || !strings.Contains(out, "revision ") || !strings.Contains(out, "go1.") {
		t.Errorf("--version: %d %q", code, out)
	}
	code, out, errOut := runCLI(t, "frobnicate")
	if code != 2 || out != "" || !strings.Contains(errOut, "Usage:") || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q %q", code, out, errOut)
	}
}

// The overview, every command's -h and the usage errors of the slips an
// officer makes at the command line (an unknown flag, a required flag left
// out) fit the 80 columns of the workstation's console (the usage lines
// are wrapped, a flag kept with its value), and the overview names every
// command the CLI takes.
func TestUsageFitsEightyColumns(t *testing.T) {
	_, overview, _ := runCLI(t, "help")
	texts := []string{overview}
	for _, c := range commands() {
		if !strings.Contains(overview, "keyceremony "+c.Name) {
			t.Errorf("the overview does not name %q", c.Name)
		}
		_, out, _ := runCLI(t, append(strings.Fields(c.Name), "-h")...)
		texts = append(texts, strings.SplitN(out, "\nflags:", 2)[0]) // Go's flag defaults are not ours to wrap
		// A slip on the command line: the error and the usage it repeats.
		code, _, slip := runCLI(t, append(strings.Fields(c.Name), "--no-such-flag")...)
		if code != 2 || !strings.Contains(slip, "keyceremony "+c.Name+": flag provided but not defined: -no-such-flag\nusage: keyceremony "+c.Name) {
			t.Errorf("%s --no-such-flag: exit %d\n%s", c.Name, code, slip)
		}
		texts = append(texts, slip)
	}
	// The flags a command needs, missing: each named with what it is for.
	for _, args := range [][]string{{"ceremony"}, {"health"}, {"offline", "create"}, {"offline", "register"}, {"offline", "export"}, {"history", "safe"}, {"report", "print", "r.json"}, {"info"}} {
		code, _, slip := runCLI(t, args...)
		if code != 2 || !strings.Contains(slip, "required\n  --") {
			t.Errorf("%q: exit %d\n%s", args, code, slip)
		}
		texts = append(texts, slip)
	}
	for _, text := range texts {
		for _, line := range strings.Split(text, "\n") {
			if n := utf8.RuneCountInString(line); n > 80 {
				t.Errorf("%d columns: %q", n, line)
			}
		}
	}
}

// version --json carries what the officers compare before a ceremony: the
// SHA-256 of the very file running (checked here against the test binary's
// own bytes), the Go version, and every compiled-in module with its go.sum
// hash. Without a stamped revision it says "unknown", never a guess.
func TestVersionJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "version", "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("version --json: exit %d, stderr %q", code, errOut)
	}
	var v buildinfo.Info
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version --json is not JSON: %v\n%s", err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if v.BinarySHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("binary_sha256 %s, the running file hashes to %x", v.BinarySHA256, sum)
	}
	if v.GoVersion != runtime.Version() || v.Version != version {
		t.Errorf("version %q go %q", v.Version, v.GoVersion)
	}
	if revision == "" && !strings.HasPrefix(v.Revision, "unknown") {
		t.Errorf("unstamped build claims revision %q", v.Revision)
	}
	found := map[string]string{}
	for _, m := range v.Modules {
		found[m.Path] = m.Sum
	}
	for _, dep := range []string{"github.com/charmbracelet/bubbletea", "github.com/microsoftgraph/msgraph-sdk-go", "github.com/google/go-tpm"} {
		if !strings.HasPrefix(found[dep], "h1:") {
			t.Errorf("module %s: sum %q, want its go.sum h1: hash", dep, found[dep])
		}
	}
	if code, _, errOut := runCLI(t, "version", "extra"); code != 2 || !strings.Contains(errOut, "usage: keyceremony version") {
		t.Errorf("version extra: exit %d %q", code, errOut)
	}
}

// Flags after the positional argument are read as flags.
func TestFlagsAfterPositionalArguments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if code, out, errOut := runCLI(t, "rehearse", "--yes", "--out", dir); code != 0 {
		t.Fatalf("rehearse: %d %s %s", code, out, errOut)
	}
	path := filepath.Join(dir, "report.json")
	code, out, errOut := runCLI(t, "report", "verify", path, "--rehearsal")
	if code != 0 || !strings.Contains(out, "OK: signature") {
		t.Fatalf("report verify REPORT --rehearsal: %d %s %s", code, out, errOut)
	}
}

// Without a TPM, each command names the way it takes a software key, and
// that way exists: the config key for health (and ceremony), the flag for
// offline and report key.
func TestNoTPMMessagesNameRealKeysAndFlags(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, "rehearse", "--yes", "--out", filepath.Join(dir, "r")); code != 0 {
		t.Fatalf("rehearse: %s %s", out, errOut)
	}
	cfg := filepath.Join(dir, "c.json")
	body := `{"tenant_id":"t","client_id":"c","account":"breakglass1@contoso.onmicrosoft.com","officer_a":"A","officer_b":"B","out_dir":"` + dir + `","retire":true,"tpm":"` + filepath.Join(dir, "no-tpm") + `"}`
	os.WriteFile(cfg, []byte(body), 0o600)
	code, _, errOut := runCLI(t, "health", "--config", cfg, "--report", filepath.Join(dir, "r", "report.json"), "--yes")
	if code != 2 || !strings.Contains(errOut, `"software_key": "FILE"`) {
		t.Fatalf("health without a TPM: %d %s", code, errOut)
	}
	// The key it names is one the config file accepts.
	withKey := strings.Replace(body, `"retire":true`, `"retire":true,"software_key":"`+filepath.Join(dir, "ws.key")+`"`, 1)
	os.WriteFile(cfg, []byte(withKey), 0o600)
	if _, err := config.Load(cfg); err != nil {
		t.Fatalf("the named config key is refused: %v", err)
	}
	code, _, errOut = runCLI(t, "report", "key", "--tpm", filepath.Join(dir, "no-tpm"))
	if code != 2 || !strings.Contains(errOut, "--software-key FILE") {
		t.Fatalf("report key without a TPM: %d %s", code, errOut)
	}
	if code, out, _ := runCLI(t, "report", "key", "-h"); code != 0 || !strings.Contains(out, "-software-key") {
		t.Fatalf("report key has no --software-key flag: %s", out)
	}
	// A software key that is not there yet (a first use, or a slip in the
	// path) is made, and the officers are told, with its fingerprint; the
	// second use of the same path says nothing of the kind.
	key := filepath.Join(dir, "workstation.pem")
	code, out, errOut := runCLI(t, "report", "key", "--software-key", key)
	if code != 0 || !strings.Contains(errOut, "There was no key at "+key+": created a NEW software key there, SHA256:") || !strings.Contains(out, "SHA256:") {
		t.Fatalf("report key with a new software key: %d %s %s", code, out, errOut)
	}
	if code, again, errOut := runCLI(t, "report", "key", "--software-key", key); code != 0 || errOut != "" || again != out {
		t.Fatalf("report key with the same key again: %d %q (was %q) %s", code, again, out, errOut)
	}
}

// config init writes a complete, commented example that the ceremony
// accepts as it is (it gets as far as asking for the officers' terminal),
// and never overwrites a file.
func TestConfigInitIsAcceptedAsIs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ceremony.jsonc")
	if code, out, errOut := runCLI(t, "config", "init", "--out", path); code != 0 || !strings.Contains(out, path) {
		t.Fatalf("config init: %d %s %s", code, out, errOut)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "// ") {
		t.Fatal("the example has no comments")
	}
	if _, err := config.Load(path); err != nil {
		t.Fatalf("the example is refused: %v", err)
	}
	code, _, errOut := runCLI(t, "ceremony", "--config", path)
	if code != 2 || !strings.Contains(errOut, "at a terminal") {
		t.Fatalf("ceremony with the example: %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "config", "init", "--out", path); code != 2 {
		t.Fatal("config init overwrote a file")
	}
}

// config check, the day before: a rehearsal's report is accepted as the
// previous report of its own account and refused for another one; nothing
// is signed in (the config names no reachable tenant) and exit 2 names the
// config key to change.
func TestConfigCheckPreviousReport(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "rehearse", "--yes", "--out", dir); code != 0 {
		t.Fatalf("rehearse: %s", errOut)
	}
	cfg := func(account string) string {
		return writeFile(t, `{"tenant_id": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000",
			"account": "`+account+`", "previous_report": "`+filepath.Join(dir, report.FileReport)+`",
			"officer_a": "Alice", "officer_b": "Bob", "out_dir": "`+filepath.Join(dir, "next")+`", "software_key": "`+filepath.Join(dir, "sw.key")+`"}`)
	}
	if code, out, errOut := runCLI(t, "config", "check", cfg("BreakGlass1@contoso.onmicrosoft.com")); code != 0 || !strings.Contains(out, "previous report kc-") || !strings.Contains(out, "Ready.") {
		t.Fatalf("own account: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "config", "check", cfg("breakglass2@contoso.onmicrosoft.com")); code != 2 || !strings.Contains(errOut, "previous_report is a report of breakglass1@contoso.onmicrosoft.com") {
		t.Fatalf("another account: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "sw.key")); err == nil {
		t.Fatal("config check created the software key")
	}
}

// The health check (and the ceremony, after its terminal check) refuses a
// config that config check would refuse, before any sign-in, naming every
// key to change at once.
func TestSessionRefusesWhatConfigCheckNames(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, `{"tenant_id": "00000000-0000-0000-0000-000000000000", "client_id": "66666666-7777-8888-9999-000000000000",
		"account": "bg1@contoso.onmicrosoft.com", "officer_a": "Alice", "officer_b": "Bob", "out_dir": "`+filepath.Join(dir, "out")+`",
		"tpm": "`+filepath.Join(dir, "no-tpm")+`"}`)
	code, _, errOut := runCLI(t, "health", "--config", cfg, "--report", filepath.Join(dir, "report.json"))
	if code != 2 || !strings.Contains(errOut, "tenant_id is the example's placeholder") || !strings.Contains(errOut, `set "software_key"`) ||
		!strings.Contains(errOut, "keyceremony config check "+cfg) || strings.Contains(errOut, "Signed in") {
		t.Fatalf("health with an unready config: %d %s", code, errOut)
	}
}

// config udev prints the very rule the Debian package installs
// (packaging/nfpm.yaml takes udev/70-keyceremony.rules), for a workstation
// that has the binary and no checkout; it takes no arguments.
func TestConfigUdevPrintsTheShippedRule(t *testing.T) {
	want, err := os.ReadFile("../../udev/70-keyceremony.rules")
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "config", "udev"); code != 0 || out != string(want) {
		t.Fatalf("config udev: %d %q %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "config", "udev", "extra"); code != 2 || !strings.Contains(errOut, "no arguments") {
		t.Fatalf("config udev extra: %d %s", code, errOut)
	}
}

// policy show prints the embedded policy; policy roots exports its roots,
// each the bytes the policy pins.
func TestPolicyShowAndRoots(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "show")
	var p struct {
		Version int `json:"version"`
		Roots   []struct{ Name string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || p.Version != 1 || len(p.Roots) != 3 {
		t.Fatalf("policy show: %d %s", code, out)
	}
	dir := t.TempDir()
	code, out, _ = runCLI(t, "policy", "roots", "--out", dir)
	if code != 0 || !strings.Contains(out, "62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8") {
		t.Fatalf("policy roots: %d %s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(files) != 3 {
		t.Fatalf("%d root files", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		blk, _ := pem.Decode(b)
		sum := sha256.Sum256(blk.Bytes)
		if !strings.Contains(out, hex.EncodeToString(sum[:])) {
			t.Errorf("%s does not hash to a listed fingerprint", f)
		}
	}
}

// The sign-in settings the README names exist where it says: config keys
// for the ceremony and health, flags for offline export and register.
func TestDocumentedSignInSettingsExist(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"auth": "certificate", "certificate": "app.pem"`, "--auth certificate --cert app.pem"} {
		if !strings.Contains(string(readme), s) {
			t.Fatalf("README no longer says %s", s)
		}
	}
	cfg := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(cfg, []byte(`{"tenant_id":"t","client_id":"c","account":"a","officer_a":"A","officer_b":"B","out_dir":"o","retire":true,"auth":"certificate","certificate":"app.pem"}`), 0o600)
	if _, err := config.Load(cfg); err != nil {
		t.Fatalf("config keys auth/certificate: %v", err)
	}
	for _, verb := range []string{"export", "register"} {
		_, out, _ := runCLI(t, "offline", verb, "-h")
		if !strings.Contains(out, "-auth") || !strings.Contains(out, "-cert") {
			t.Errorf("offline %s has no --auth/--cert:\n%s", verb, out)
		}
	}
}
