//go:build libfido2 && cgo

package libfido2_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/ctap/libfido2"
	"github.com/keyceremony/keyceremony/internal/hidshim"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/report"
)

// TestCeremonyThroughLibfido2 runs the whole rehearsal ceremony (reset, PIN,
// credential, attestation, Graph registration against the emulator, test
// assertion, retirement, signed report) with both keys driven by libfido2.
// The minimum PIN length it cannot apply is a recorded deviation.
func TestCeremonyThroughLibfido2(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	env, err := rehearsal.Setup(ctx, dir, simkey.Config{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	sockets := map[*simkey.Key]string{}
	for slot := 1; slot <= 2; slot++ {
		k := env.Devices.Key(slot)
		libfido2.Serve(t, k)
		sockets[k] = os.Getenv("SIMKEY_SHIM_SOCKET")
	}
	var opened int
	env.Devices.OpenWith = func(ctx context.Context, key *simkey.Key, _ func(ctap.Keepalive)) (ctap.Authenticator, io.Closer, error) {
		// One key is plugged in at a time: point the shim at its socket.
		if err := os.Setenv("SIMKEY_SHIM_SOCKET", sockets[key]); err != nil {
			return nil, nil, err
		}
		opened++
		a, err := libfido2.Open(hidshim.DevicePath, libfido2.Options{})
		return a, io.NopCloser(nil), err
	}
	cfg := env.CeremonyConfig(filepath.Join(dir, "report"), report.Tool{Version: "test"})
	cfg.MinPINLength = 8
	cfg.Deviations = []string{"keys driven through the libfido2 backend"}
	j, err := ceremony.CreateJournal(filepath.Join(dir, "journal.jsonl"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	p := rehearsal.NewPrompter(env.Devices, nil)
	eng, err := ceremony.New(cfg, j, env.Devices, env.Tenant.Client, p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if opened < 2 || len(res.Methods) != 2 || len(res.Retired) != 1 {
		t.Fatalf("opened %d, result %+v", opened, res)
	}
	body, _ := os.ReadFile(filepath.Join(res.Dir, report.FileReport))
	sig, _ := os.ReadFile(filepath.Join(res.Dir, report.FileSignature))
	pub, _ := env.Signer.SSHPublicKey()
	r, err := report.Verify(body, sig, pub, report.VerifyOptions{Rehearsal: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Keys) != 2 || r.Keys[0].Attestation == nil || !r.Keys[0].Attestation.Allowed || r.Keys[0].Firmware != "" {
		t.Fatalf("report keys %+v", r.Keys)
	}
	if !slices.Contains(r.Deviations, "keys driven through the libfido2 backend") {
		t.Errorf("backend deviation missing: %v", r.Deviations)
	}
	var minPIN int
	for _, d := range r.Deviations {
		if strings.Contains(d, "minimum PIN length 8 not applied") && strings.Contains(d, "libfido2 backend cannot perform authenticatorConfig") {
			minPIN++
		}
	}
	if minPIN != 2 {
		t.Errorf("want one minimum-PIN deviation per key: %v", r.Deviations)
	}
	// Graph holds exactly the two new keys.
	st := env.Tenant.Emu.Snapshot()
	if len(st.Methods[env.UserID]) != 2 {
		t.Fatalf("Graph holds %+v", st.Methods[env.UserID])
	}
}
