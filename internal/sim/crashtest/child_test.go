package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/sitting"
	"github.com/keyceremony/keyceremony/workstation"
)

// The ceremony's process. `keyceremony ceremony --config` needs the
// officers at a terminal and, rightly, refuses a simkey's TEST attestation
// outside a rehearsal; `keyceremony rehearse` runs its keys and tenant
// inside its own process, so killing it kills them too. So the ceremony
// the crash test kills is this test binary run again as a child: the
// product's own engine, journal and sitting (sitting.Run,
// ceremony.OpenOrCreateJournal, as sitting.Session.Ceremony wires them), its line
// prompter (officer.Lines: PIN halves typed on standard input), keys at
// fixed simkey addresses through the native backend, the emulator signed
// in by certificate over TLS, and a workstation key on disk — with a
// rehearsal's attestation verifier and signer kind. Run again, it resumes each
// account's journal as `ceremony --resume` (one account) or the same
// command (a sitting) does.

// childEnv names the spec file of a child run.
const childEnv = "KEYCEREMONY_CRASHTEST_CHILD"

// childSpec is what a child run provisions.
type childSpec struct {
	Out         string         `json:"out"`
	TenantID    string         `json:"tenant_id"`
	URL         string         `json:"url"`
	Cert        string         `json:"cert"`
	CA          string         `json:"ca"`
	SoftwareKey string         `json:"software_key"`
	Accounts    []childAccount `json:"accounts"`
}

// childAccount is one account of the sitting and its keys' addresses.
type childAccount struct {
	UPN     string   `json:"upn"`
	Devices []string `json:"devices"`
	OutDir  string   `json:"out_dir"`
}

func writeSpec(t *testing.T, path string, s childSpec) {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := childCeremony(spec); err != nil {
			fmt.Fprintln(os.Stderr, "ceremony:", err)
			os.Exit(1)
		}
		fmt.Println("CEREMONY DONE")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childCeremony runs the sitting the spec file names.
func childCeremony(specPath string) error {
	b, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var s childSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	signer, closeSigner, err := workstation.Open("", s.SoftwareKey, os.Stderr)
	if err != nil {
		return err
	}
	defer closeSigner()
	// A rehearsal's signer, as `rehearse` has, but one that outlives the
	// process (its key on disk): a rerun must verify what the killed run
	// signed, and a rehearsal's own key is thrown away with its process.
	signer.Kind = workstation.KindRehearsal
	graph, err := enroll.Connect(ctx, enroll.AuthConfig{TenantID: s.TenantID, ClientID: emulated.AppID, Mode: enroll.SignInCertificate,
		CertificatePath: s.Cert, AuthorityHost: s.URL + "/"}, s.URL, s.CA, true, os.Stderr)
	if err != nil {
		return err
	}
	pol, err := attest.LoadPolicy("")
	if err != nil {
		return err
	}
	backend, err := fidokey.ParseBackend("")
	if err != nil {
		return err
	}
	devices := map[string][]string{}
	var accounts []sitting.Account
	for _, a := range s.Accounts {
		accounts = append(accounts, sitting.Account{UPN: a.UPN, OutDir: a.OutDir})
		devices[a.UPN] = a.Devices
	}
	prompt := officer.Lines(os.Stdin, os.Stderr, true)
	host, _ := os.Hostname()
	_, err = sitting.Run(ctx, os.Stdout, accounts, s.Out, signer, func(ctx context.Context, a sitting.Account, others []ceremony.KnownKey) (*ceremony.Result, error) {
		if err := os.MkdirAll(a.OutDir, 0o700); err != nil {
			return nil, err
		}
		j, err := ceremony.OpenOrCreateJournal(a.JournalPath(), false)
		if err != nil {
			return nil, err
		}
		defer j.Close()
		eng, err := ceremony.New(ceremony.Config{Account: a.UPN, Sitting: a.Place, TenantID: s.TenantID, Domain: "contoso.onmicrosoft.com",
			OfficerA: "Officer A", OfficerB: "Officer B", Keys: 2, Reset: true, Retire: true, OtherKeys: others,
			Verifier: rehearsal.Verifier(pol), Rehearsal: true, Signer: signer, Tool: report.Tool{Version: "crashtest"},
			Hostname: host, OutDir: a.OutDir, Now: time.Now}, j, fidokey.HID{Fixed: devices[a.UPN], Backend: backend}, graph, prompt)
		if err != nil {
			return nil, err
		}
		return eng.Run(ctx)
	})
	return err
}
