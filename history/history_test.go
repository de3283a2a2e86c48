package history

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureKey  workstation.Signer
	fixtureErr  error
	fixtureEnd  = time.Now().UTC().Truncate(time.Second)
)

// safe is a fixture safe: two accounts over three years of rehearsal
// ceremonies and health checks (made by internal/sim/rehearsal.Safe on an injected
// clock), copied afresh for each test so a test may tamper with its copy.
func safe(t *testing.T) (dir, fp string) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "keyceremony-history-")
		if fixtureErr == nil {
			fixtureKey, fixtureErr = rehearsal.Safe(context.Background(), fixtureDir, 2, 3, fixtureEnd)
		}
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	dir = filepath.Join(t.TempDir(), "safe")
	if out, err := exec.Command("cp", "-a", fixtureDir, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the fixture: %v %s", err, out)
	}
	fp, err := fixtureKey.Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	return dir, fp
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

func read(t *testing.T, dir, fp string, now time.Time) *History {
	t.Helper()
	h, err := Read(dir, Options{Trusted: []string{fp}, Rehearsal: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The whole safe verifies: two accounts, each with three ceremonies and
// three health checks in one chain, next rotation and health check due
// from the defaults (one year after the last ceremony, 90 days after the
// last report), nothing overdue: exit 0.
func TestSafeVerifies(t *testing.T) {
	dir, fp := safe(t)
	h := read(t, dir, fp, fixtureEnd)
	if len(h.Problems) != 0 || h.exitCode() != 0 {
		t.Fatalf("problems in a clean safe: %+v", h.Problems)
	}
	if len(h.Accounts) != 2 {
		t.Fatalf("%d accounts, want 2", len(h.Accounts))
	}
	for _, a := range h.Accounts {
		if len(a.Entries) != 6 {
			t.Fatalf("%s: %d reports, want 6", a.UPN, len(a.Entries))
		}
		for i, e := range a.Entries {
			want := map[bool]string{true: report.TypeCeremony, false: report.TypeHealth}[i%2 == 0]
			if e.Type != want || (i > 0 && e.Previous != a.Entries[i-1].SHA256) || (i == 0 && e.Previous != "") {
				t.Fatalf("%s entry %d: %+v", a.UPN, i, e)
			}
			if e.Type == report.TypeCeremony && len(e.Enrolled) != 2 {
				t.Fatalf("%s ceremony %s enrolled %v", a.UPN, e.CeremonyID, e.Enrolled)
			}
		}
		lastCeremony, last := a.Entries[4], a.Entries[5]
		if !a.NextRotation.Equal(lastCeremony.Ended.Add(defaultRotationInterval)) || !a.NextHealth.Equal(last.Ended.Add(defaultHealthInterval)) {
			t.Fatalf("%s due: rotation %v, health %v", a.UPN, a.NextRotation, a.NextHealth)
		}
	}
	text := h.text()
	for _, want := range []string{"breakglass1@contoso.onmicrosoft.com", "breakglass2@contoso.onmicrosoft.com", "enrolled key 1", "retired", "next rotation due", "next health check due", "Every report verifies"} {
		if !strings.Contains(text, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, text)
		}
	}
}

// problem finds the one problem of kind whose message contains want.
func problem(t *testing.T, h *History, kind, want string) {
	t.Helper()
	for _, p := range h.Problems {
		if p.Kind == kind && strings.Contains(p.Message, want) {
			return
		}
	}
	t.Fatalf("no %s problem %q among %+v", kind, want, h.Problems)
}

func reportDirs(t *testing.T, dir, account string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, account, "*"))
	if len(m) != 6 {
		t.Fatalf("%d report folders for %s", len(m), account)
	}
	return m // sorted by date: ceremony, health, ceremony, …
}

const bg1 = "breakglass1@contoso.onmicrosoft.com"

func TestReportDeleted(t *testing.T) {
	dir, fp := safe(t)
	os.RemoveAll(reportDirs(t, dir, bg1)[3]) // year 2's health check
	h := read(t, dir, fp, fixtureEnd)
	problem(t, h, kindBroken, "a report is missing from the chain")
	if h.exitCode() != 2 {
		t.Fatalf("exit %d, want 2", h.exitCode())
	}
}

