package sitting

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/config"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "config.jsonc")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// Several accounts in a config each get their own folder, out_dir/ACCOUNT
// (the out_dir rule, accountDir).
func TestConfigAccounts(t *testing.T) {
	base := `"tenant_id": "t", "client_id": "c", "officer_a": "A", "officer_b": "B", "out_dir": "/tmp/x"`
	c, err := config.Load(writeFile(t, `{`+base+`, "accounts": [{"account": "a@x"}, {"account": "b@x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := accountsOf(c)
	if err != nil || len(s) != 2 || s[1].OutDir != "/tmp/x/b@x" {
		t.Fatalf("sitting %+v %v", s, err)
	}
}

// A ceremony signed in with a client secret says so in its report: a
// certificate is the stronger choice.
func TestSecretSignInIsADeviation(t *testing.T) {
	c := config.File{Auth: "secret"}
	if d := signInDeviations(&c); len(d) != 1 || !strings.Contains(d[0], "certificate") {
		t.Fatalf("deviations %q", d)
	}
	if d := signInDeviations(&config.File{Auth: "certificate"}); d != nil {
		t.Fatalf("certificate sign-in recorded %q", d)
	}
}

// FuzzParse: an accepted config has a sitting (its only error is a
// previous report it cannot read). (The rest of FuzzParse is config's.)
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../config/example.jsonc")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(`{"tenant_id": "t", "client_id": "c", "officer_a": "A", "officer_b": "B", "out_dir": "o", "accounts": [{"account": "a"}]}`))
	f.Add([]byte(`{/* */ "tenant_id": "t",}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "config.jsonc")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err != nil {
			return
		}
		if _, err := accountsOf(c); err != nil && !strings.Contains(err.Error(), "previous report") {
			t.Fatalf("accepted config has no sitting: %v", err)
		}
	})
}

// config check names what would stop the ceremony, each with the config
// key to change, and nothing when the config is ready: the example's
// placeholders, a previous_report that is not a report, a print_command
// that is not installed, a policy file that is not there, a missing TPM.
func TestCheckNamesWhatWouldStopTheCeremony(t *testing.T) {
	dir := t.TempDir()
	junk := writeFile(t, `{"not": "a report"}`)
	base := `"officer_a": "Alice", "officer_b": "Bob", "out_dir": "` + filepath.Join(dir, "out") + `"`
	ready := `{"tenant_id": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000", "account": "bg1@contoso.onmicrosoft.com", "software_key": "` + filepath.Join(dir, "sw.key") + `", ` + base + `}`
	c, err := config.Load(writeFile(t, ready))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	accounts, vf, err := Check(c, &out, time.Now(), true)
	if err != nil {
		t.Fatalf("a ready config: %v\n%s", err, out.String())
	}
	if len(accounts) != 1 || accounts[0].UPN != "bg1@contoso.onmicrosoft.com" || vf == nil || vf.Policy == nil {
		t.Fatalf("what Check loaded: %+v %+v", accounts, vf)
	}
	for _, want := range []string{"bg1@contoso.onmicrosoft.com", "Alice and Bob", `"BG1 key 2 ` + fmt.Sprint(time.Now().Year()) + ` YubiKey 5"`, "software key", "typed, one half by each officer", "keyceremony default",
		"not there yet: the ceremony will make a NEW key"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, out.String())
		}
	}
	// Once the key is there, the day before says nothing of a new one.
	os.WriteFile(filepath.Join(dir, "sw.key"), []byte("a key"), 0o600)
	out.Reset()
	if _, _, err := Check(c, &out, time.Now(), true); err != nil || strings.Contains(out.String(), "NEW key") {
		t.Errorf("an existing software key: %v\n%s", err, out.String())
	}
	os.Remove(filepath.Join(dir, "sw.key"))
	for _, tc := range []struct{ change, want string }{
		{`"tenant_id": "00000000-0000-0000-0000-000000000000"`, "tenant_id is the example's placeholder"},
		{`"previous_report": "` + junk + `"`, "previous_report is not a keyceremony report"},
		{`"pin_halves": "generated", "print_command": ["keyceremony-no-such-printer"]`, `print_command "keyceremony-no-such-printer"`},
		{`"policy": "` + filepath.Join(dir, "no-policy.json") + `"`, "attestation policy"},
		{`"software_key": "", "tpm": "` + filepath.Join(dir, "no-tpm") + `"`, `set "software_key"`},
		{`"keys": 3, "devices": ["simkey:/run/k1.sock", "simkey:/run/k2.sock"]`, "devices names 2 addresses for 3 keys"},
		// Issue 30: the same address twice would be key 1 enrolled as key 2.
		{`"devices": ["simkey:/run/k1.sock", "simkey:/run/k1.sock"]`, "key 1 and key 2 are the same address simkey:/run/k1.sock"},
		{`"devices": ["simkey:/run/k1.sock", "simkey:/run/k2.sock", "simkey:/run/k3.sock"]`, "devices names 3 addresses for 2 keys"},
		// The old default name pattern: "Break glass key 2 (, 2026-12-31)"
		// is 32 characters before the model; Entra takes 30 (keyname).
		{`"policy": "` + policyWithPattern(t, "Break glass key {n} ({model}, {date})") + `"`, "at most 30"},
		{`"policy": "` + policyWithPattern(t, "Break glass {model}") + `"`, "put {n} (the key number) in it"},
	} {
		body := strings.Replace(ready, `{`, `{`+tc.change+`, `, 1)
		if strings.Contains(tc.change, "tenant_id") {
			body = strings.Replace(ready, `"tenant_id": "11111111-2222-3333-4444-555555555555"`, tc.change, 1)
		}
		if strings.Contains(tc.change, "software_key") {
			body = strings.Replace(ready, `"software_key": "`+filepath.Join(dir, "sw.key")+`"`, strings.TrimPrefix(tc.change, `"software_key": "", `), 1)
		}
		c, err := config.Load(writeFile(t, body))
		if err != nil {
			t.Fatalf("%s: %v", tc.change, err)
		}
		if _, _, err := Check(c, io.Discard, time.Now(), true); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.change, err, tc.want)
		}
	}
}

