package offline

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/sim/rehearsal"
	"github.com/keyceremony/keyceremony/sim/testca"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/sigfile"
	"github.com/keyceremony/keyceremony/sim/emulated"
	"github.com/keyceremony/keyceremony/sim/simkey"
)

const pin = "55443322"

func trustOf(k *ecdsa.PrivateKey) Trust {
	pub, _ := ssh.NewPublicKey(&k.PublicKey)
	return Trust{Fingerprint: ssh.FingerprintSHA256(pub)}
}

// split runs the whole offline split and returns the paths and keys.
func TestOfflineSplitRoundTripAndTampering(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	connected, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	workstation, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// Connected machine: export, signed.
	opts, err := Export(ctx, ten.Client, ten.TenantID, "breakglass1@contoso.onmicrosoft.com", 2, 24*60,
		func(slot int) string { return fmt.Sprintf("Break glass key %d", slot) }, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	optsPath := filepath.Join(dir, "options.json")
	if err := Write(optsPath, opts, NamespaceOptions, connected); err != nil {
		t.Fatal(err)
	}

	// Workstation: read (trusting the connected machine), create, sign results.
	var got Options
	payload, err := Read(optsPath, NamespaceOptions, trustOf(connected), &got)
	if err != nil {
		t.Fatal(err)
	}
	var keys []ctap.Authenticator
	for i := 0; i < 2; i++ {
		k, _ := simkey.New(simkey.Config{TouchDelay: time.Nanosecond})
		c := ctap.NewClient(k, ctap.Options{})
		if err := c.SetPIN(ctx, []byte(pin)); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, c)
	}
	pol, err := attest.DefaultPolicy()
	if err != nil {
		t.Fatal(err)
	}
	// The same policy and verifier as the connected ceremony: outside a
	// rehearsal, a simkey is refused before any result is written.
	if _, err := Create(ctx, &got, payload, keys, func(int) ([]byte, error) { return []byte(pin), nil }, &attest.Verifier{Policy: pol}, time.Now()); err == nil ||
		!strings.Contains(err.Error(), "TEST attestation root") {
		t.Fatalf("a simkey outside a rehearsal: %v", err)
	}
	res, err := Create(ctx, &got, payload, keys, func(int) ([]byte, error) { return []byte(pin), nil }, rehearsal.Verifier(pol), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, kr := range res.Credentials {
		if kr.Attestation == nil || !kr.Attestation.Allowed || kr.Attestation.Model != testca.ModelName {
			t.Fatalf("key %d: verdict %+v", kr.Slot, kr.Attestation)
		}
	}
	resPath := filepath.Join(dir, "results.json")
	if err := Write(resPath, res, NamespaceResults, workstation); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(resPath); strings.Contains(string(b), pin) || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte(pin))) {
		t.Fatal("the PIN reached the results file")
	}

	// Tampering on either file is refused before anything is registered.
	tamper := func(path string, edit func(f *file)) string {
		b, _ := os.ReadFile(path)
		var f file
		json.Unmarshal(b, &f)
		edit(&f)
		out := path + ".tampered"
		nb, _ := json.Marshal(f)
		os.WriteFile(out, nb, 0o600)
		return out
	}
	flip := func(f *file) {
		p, _ := base64.StdEncoding.DecodeString(f.Payload)
		p = []byte(strings.Replace(string(p), "Break glass key 1", "Break glass key X", 1))
		f.Payload = base64.StdEncoding.EncodeToString(p)
	}
	var r Results
	if _, err := Read(tamper(resPath, flip), NamespaceResults, trustOf(workstation), &r); !errors.Is(err, sigfile.ErrTampered) {
		t.Fatalf("edited results: %v", err)
	}
	if _, err := Read(tamper(optsPath, flip), NamespaceOptions, trustOf(connected), &got); !errors.Is(err, sigfile.ErrTampered) {
		t.Fatalf("edited options: %v", err)
	}
	// Swapped: a results file re-signed by another machine.
	impostor, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	swapped := filepath.Join(dir, "swapped.json")
	Write(swapped, res, NamespaceResults, impostor)
	if _, err := Read(swapped, NamespaceResults, trustOf(workstation), &r); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("swapped results: %v", err)
	}
	// The options file is not a results file (namespaces differ).
	if _, err := Read(optsPath, NamespaceResults, trustOf(connected), &r); !errors.Is(err, sigfile.ErrTampered) {
		t.Fatalf("options read as results: %v", err)
	}
	// No trust given at all: refused.
	if _, err := Read(resPath, NamespaceResults, Trust{}, &r); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("no trust: %v", err)
	}

	// Connected machine: read results, register, and only for these options.
	var back Results
	if _, err := Read(resPath, NamespaceResults, trustOf(workstation), &back); err != nil {
		t.Fatal(err)
	}
	if _, err := Register(ctx, ten.Client, []byte(`{"other":"options"}`), &back); err == nil {
		t.Fatal("results registered against other options")
	}
	methods, err := Register(ctx, ten.Client, payload, &back)
	if err != nil {
		t.Fatal(err)
	}
	if len(methods) != 2 || methods[0].DisplayName != "Break glass key 1" {
		t.Fatalf("%+v", methods)
	}
	if n := len(ten.Emu.Snapshot().Methods[opts.UserID]); n != 2 {
		t.Fatalf("%d methods registered", n)
	}
}
