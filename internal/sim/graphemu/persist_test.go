package graphemu

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// An emulator with a state file keeps every change at once (not only at a
// graceful Close), and one started again on that file — after a crash,
// here an emulator never closed — is the same server: the same CA, a token
// the first one issued still accepted, the same tenant.
func TestEmulatorStateSurvivesACrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenant.json")
	first, err := New(Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	uid := first.Snapshot().Users[0].ID
	first.Update(func(s *State) {
		s.Methods[uid] = append(s.Methods[uid], &Method{ID: "m-1", DisplayName: "kept", CredentialID: "Y3JlZA"})
	})
	tok, err := first.IssueToken(TokenClaims{Roles: []string{"UserAuthenticationMethod.Read.All", "User.Read.All"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(b, []byte(`"m-1"`)) {
		t.Fatalf("the change is not in the state file before any Close: %v\n%s", err, b)
	}
	// No Close: the process is gone as after kill -9 (its listener stays
	// open here, which a killed process's would not).
	second, err := New(Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if !bytes.Equal(first.CAPEM(), second.CAPEM()) {
		t.Fatal("the restarted emulator made a new CA: clients that trusted the old one are refused")
	}
	// A client that trusts only the first emulator's CA reaches the second,
	// with the first one's token.
	req, _ := http.NewRequest("GET", second.URL()+"/v1.0/users/"+uid+"/authentication/fido2Methods", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := first.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("the first emulator's CA does not vouch for the restarted one: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a token from before the restart: %d", resp.StatusCode)
	}
	if ms := second.Snapshot().Methods[uid]; len(ms) != 1 || ms[0].ID != "m-1" {
		t.Fatalf("the restarted tenant's methods: %+v", ms)
	}
}

// A damaged identity file is refused with what to do, not replaced by a
// new CA behind the clients' backs; a damaged state file is refused too.
func TestEmulatorRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tenant.json")
	if err := os.WriteFile(identityPath(path), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{StatePath: path}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("delete it")) {
		t.Fatalf("a damaged identity: %v", err)
	}
	path2 := filepath.Join(dir, "torn.json")
	if err := os.WriteFile(path2, []byte(`{"tenantId": "x", "users": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{StatePath: path2}); err == nil {
		t.Fatal("a torn state file was taken")
	}
}

// writeFileAtomic leaves no temporary file behind and sets the mode.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, content := range []string{"one", "two"} {
		if err := writeFileAtomic(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != content {
			t.Fatalf("%q, want %q", b, content)
		}
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}
