package sitting

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/tui"
)

// Health signs in read-only and runs the health check of each account
// whose last report is in lastReports (verified with the public key at
// pubPath, default report.pub beside each report): at the terminal through
// the TUI, or headless (PIN halves from in) when headless is set or there
// is no terminal. out gets each result; the count is of findings and
// checks that could not run, over all accounts.
func (s *Session) Health(
	ctx context.Context,
	lastReports []string,
	pubPath string,
	headless bool,
	in io.Reader,
	out, notice io.Writer,
) (int, error) {
	if err := s.signIn(ctx, false, notice); err != nil {
		return 0, err
	}
	var upns []string
	for _, a := range s.accounts {
		upns = append(upns, a.UPN)
	}
	reports, err := health.ReadLastReports(lastReports, pubPath, upns)
	if err != nil {
		return 0, err
	}
	audit, err := s.monitoring()
	if err != nil {
		return 0, err
	}
	lines := officer.Lines(in, notice, true)
	findings := 0
	for _, r := range reports {
		outDir := accountDir(s.cfg.OutDir, r.Account.UPN, len(s.accounts))
		hcfg := health.Config{
			LastReport:    r.Body,
			LastSignature: r.Signature,
			PublicKey:     r.PublicKey,
			Verifier:      s.verifier,
			Accounts:      len(s.accounts),
			OfficerA:      s.cfg.OfficerA,
			OfficerB:      s.cfg.OfficerB,
			Signer:        s.signer,
			Tool:          s.opts.Tool,
			Hostname:      hostname(),
			OutDir:        filepath.Join(outDir, "health-"+time.Now().UTC().Format("20060102-150405")),
			Monitoring:    audit,
			Deviations:    append(s.backend.Deviations(), signInDeviations(s.cfg)...),
		}
		var res *health.Result
		if headless || !tui.IsTerminal() {
			fmt.Fprintf(notice, "Health check of %s\n", r.Account.UPN)
			res, err = health.Run(ctx, hcfg, s.devices, s.graph, lines)
		} else {
			screen := Screen{Title: "keyceremony health check — " + r.Account.UPN}
			res, err = screen.Health(ctx, hcfg, s.devices, s.graph)
		}
		if err != nil {
			return findings, fmt.Errorf("%s: %w", r.Account.UPN, err)
		}
		if err := res.WriteText(out); err != nil {
			return findings, err
		}
		findings += res.Count(health.Finding) + res.Count(health.CouldNot)
	}
	return findings, nil
}
