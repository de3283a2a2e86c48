package rehearsal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

// Safe writes under dir what a safe holds after years of yearly ceremonies
// for each of accounts break-glass accounts, each ceremony followed 80 days
// later by a health check, all run as rehearsals (virtual keys, emulated
// tenant) on a clock that ends with the last health check 5 days before
// end. Every report is signed by one workstation key, which Safe returns
// (tests sign with it what a forger with the workstation could); each
// account's reports chain, ceremony and health alike.
// Folders: dir/<account>/<date>-<type>/.
func Safe(ctx context.Context, dir string, accounts, years int, end time.Time) (workstation.Signer, error) {
	work, err := os.MkdirTemp("", "keyceremony-safe-")
	if err != nil {
		return workstation.Signer{}, err
	}
	defer os.RemoveAll(work)
	env, err := Setup(ctx, work, DefaultSimkeyConfig())
	if err != nil {
		return workstation.Signer{}, err
	}
	defer env.Close()
	upns := []string{env.UPN}
	for n := 2; n <= accounts; n++ {
		upns = append(upns, env.AddAccount(n))
	}
	pub, err := env.Signer.SSHPublicKey()
	if err != nil {
		return workstation.Signer{}, err
	}
	p := NewPrompter(env.Devices, nil)
	tool := report.Tool{Version: "rehearsal-safe"}
	// Each year's ceremony, then its health check 26 days later: within the
	// 30 days Graph keeps sign-ins and audit events (Microsoft Entra data
	// retention), so the health check can see every day since the ceremony.
	start := end.AddDate(-(years - 1), 0, -31)
	last := map[string][2][]byte{} // account: report.json and its signature
	for y := range years {
		for a, upn := range upns {
			at := start.AddDate(y, 0, 0).Add(time.Duration(a) * time.Hour)
			clock := func() time.Time { return at }
			out := filepath.Join(dir, upn, at.Format(time.DateOnly)+"-ceremony")
			cfg := env.CeremonyConfig(out, tool)
			cfg.Account, cfg.Now, cfg.Hostname, cfg.Previous = upn, clock, "ws-rehearsal", last[upn][0]
			j, err := ceremony.CreateJournal(filepath.Join(work, fmt.Sprintf("journal-%d-%d.jsonl", y, a)), clock)
			if err != nil {
				return workstation.Signer{}, err
			}
			eng, err := ceremony.New(cfg, j, env.Devices, env.Tenant.Client, p)
			if err != nil {
				j.Close()
				return workstation.Signer{}, err
			}
			res, err := eng.Run(ctx)
			j.Close()
			if err != nil {
				return workstation.Signer{}, fmt.Errorf("%s ceremony %s: %w", upn, at.Format(time.DateOnly), err)
			}
			body, sig, err := readReport(res.Dir)
			if err != nil {
				return workstation.Signer{}, err
			}
			hat := at.AddDate(0, 0, 26)
			hres, err := health.Run(
				ctx,
				health.Config{LastReport: body, LastSignature: sig, PublicKey: pub, Rehearsal: true,
					Verifier: env.Verifier, OfficerA: OfficerA, OfficerB: OfficerB, Signer: env.Signer, Tool: tool, Hostname: "ws-rehearsal",
					OutDir: filepath.Join(
						dir,
						upn,
						hat.Format(time.DateOnly)+"-health",
					), Now: func() time.Time { return hat }},
				env.Devices,
				env.Tenant.Client,
				p,
			)
			if err != nil {
				return workstation.Signer{}, fmt.Errorf("%s health %s: %w", upn, hat.Format(time.DateOnly), err)
			}
			body, sig, err = readReport(hres.Dir)
			if err != nil {
				return workstation.Signer{}, err
			}
			last[upn] = [2][]byte{body, sig}
		}
	}
	return env.Signer, nil
}

func readReport(dir string) ([]byte, []byte, error) {
	body, err := os.ReadFile(filepath.Join(dir, report.FileReport))
	if err != nil {
		return nil, nil, err
	}
	sig, err := os.ReadFile(filepath.Join(dir, report.FileSignature))
	return body, sig, err
}
