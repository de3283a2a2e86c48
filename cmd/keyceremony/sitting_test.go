package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/internal/testenv"
	"github.com/keyceremony/keyceremony/report"
)

// `rehearse --accounts 2`: each account gets its own two keys and report,
// both reports and the summary page verify with OpenSSH's ssh-keygen (an
// outside verifier), the summary lists the four key fingerprints, the
// second account is told the first account's keys are checked against,
// and `history` over the folder finds two whole chains.
func TestRehearseTwoAccounts(t *testing.T) {
	sshKeygen := testenv.Tool(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "rehearse", "--yes", "--accounts", "2", "--out", dir)
	if code != 0 {
		t.Fatalf("rehearse --accounts 2: %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "2 key(s) of other accounts were provisioned in this sitting") {
		t.Errorf("the second account was not checked against the first's keys:\n%s", out)
	}
	verify := func(dir, file, sig string) {
		t.Helper()
		cmd := exec.Command(sshKeygen, "-Y", "verify", "-f", filepath.Join(dir, "allowed_signers"), "-I", "workstation", "-n", report.Namespace, "-s", sig)
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen -Y verify %s: %v\n%s", file, err, b)
		}
	}
	var fp string
	for _, upn := range []string{"breakglass1@contoso.onmicrosoft.com", "breakglass2@contoso.onmicrosoft.com"} {
		d := filepath.Join(dir, upn)
		verify(d, filepath.Join(d, report.FileReport), filepath.Join(d, report.FileSignature))
		b, _ := os.ReadFile(filepath.Join(d, report.FileReport))
		r, err := report.Parse(b)
		if err != nil || r.Account.UPN != upn || len(r.Keys) != 2 {
			t.Fatalf("%s: %v %+v", upn, err, r)
		}
		fp = r.Workstation.SignerFingerprint
		verify(d, filepath.Join(dir, report.FileSummary), filepath.Join(dir, report.FileSummarySignature))
	}
	summary, _ := os.ReadFile(filepath.Join(dir, report.FileSummary))
	fps := regexp.MustCompile(`(?m)^  key [12]  (SHA256:[A-Za-z0-9+/]{43})`).FindAllStringSubmatch(string(summary), -1)
	seen := map[string]bool{}
	for _, m := range fps {
		seen[m[1]] = true
	}
	if len(fps) != 4 || len(seen) != 4 {
		t.Fatalf("the summary lists %d key fingerprints (%d distinct), want 4:\n%s", len(fps), len(seen), summary)
	}
	for i, line := range strings.Split(string(summary), "\n") {
		if n := len([]rune(line)); n > 100 {
			t.Errorf("summary line %d is %d columns wide (at most 100): %q", i+1, n, line)
		}
	}
	if code, hist, _ := runCLI(t, "history", dir, "--trust", fp, "--rehearsal"); code != 0 || strings.Count(hist, "ceremony REHEARSAL kc-") != 2 ||
		!strings.Contains(hist, "Sitting summary summary.txt verifies") {
		t.Fatalf("history of the sitting: %d\n%s", code, hist)
	}
	// Run again (as after an interruption): finished accounts are said to
	// be done and nothing is done to them again.
	if code, again, _ := runCLI(t, "rehearse", "--yes", "--accounts", "2", "--out", dir); code != 0 || strings.Count(again, "nothing is done again") != 2 || strings.Contains(again, "Rehearsal complete") {
		t.Fatalf("rerun of a finished sitting: %d\n%s", code, again)
	}
	// A summary changed after signing is caught by history.
	os.WriteFile(filepath.Join(dir, report.FileSummary), append(summary, "  key 3  SHA256:forged\n"...), 0o600)
	if code, hist, _ := runCLI(t, "history", dir, "--trust", fp, "--rehearsal"); code != 2 || !strings.Contains(hist, "summary does not verify") {
		t.Fatalf("history of a changed summary: %d\n%s", code, hist)
	}
}

// health covers every account of the config: a report of an account the
// config does not name, two reports of one account, or an account without
// its report is a usage error before any key is touched.
func TestHealthCoversEveryAccount(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, "rehearse", "--yes", "--accounts", "2", "--out", dir); code != 0 {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	r1 := filepath.Join(dir, "breakglass1@contoso.onmicrosoft.com", report.FileReport)
	r2 := filepath.Join(dir, "breakglass2@contoso.onmicrosoft.com", report.FileReport)
	both := []string{"breakglass1@contoso.onmicrosoft.com", "BreakGlass2@contoso.onmicrosoft.com"}
	for _, tc := range []struct {
		accounts []string
		reports  []string
		want     string
	}{
		{both, []string{r1, r2}, ""},
		{both, []string{r1}, "names BreakGlass2@contoso.onmicrosoft.com too"},
		{both, []string{r1, r1}, "are both reports of"},
		{both[:1], []string{r1, r2}, "which the config does not name"},
	} {
		_, err := health.ReadLastReports(tc.reports, "", tc.accounts)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%d accounts, %d reports: %v, want %q", len(tc.accounts), len(tc.reports), err, tc.want)
		}
	}
}
