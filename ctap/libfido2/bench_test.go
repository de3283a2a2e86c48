//go:build libfido2 && cgo

package libfido2

import (
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	gofido2 "github.com/keys-pub/go-libfido2"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/hidshim"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/testenv"
)

const benchPIN = "4711"

// BenchmarkBackends runs the same four operations against one simkey (on
// its socket, answering at once) from the native Go client, from
// go-libfido2 through the hidraw shim, and from python-fido2:
//
//	getInfo        authenticatorGetInfo
//	pinToken       getKeyAgreement + PIN token + credential-management metadata
//	makeCredential non-discoverable ES256, user presence only
//	getAssertion   that credential in the allow list, user presence only
//
// scripts/bench.sh runs it and prints the table with the ratios.
func BenchmarkBackends(b *testing.B) {
	key, err := simkey.New(simkey.Config{TouchDelay: time.Nanosecond})
	if err != nil {
		b.Fatal(err)
	}
	serve(b, key)
	sock := os.Getenv("SIMKEY_SHIM_SOCKET")
	ctx := context.Background()
	cdh := sha256.Sum256([]byte("keyceremony benchmark"))
	rp := ctap.RelyingParty{ID: "login.microsoft.com", Name: "Microsoft"}
	user := ctap.User{ID: []byte("bench-user"), Name: "breakglass1@contoso.onmicrosoft.com"}

	// Native: one open channel, as keyceremony holds it.
	dev, err := hid.Open(ctx, "simkey:"+sock, hid.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	native := ctap.NewClient(dev, ctap.Options{})
	if err := native.SetPIN(ctx, []byte(benchPIN)); err != nil {
		b.Fatal(err)
	}
	mc, err := native.MakeCredential(ctx, ctap.MakeCredentialOptions{ClientDataHash: cdh[:], RP: rp, User: user})
	if err != nil {
		b.Fatal(err)
	}
	ad, _ := ctap.ParseAuthData(mc.AuthData)
	allow := []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}}
	check := func(b *testing.B, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	nativeOps := map[string]func(b *testing.B){
		"getInfo": func(b *testing.B) { _, err := native.Info(ctx); check(b, err) },
		"pinToken": func(b *testing.B) {
			tok, err := native.GetPINToken(ctx, []byte(benchPIN), ctap.TokenRequest{Permissions: ctap.PermCredentialManagement})
			check(b, err)
			_, err = native.CredentialsMetadata(ctx, tok)
			check(b, err)
		},
		"makeCredential": func(b *testing.B) {
			_, err := native.MakeCredential(ctx, ctap.MakeCredentialOptions{ClientDataHash: cdh[:], RP: rp, User: user})
			check(b, err)
		},
		"getAssertion": func(b *testing.B) {
			_, err := native.GetAssertion(ctx, ctap.GetAssertionOptions{RPID: rp.ID, ClientDataHash: cdh[:], AllowList: allow})
			check(b, err)
		},
	}

	// go-libfido2 itself (not the backend's extra guard calls): it opens
	// the device, INITs a channel and closes it on every call.
	lib, err := gofido2.NewDevice(hidshim.DevicePath)
	if err != nil {
		b.Fatal(err)
	}
	libOps := map[string]func(b *testing.B){
		"getInfo":  func(b *testing.B) { _, err := lib.Info(); check(b, err) },
		"pinToken": func(b *testing.B) { _, err := lib.CredentialsInfo(benchPIN); check(b, err) },
		"makeCredential": func(b *testing.B) {
			_, err := lib.MakeCredential(cdh[:], gofido2.RelyingParty{ID: rp.ID, Name: rp.Name},
				gofido2.User{ID: user.ID, Name: user.Name}, gofido2.ES256, "", nil)
			check(b, err)
		},
		"getAssertion": func(b *testing.B) {
			_, err := lib.Assertion(rp.ID, cdh[:], [][]byte{ad.CredentialID}, "", nil)
			check(b, err)
		},
	}

	// Interleaved: for each operation the three clients run back to back,
	// so the ratios compare runs taken side by side, not minutes apart.
	ops := []string{"getInfo", "pinToken", "makeCredential", "getAssertion"}
	for _, op := range ops {
		b.Run("native/"+op, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				nativeOps[op](b)
			}
		})
		b.Run("libfido2/"+op, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				libOps[op](b)
			}
		})
		b.Run("python-fido2/"+op, func(b *testing.B) {
			if err := exec.Command("/usr/bin/python3", "-c", "import fido2").Run(); err != nil {
				testenv.Missing(b, "python3-fido2 is not installed: apt-get install python3-fido2 (the README test command does)")
			}
			// The script times b.N operations itself (interpreter start-up and
			// set-up excluded) and the mean replaces Go's own ns/op.
			out, err := exec.Command("/usr/bin/python3", "testdata/bench_python_fido2.py", sock, op, strconv.Itoa(b.N), benchPIN).CombinedOutput()
			if err != nil {
				b.Fatalf("python-fido2 %s: %v\n%s", op, err, out)
			}
			ns, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			if err != nil {
				b.Fatalf("python-fido2 %s printed %q", op, out)
			}
			b.ReportMetric(ns, "ns/op")
		})
	}
}
