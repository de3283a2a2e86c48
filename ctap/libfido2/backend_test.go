//go:build libfido2 && cgo

package libfido2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	gofido2 "github.com/keys-pub/go-libfido2"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/hidshim"
	"github.com/keyceremony/keyceremony/internal/sim/conformance"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/testenv"
)

// shimEnv marks the re-executed test binary that runs under the shim.
const shimEnv = "KEYCEREMONY_HIDSHIM"

// TestMain re-executes the test binary with the hidraw shim preloaded, so
// libfido2 inside it reaches simkey sockets through hidshim.DevicePath. (Go
// itself makes raw system calls; only libfido2's C calls meet the shim.)
func TestMain(m *testing.M) {
	if os.Getenv(shimEnv) != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "kc-shim")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	so, err := hidshim.BuildTo(dir)
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintf(os.Stderr, "WARNING: %v: the libfido2 backend tests cannot reach simkey\n", err)
		os.Setenv(shimEnv, "unavailable: "+err.Error())
		os.Exit(m.Run())
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), append(hidshim.Env(so, ""), shimEnv+"=ready")...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	os.RemoveAll(dir)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serve serves key on a fresh socket and points the shim at it.
func serve(t testing.TB, key *simkey.Key) {
	t.Helper()
	if v := os.Getenv(shimEnv); v != "ready" {
		testenv.Missing(t, "the hidraw shim is "+v)
	}
	dir, err := os.MkdirTemp("", "kc") // short: socket paths have 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- key.Listen(ctx, sock) }()
	t.Cleanup(func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if c, err := net.Dial("unixpacket", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("simkey did not listen")
		}
	}
	t.Setenv("SIMKEY_SHIM_SOCKET", sock)
}

// backend is go-libfido2 through the shim, for the conformance suite.
func backend() conformance.Backend {
	served := map[*simkey.Key]bool{}
	return conformance.Backend{
		Name: "libfido2",
		Connect: func(t testing.TB, key *simkey.Key, floor int) ctap.Authenticator {
			t.Helper()
			if !served[key] {
				serve(t, key)
				served[key] = true
			}
			a, err := Open(hidshim.DevicePath, Options{RetryFloor: floor})
			if err != nil {
				t.Fatal(err)
			}
			return a
		},
		Lacks: map[conformance.Feature]bool{
			conformance.FullInfo: true, conformance.PowerCycleState: true, conformance.AuthenticatorConfig: true,
			conformance.Selection: true, conformance.AllAssertions: true, conformance.CredentialDetails: true,
			conformance.RPBoundTokens: true,
		},
	}
}

func TestLibfido2BackendConformance(t *testing.T) {
	conformance.Run(t, backend())
}

// TestAttestationObjectIsByteExact compares the attestationObject the
// backend rebuilt from libfido2's parsed fields with the one the native
// path builds from the reply simkey sent.
func TestAttestationObjectIsByteExact(t *testing.T) {
	sentCh := make(chan []byte, 1)
	key, err := simkey.New(simkey.Config{TouchDelay: time.Millisecond, Observe: func(req, reply []byte) {
		if len(req) > 0 && ctapwire.Command(req[0]) == ctapwire.CmdMakeCredential && len(reply) > 0 && reply[0] == 0 {
			sentCh <- reply[1:]
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, key)
	a, err := Open(hidshim.DevicePath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := context.Background()
	pin := []byte("4711")
	if err := a.SetPIN(c, pin); err != nil {
		t.Fatal(err)
	}
	tok, err := a.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "login.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Zero()
	res, err := a.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: bytes.Repeat([]byte{0x42}, 32), RP: ctap.RelyingParty{ID: "login.microsoft.com", Name: "Microsoft"},
		User:        ctap.User{ID: []byte("user"), Name: "breakglass1@contoso.onmicrosoft.com", DisplayName: "Break Glass 1"},
		ResidentKey: true, CredProtect: ctap.CredProtectUVOptional, HMACSecret: true, Token: tok,
	})
	if err != nil {
		t.Fatal(err)
	}
	var native ctap.MakeCredentialResult
	if err := ctapwire.Unmarshal(<-sentCh, &native); err != nil {
		t.Fatalf("simkey's reply: %v", err)
	}
	want, err := native.AttestationObject()
	if err != nil {
		t.Fatal(err)
	}
	got, err := res.AttestationObject()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("attestationObject differs:\nlibfido2 %x\nnative   %x", got, want)
	}
}

func TestNativeTokensAreRefused(t *testing.T) {
	a, err := Open(hidshim.DevicePath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A token from the native client carries no PIN: refused before any I/O.
	_, err = a.GetAssertion(context.Background(), ctap.GetAssertionOptions{RPID: "x", ClientDataHash: make([]byte, 32), Token: &ctap.PINToken{}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("another backend")) {
		t.Fatalf("native token: %v", err)
	}
}

func TestErrorsMapToTypedErrors(t *testing.T) {
	for _, tc := range []struct {
		in   error
		want error
	}{
		{fmt.Errorf("failed: %w", gofido2.ErrPinInvalid), ctapwire.StatusPINInvalid},
		{gofido2.ErrNotAllowed, ctapwire.StatusNotAllowed},
		{gofido2.ErrPinRequired, ctapwire.StatusPUATRequired},
		{gofido2.Error{Code: 0x2f}, ctapwire.StatusUserActionTimeout},
		{gofido2.Error{Code: 0x32}, ctapwire.StatusPINBlocked},
		{gofido2.ErrRX, hid.ErrDeviceGone},
		{gofido2.ErrRXNotCBOR, ctap.ErrMalformedReply},
	} {
		if got := mapError(tc.in); !errors.Is(got, tc.want) {
			t.Errorf("mapError(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
