package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/testenv"
)

// requireInterop checks an independent client is installed. In CI (CI=true)
// or with KEYCEREMONY_REQUIRE_INTEROP=1 a missing tool fails the test: the
// test command installs it. Elsewhere the test is skipped with a loud reason.
func requireInterop(t *testing.T, what string, check *exec.Cmd, install string) {
	t.Helper()
	if err := check.Run(); err != nil {
		testenv.Missing(t, what+" is not installed ("+err.Error()+"): the simkey interop test needs it. Install it with: "+install+" (the README test command does this)")
	}
}

// lockedBuffer collects a command's output from another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// serveSimkey runs `keyceremony simkey serve` in-process and waits for its socket.
func serveSimkey(t *testing.T, extra ...string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "simkey.sock")
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"simkey", "serve", "--socket", sock, "--touch-delay", "5ms"}, extra...), strings.NewReader(""), &out, &out)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("simkey serve exited %d: %s", code, out.String())
		}
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err := net.Dial("unixpacket", sock); err == nil {
			c.Close()
			return sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("simkey serve did not listen: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPythonFido2AgreesWithSimkey(t *testing.T) {
	requireInterop(t, "python-fido2 (Debian python3-fido2)", exec.Command("/usr/bin/python3", "-c", "import fido2, cryptography"), "apt-get install python3-fido2")
	sock := serveSimkey(t)
	root := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(root, simkey.TestRootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/python_fido2_interop.py", sock, root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("python-fido2 failed against simkey: %v\n%s", err, stderr.String())
	}
	var r struct {
		AAGUID               string          `json:"aaguid"`
		Versions             []string        `json:"versions"`
		PINProtocols         []int           `json:"pin_protocols"`
		Options              map[string]bool `json:"options"`
		Firmware             int             `json:"firmware"`
		Reset                bool            `json:"reset"`
		WrongPIN             string          `json:"wrong_pin"`
		RetriesAfterWrongPIN int             `json:"retries_after_wrong_pin"`
		RetriesAfterGoodPIN  int             `json:"retries_after_good_pin"`
		Fmt                  string          `json:"fmt"`
		AttestationVerified  bool            `json:"attestation_verified"`
		CredentialID         string          `json:"credential_id"`
		CredAAGUID           string          `json:"cred_aaguid"`
		Extensions           map[string]any  `json:"extensions"`
		AssertionVerified    bool            `json:"assertion_verified"`
		AssertionCounter     int             `json:"assertion_counter"`
		ExistingCreds        int             `json:"existing_creds"`
		RPs                  []string        `json:"rps"`
		EnumeratedIDs        []string        `json:"enumerated_ids"`
		ExistingAfterDelete  int             `json:"existing_after_delete"`
	}
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatalf("python output %q: %v", stdout, err)
	}
	aaguid := simkey.DefaultAAGUID()
	wantAAGUID := hex.EncodeToString(aaguid[:])
	switch {
	case r.AAGUID != wantAAGUID || r.CredAAGUID != wantAAGUID:
		t.Errorf("AAGUID %s / %s, want %s", r.AAGUID, r.CredAAGUID, wantAAGUID)
	case len(r.PINProtocols) != 2 || r.Firmware != 0x050704 || !r.Options["credMgmt"] || !r.Options["pinUvAuthToken"]:
		t.Errorf("getInfo as python-fido2 read it: %+v", r)
	case !r.Reset:
		t.Error("reset")
	case r.WrongPIN != "PIN_INVALID" || r.RetriesAfterWrongPIN != 7 || r.RetriesAfterGoodPIN != 8:
		t.Errorf("wrong PIN %s, retries %d then %d", r.WrongPIN, r.RetriesAfterWrongPIN, r.RetriesAfterGoodPIN)
	case r.Fmt != "packed" || !r.AttestationVerified:
		t.Errorf("attestation %s verified=%v", r.Fmt, r.AttestationVerified)
	case r.Extensions["credProtect"] != float64(1) || r.Extensions["hmac-secret"] != true:
		t.Errorf("extensions %v", r.Extensions)
	case !r.AssertionVerified || r.AssertionCounter < 2:
		t.Errorf("assertion verified=%v counter %d", r.AssertionVerified, r.AssertionCounter)
	case r.ExistingCreds != 1 || len(r.RPs) != 1 || r.RPs[0] != "login.microsoft.com" || len(r.EnumeratedIDs) != 1 || r.EnumeratedIDs[0] != r.CredentialID:
		t.Errorf("credential management: %d creds, RPs %v, IDs %v (registered %s)", r.ExistingCreds, r.RPs, r.EnumeratedIDs, r.CredentialID)
	case r.ExistingAfterDelete != 1:
		t.Errorf("%d credentials after python-fido2 deleted one", r.ExistingAfterDelete)
	}

	// The native client sees the same key state python-fido2 left behind.
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	for _, proto := range []int{1, 2} {
		client, dev, err := openNative(cctx, "simkey:"+sock, ctap.Options{PINProtocol: proto})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := client.GetPINToken(cctx, []byte("97531"), ctap.TokenRequest{Permissions: ctap.PermCredentialManagement | ctap.PermGetAssertion})
		if err != nil {
			t.Fatalf("protocol %d: the PIN python-fido2 set: %v", proto, err)
		}
		rpHash := sha256.Sum256([]byte("login.microsoft.com"))
		creds, err := client.Credentials(cctx, tok, rpHash[:])
		if err != nil || len(creds) != 1 || hex.EncodeToString(creds[0].CredentialID.ID) != r.CredentialID {
			t.Fatalf("protocol %d: credentials %+v %v", proto, creds, err)
		}
		cdh := sha256.Sum256([]byte("go after python"))
		as, err := client.GetAssertion(cctx, ctap.GetAssertionOptions{RPID: "login.microsoft.com", ClientDataHash: cdh[:], Token: tok,
			AllowList: []ctap.CredentialDescriptor{creds[0].CredentialID}})
		if err != nil {
			t.Fatal(err)
		}
		if err := ctapwire.VerifySignature(creds[0].PublicKey, as[0].AuthData, cdh[:], as[0].Signature); err != nil {
			t.Fatalf("protocol %d: %v", proto, err)
		}
		dev.Close()
	}
}
