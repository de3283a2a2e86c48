package emulated

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
)

// `graph-emulator --state S --dir D` started again after a crash (the
// first one never closed) serves the same CA and signs in the same app
// certificate file: it used to register a new certificate behind the old
// one, so the certificate it had just written was refused.
func TestRestartedTenantSignsInWithItsFiles(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, Emulator: graphemu.Config{StatePath: filepath.Join(dir, "tenant.json")}}
	first, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	certFile, _ := os.ReadFile(first.CertPath)
	second, err := Start(o)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer second.Close()
	if again, _ := os.ReadFile(second.CertPath); !bytes.Equal(certFile, again) {
		t.Fatal("the restart wrote another app certificate")
	}
	if !bytes.Equal(first.Emu.CAPEM(), second.Emu.CAPEM()) || first.Secret != second.Secret {
		t.Fatal("the restart changed the CA or the client secret")
	}
	if _, err := second.Client.GetUser(context.Background(), "breakglass1@contoso.onmicrosoft.com"); err != nil {
		t.Fatalf("sign-in to the restarted emulator with its own certificate file: %v", err)
	}
	if n := len(second.Emu.Snapshot().Apps); n != 1 {
		t.Fatalf("%d app registrations after a restart, want 1", n)
	}
}

// Serve makes a --dir that does not exist (it failed with "open
// …/emulated-app.pem: no such file or directory").
func TestServeMakesItsFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := Serve(ctx, Options{Dir: dir}, &out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"emulator-ca.pem", "emulated-app.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), filepath.Join(dir, "emulator-ca.pem")) {
		t.Fatalf("the flags do not name the CA file:\n%s", out.String())
	}
}