func TestByteChanged(t *testing.T) {
	dir, fp := safe(t)
	f := filepath.Join(reportDirs(t, dir, bg1)[2], report.FileReport)
	b, _ := os.ReadFile(f)
	i := strings.Index(string(b), "ws-rehearsal")
	b[i] = 'W' // still a report, still JSON: only the signature can tell
	os.WriteFile(f, b, 0o644)
	h := read(t, dir, fp, fixtureEnd)
	problem(t, h, kindBroken, "does not verify")
	if h.exitCode() != 2 {
		t.Fatalf("exit %d, want 2", h.exitCode())
	}
}

// resign writes a copy of the report in src, changed by change, signed by
// signer, into the folder dst.
func resign(t *testing.T, src, dst string, signer workstation.Signer, change func(*report.Report)) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(src, report.FileReport))
	r, err := report.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	change(r)
	pub, _ := signer.SSHPublicKey()
	r.Workstation.SignerPublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	r.Workstation.SignerFingerprint, _ = signer.Fingerprint()
	if _, err := report.Write(dst, r, signer); err != nil {
		t.Fatal(err)
	}
}

// replaceReport replaces the report folder dir with a changed copy of its
// report signed by signer.
func replaceReport(t *testing.T, dir string, signer workstation.Signer, change func(*report.Report)) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "replacement")
	resign(t, dir, tmp, signer, change)
	os.RemoveAll(dir)
	if out, err := exec.Command("cp", "-a", tmp, dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
}

// A second, validly signed year-3 ceremony names the same previous report
// as the real one: two futures for one past.
func TestForkedChain(t *testing.T) {
	dir, fp := safe(t)
	dirs := reportDirs(t, dir, bg1)
	resign(t, dirs[4], dirs[4]+"-second", fixtureKey, func(r *report.Report) {
		r.CeremonyID += "-second"
		r.Started, r.Ended = r.Started.Add(time.Minute), r.Ended.Add(time.Minute)
	})
	h := read(t, dir, fp, fixtureEnd)
	problem(t, h, kindBroken, "the chain forks")
	if h.exitCode() != 2 {
		t.Fatalf("exit %d, want 2", h.exitCode())
	}
}

// The last health check replaced by one signed with another workstation's
// key: its signature verifies, but nobody trusts that key.
func TestUnknownKey(t *testing.T) {
	dir, fp := safe(t)
	other, err := workstation.NewRehearsal()
	if err != nil {
		t.Fatal(err)
	}
	dirs := reportDirs(t, dir, bg1)
	replaceReport(t, dirs[5], other, func(r *report.Report) { r.Findings = nil })
	h := read(t, dir, fp, fixtureEnd)
	problem(t, h, kindBroken, "signed by an unknown workstation key")
	if h.exitCode() != 2 {
		t.Fatalf("exit %d, want 2", h.exitCode())
	}
}

