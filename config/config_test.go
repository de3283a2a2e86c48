package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "config.jsonc")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// A config names one account or several, never both, never one twice.
func TestConfigAccounts(t *testing.T) {
	base := `"tenant_id": "t", "client_id": "c", "officer_a": "A", "officer_b": "B", "out_dir": "/tmp/x"`
	for _, tc := range []struct{ body, want string }{
		{`{` + base + `, "account": "a@x", "accounts": [{"account": "b@x"}]}`, "not both"},
		{`{` + base + `, "accounts": [{"account": "a@x"}, {"account": "A@x"}]}`, "twice"},
		{`{` + base + `, "accounts": [{"account": ""}]}`, "twice, or empty"},
		{`{` + base + `}`, "account (or accounts) are required"},
		{`{` + base + `, "account": "a@x", "pin_halves": "dictated"}`, "pin_halves"},
	} {
		f := writeFile(t, tc.body)
		if _, err := Load(f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.want)
		}
	}
}

// FuzzParseInterval: an interval from a config file is a positive duration
// or an error, never a panic or a zero that would make everything overdue.
func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"90d", "12w", "1y", "2160h", "0d", "-1y", "", "99999999999999999999d", "1.5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseInterval(s)
		if err == nil && d <= 0 {
			t.Fatalf("parseInterval(%q) = %v without an error", s, d)
		}
	})
}

// FuzzParse: whatever bytes a config file holds, Load answers with a
// config or an error, never a panic; an accepted config has what the
// ceremony cannot do without.
func FuzzParse(f *testing.F) {
	f.Add(bytes.Clone(example))
	f.Add([]byte(`{"tenant_id": "t", "client_id": "c", "officer_a": "A", "officer_b": "B", "out_dir": "o", "accounts": [{"account": "a"}]}`))
	f.Add([]byte(`{/* */ "tenant_id": "t",}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parse(b, "fuzz")
		if err != nil {
			return
		}
		if c.TenantID == "" || c.OfficerA == c.OfficerB || c.OutDir == "" || len(c.PrintCommand) == 0 {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
	})
}