// Issue 23 §3: the config names a Microsoft cloud, and each resolves to its
// documented endpoints (config.cloudByName); endpoints of any other host (the
// Graph emulator) are possible only as "cloud": "custom", and config check
// shows them as a deviation, which the report records too. The keys of
// earlier configs are refused with the exact keys that replace them.
func TestCloudAndRedirectedEndpoints(t *testing.T) {
	dir := t.TempDir()
	base := `"tenant_id": "11111111-2222-3333-4444-555555555555", "client_id": "66666666-7777-8888-9999-000000000000",
		"account": "bg1@contoso.onmicrosoft.com", "officer_a": "A", "officer_b": "B", "out_dir": "` + filepath.Join(dir, "out") + `",
		"software_key": "` + filepath.Join(dir, "sw.key") + `"`
	for _, tc := range []struct{ cloud, authority, graph string }{
		{``, "https://login.microsoftonline.com/", "https://graph.microsoft.com"},
		{`"cloud": "usgov",`, "https://login.microsoftonline.us/", "https://graph.microsoft.us"},
		{`"cloud": "usgovdod",`, "https://login.microsoftonline.us/", "https://dod-graph.microsoft.us"},
		{`"cloud": "china",`, "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn"},
	} {
		c, err := config.Load(writeFile(t, `{`+tc.cloud+base+`}`))
		if err != nil || c.Authority != tc.authority || c.Graph != tc.graph || c.CA != "" || signInDeviations(c) != nil {
			t.Errorf("%s: %+v %v", tc.cloud, c, err)
			continue
		}
		var out strings.Builder
		if _, _, err := Check(c, &out, time.Now(), true); err != nil || !strings.Contains(out.String(), tc.graph) || strings.Contains(out.String(), "DEVIATION") {
			t.Errorf("%s: config check %v\n%s", tc.cloud, err, out.String())
		}
	}
	ca := filepath.Join(dir, "emulator-ca.pem")
	os.WriteFile(ca, []byte("a CA"), 0o600)
	for _, tc := range []struct{ body, want string }{
		{`"authority": "https://emu.example:8443/", "graph": "https://emu.example:8443", "ca": "` + ca + `",`,
			`"cloud": "custom", "endpoints": {"authority": "https://emu.example:8443/", "graph": "https://emu.example:8443", "ca": "` + ca + `"}`},
		{`"graph": "https://graph.example",`, `"cloud": "custom", "endpoints": {"authority": "", "graph": "https://graph.example", "ca": ""}`},
		{`"cloud": "azurestack",`, "global, usgov, usgovdod or china"},
		{`"cloud": "custom",`, `"cloud": "custom" needs "endpoints"`},
		{`"cloud": "custom", "endpoints": {"authority": "http://emu/", "graph": "https://emu"},`, `"cloud": "custom" needs "endpoints"`},
		{`"endpoints": {"authority": "https://emu/", "graph": "https://emu"},`, `"endpoints" is for "cloud": "custom" only`},
	} {
		if _, err := config.Load(writeFile(t, `{`+tc.body+base+`}`)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.want)
		}
	}
	c, err := config.Load(writeFile(t, `{"cloud": "custom", "endpoints": {"authority": "https://emu.example:8443/", "graph": "https://emu.example:8444", "ca": "`+
		ca+`"},`+base+`}`))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if _, _, err := Check(c, &out, time.Now(), true); err != nil {
		t.Fatalf("a custom cloud is possible: %v\n%s", err, out.String())
	}
	for _, want := range []string{"DEVIATION", "NOT a Microsoft cloud's", "sign-in https://emu.example:8443/", "Graph https://emu.example:8444", ca} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
			t.Errorf("config check does not show %q:\n%s", want, out.String())
		}
	}
	if d := signInDeviations(c); len(d) != 1 || !strings.Contains(d[0], "https://emu.example:8444") {
		t.Errorf("the report's deviations: %q", d)
	}
	os.Remove(ca)
	if _, _, err := Check(c, io.Discard, time.Now(), true); err == nil || !strings.Contains(err.Error(), "endpoints: ca") {
		t.Errorf("a missing emulator CA: %v", err)
	}
}

