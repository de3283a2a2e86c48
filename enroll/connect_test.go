package enroll_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
)

// Issue 23 §3: signing in anywhere but a Microsoft cloud (here the Graph
// emulator, over TLS trusting its CA alone) is said before anything else,
// naming both endpoints — for every Graph command, not only the ceremony.
func TestConnectNamesEndpointsThatAreNoMicrosoftCloud(t *testing.T) {
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	ca := filepath.Join(dir, "emulator-ca.pem")
	if err := os.WriteFile(ca, ten.Emu.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	var notice bytes.Buffer
	url := ten.Emu.URL()
	if _, err := enroll.Connect(context.Background(), enroll.AuthConfig{TenantID: ten.TenantID, ClientID: emulated.AppID,
		Mode: enroll.SignInCertificate, CertificatePath: ten.CertPath, AuthorityHost: url + "/"}, url, ca, true, &notice); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(notice.String(), "\n")
	if !strings.HasPrefix(first, "DEVIATION: sign-in ("+url+"/) and Graph ("+url+") are NOT a Microsoft cloud's") {
		t.Fatalf("the notice does not start with the endpoints:\n%s", notice.String())
	}
}
