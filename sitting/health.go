package sitting

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
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
			title := "keyceremony health check — " + r.Account.UPN
			err = tui.Run(ctx, title, 0, nil, func(ctx context.Context, p officer.Prompter) (tui.DoneMsg, error) {
				var rerr error
				if res, rerr = health.Run(ctx, hcfg, s.devices, s.graph, p); rerr != nil {
					return tui.DoneMsg{}, rerr
				}
				return tui.DoneMsg{Title: fmt.Sprintf("Health check: %d pass, %d findings, %d could not check.",
					res.Count(health.Pass), res.Count(health.Finding), res.Count(health.CouldNot)),
					Fingerprint: res.Fingerprint, Detail: "Health report in " + res.Dir, Results: healthLines(res)}, nil
			})
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

// healthLines is one line per check for the health check's last screen:
// its result and name, and for a check that did not pass, its detail.
func healthLines(res *health.Result) []string {
	var out []string
	for _, c := range res.Checks {
		l := fmt.Sprintf("%-5s %s", c.Status, c.Name)
		if c.Status != health.Pass {
			l = fmt.Sprintf("%s %s: %s", strings.ToUpper(c.Status), c.Name, c.Detail)
		}
		out = append(out, l)
	}
	return out
}