// policyWithPattern writes the embedded default attestation policy, with its
// roots, to a temp dir with display_name_pattern set to pattern.
func policyWithPattern(t *testing.T, pattern string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile("../attest/default-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	p["display_name_pattern"] = pattern
	b, _ = json.Marshal(p)
	roots, _ := filepath.Glob("../attest/roots/*.pem")
	os.Mkdir(filepath.Join(dir, "roots"), 0o700)
	for _, r := range roots {
		pem, _ := os.ReadFile(r)
		os.WriteFile(filepath.Join(dir, "roots", filepath.Base(r)), pem, 0o600)
	}
	path := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue 30: config check does not say ready when out_dir already holds a
// journal (the ceremony would refuse to begin again over it) and names the
// one-line resume; the sessions (health, ceremony --resume) call Check
// without fresh and go on.
func TestCheckRefusesAStartedJournal(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	c, err := config.Load(writeFile(t, `{"tenant_id": "11111111-2222-3333-4444-555555555555",
		"client_id": "66666666-7777-8888-9999-000000000000",
		"account": "bg1@contoso.onmicrosoft.com", "software_key": "`+filepath.Join(dir, "sw.key")+`",
		"officer_a": "Alice", "officer_b": "Bob", "out_dir": "`+out+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Check(c, io.Discard, time.Now(), true); err != nil {
		t.Fatalf("no journal yet: %v", err)
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "journal.jsonl"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = Check(c, io.Discard, time.Now(), true)
	if err == nil || !strings.Contains(err.Error(), "already holds the journal") ||
		!strings.Contains(err.Error(), "--resume "+filepath.Join(out, "journal.jsonl")) {
		t.Fatalf("a started journal: %v", err)
	}
	if _, _, err := Check(c, io.Discard, time.Now(), false); err != nil {
		t.Fatalf("a session resuming it: %v", err)
	}
}
