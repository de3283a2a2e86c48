package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/testenv"
	"github.com/keyceremony/keyceremony/report"
)

// `keyceremony history` on a fixture safe (two accounts, three years of
// rehearsals): exit 0 with the timeline, --json for machines, --pdf for the
// binder (read back by poppler); a config's shorter health interval makes
// the health checks overdue (exit 1); a changed byte breaks it (exit 2);
// no --trust is a usage error naming the flag (exit 2).
func TestHistoryCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "safe")
	key, err := rehearsal.Safe(context.Background(), dir, 2, 3, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := key.Fingerprint()
	pdf := filepath.Join(t.TempDir(), "history.pdf")
	code, out, errOut := runCLI(t, "history", dir, "--trust", fp, "--rehearsal", "--pdf", pdf)
	if code != 0 || !strings.Contains(out, "breakglass2@contoso.onmicrosoft.com") || !strings.Contains(out, "next rotation due") || errOut != "" {
		t.Fatalf("history: %d\n%s\n%s", code, out, errOut)
	}
	pdftotext := testenv.Tool(t, "pdftotext", "poppler-utils")
	text, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
	if err != nil || !strings.Contains(string(text), "breakglass1@contoso.onmicrosoft.com") || !strings.Contains(string(text), "next health check due") {
		t.Fatalf("the PDF reads back as:\n%s (%v)", text, err)
	}
	// A rehearsal's history says so on paper, and leaves room for the
	// auditor's signature and date.
	for _, want := range []string{"REHEARSAL", "ceremony REHEARSAL", "Checked by the auditor", "Signature:", "Date and place:"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(out, "REHEARSAL") {
		t.Errorf("the text of a rehearsal's history does not say REHEARSAL:\n%s", out)
	}
	code, out, _ = runCLI(t, "history", dir, "--trust", fp, "--rehearsal", "--json")
	var h struct {
		Accounts []struct {
			UPN     string `json:"upn"`
			Entries []any  `json:"entries"`
		} `json:"accounts"`
		Problems  []any `json:"problems"`
		Rehearsal bool  `json:"rehearsal"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil || code != 0 || len(h.Accounts) != 2 || len(h.Accounts[0].Entries) != 6 || len(h.Problems) != 0 || !h.Rehearsal {
		t.Fatalf("history --json: %d %v\n%s", code, err, out)
	}
	cfg := filepath.Join(t.TempDir(), "ceremony.jsonc")
	os.WriteFile(cfg, []byte(`{ // only the intervals are read
  "rotation_interval": "1y", "health_interval": "3d", }`), 0o644)
	if code, out, errOut := runCLI(t, "history", dir, "--trust", fp, "--rehearsal", "--config", cfg); code != 1 || !strings.Contains(out, "health check overdue") || !strings.Contains(errOut, "overdue") {
		t.Fatalf("a 3-day health interval: %d\n%s\n%s", code, out, errOut)
	}
	m, _ := filepath.Glob(filepath.Join(dir, "breakglass1@contoso.onmicrosoft.com", "*", report.FileReport))
	b, _ := os.ReadFile(m[1])
	os.WriteFile(m[1], []byte(strings.Replace(string(b), "ws-rehearsal", "Ws-rehearsal", 1)), 0o644)
	if code, out, _ := runCLI(t, "history", dir, "--trust", fp, "--rehearsal"); code != 2 || !strings.Contains(out, "does not verify") {
		t.Fatalf("a changed byte: %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "history", dir); code != 2 || !strings.Contains(errOut, "--trust") {
		t.Fatalf("no --trust: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "history", dir, "--trust", fp, "--config", writeFile(t, `{"health_interval": "soon"}`)); code != 2 || !strings.Contains(errOut, "not an interval") {
		t.Fatalf("a bad interval: %d %s", code, errOut)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