// 100 days on, each account's last health check (5 days before the
// fixture's end, 90-day interval) is overdue; the rotation is not; exit 1.
func TestHealthCheckOverdue(t *testing.T) {
	dir, fp := safe(t)
	h := read(t, dir, fp, fixtureEnd.AddDate(0, 0, 100))
	problem(t, h, kindOverdue, "health check overdue since")
	for _, p := range h.Problems {
		if p.Kind != kindOverdue || strings.Contains(p.Message, "rotation") {
			t.Errorf("unexpected problem %+v", p)
		}
	}
	if len(h.Problems) != 2 || h.exitCode() != 1 {
		t.Fatalf("exit %d, problems %+v; want one overdue health check per account, exit 1", h.exitCode(), h.Problems)
	}
	// A shorter rotation interval from the config makes the rotation late too.
	h, err := Read(dir, Options{Trusted: []string{fp}, Rehearsal: true, Now: fixtureEnd,
		Policy: Policy{RotationInterval: 30 * 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	problem(t, h, kindOverdue, "key rotation overdue since")
}

// Without a trusted key there is nothing to judge against; rehearsal
// reports are refused unless asked for.
func TestNeedsTrustAndRefusesRehearsals(t *testing.T) {
	dir, fp := safe(t)
	if _, err := Read(dir, Options{Now: fixtureEnd}); err == nil {
		t.Error("no trusted key, no error")
	}
	h, err := Read(dir, Options{Trusted: []string{fp}, Now: fixtureEnd})
	if err != nil {
		t.Fatal(err)
	}
	problem(t, h, kindBroken, "REHEARSAL")
}

// An account renamed between reports is the same account (its object ID):
// its chain goes on, shown under the latest name.
func TestRenamedAccountKeepsItsChain(t *testing.T) {
	dir, fp := safe(t)
	dirs := reportDirs(t, dir, bg1)
	replaceReport(t, dirs[5], fixtureKey, func(r *report.Report) { r.Account.UPN = "bg1-renamed@contoso.onmicrosoft.com" })
	h := read(t, dir, fp, fixtureEnd)
	if len(h.Problems) != 0 || len(h.Accounts) != 2 {
		t.Fatalf("problems %+v, %d accounts", h.Problems, len(h.Accounts))
	}
	found := false
	for _, a := range h.Accounts {
		found = found || (a.UPN == "bg1-renamed@contoso.onmicrosoft.com" && len(a.Entries) == 6)
	}
	if !found {
		t.Fatalf("the renamed account's chain: %+v", h.Accounts)
	}
}

// FuzzRead: whatever bytes a report.json, its signature and a sitting's
// summary hold, history never panics and never trusts them: each is a
// problem of kind broken (exit 2), or the folder holds no report at all.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"schema":"keyceremony-report/1","type":"health"}`), []byte("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"), []byte("SHA-256 00"))
	f.Add([]byte(`{"workstation":{"signer_public_key":"ecdsa-sha2-nistp256 AAAA"}}`), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, body, sig, summary []byte) {
		dir := t.TempDir()
		sub := filepath.Join(dir, "acct", "2026")
		os.MkdirAll(sub, 0o700)
		os.WriteFile(filepath.Join(sub, report.FileReport), body, 0o600)
		os.WriteFile(filepath.Join(sub, report.FileSignature), sig, 0o600)
		os.WriteFile(filepath.Join(dir, report.FileSummary), summary, 0o600)
		os.WriteFile(filepath.Join(dir, report.FileSummarySignature), sig, 0o600)
		h, err := Read(dir, Options{Trusted: []string{"SHA256:0000000000000000000000000000000000000000000"}, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Accounts) != 0 || h.exitCode() != 2 {
			t.Fatalf("untrusted bytes accepted: %+v", h)
		}
	})
}

// Err carries the command's exit code and says what kind of problem there
// is: nothing (nil), overdue or open (1), broken (2), broken winning.
func TestErrCarriesTheExitCode(t *testing.T) {
	var h History
	if err := h.Err(); err != nil {
		t.Fatalf("no problems: %v", err)
	}
	for _, tc := range []struct {
		kinds []string
		code  int
		say   string
	}{
		{[]string{kindOverdue}, 1, "1 problem(s): something is overdue"},
		{[]string{kindOverdue, kindBroken}, 2, "2 problem(s); a signature, a file or a chain link is broken"},
	} {
		h.Problems = nil
		for _, k := range tc.kinds {
			h.Problems = append(h.Problems, Problem{Kind: k})
		}
		var code interface{ ExitCode() int }
		err := h.Err()
		if !errors.As(err, &code) || code.ExitCode() != tc.code || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%v: %v", tc.kinds, err)
		}
	}
}

// An auditor who copies the fingerprint without its "SHA256:" prefix is
// understood; one who copies something else is told the form expected.
func TestTrustedFingerprintForms(t *testing.T) {
	dir, fp := safe(t)
	bare := strings.TrimPrefix(fp, "SHA256:")
	h, err := Read(dir, Options{Trusted: []string{bare}, Rehearsal: true, Now: fixtureEnd})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range h.Problems {
		if strings.Contains(p.Message, "unknown workstation key") {
			t.Fatalf("the bare fingerprint %s was not recognised: %s", bare, p.Message)
		}
	}
	for _, bad := range []string{"SHA256:X", "X", "MD5:" + bare, bare[:40]} {
		_, err := Read(dir, Options{Trusted: []string{bad}, Rehearsal: true, Now: fixtureEnd})
		if err == nil || !strings.Contains(err.Error(), "SHA256: followed by 43 characters") {
			t.Errorf("--trust %q: %v, want the expected form named", bad, err)
		}
	}
}
