package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/tui"
)

func cmdHealth(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) error {
	fs := newFlags("health", "health --config FILE --report LAST/report.json [--report …] [--pub report.pub] [--yes] [--backend native|libfido2]")
	cfgPath := fs.String("config", "", "the ceremony config file (tenant, account, officers, devices, signer, out_dir)")
	var lasts multiFlag
	fs.Var(&lasts, "report", "an account's last report.json (ceremony or health); repeat it for each account of the config")
	pubPath := fs.String("pub", "", "the workstation public key the officers trust (default: report.pub beside the report)")
	yes := fs.Bool("yes", false, "headless: take instructions as done, PIN halves from standard input")
	backendName := backendFlag(fs.FlagSet)
	if _, err := fs.parse(args, out); err != nil {
		return err
	}
	if *cfgPath == "" || len(lasts) == 0 {
		return fs.usageError("--config and --report are required")
	}
	ses, err := openSession(*cfgPath, *backendName, false)
	if err != nil {
		return err
	}
	defer ses.close()
	if err := ses.signIn(ctx, false, errOut); err != nil {
		return err
	}
	cfg, accounts, client, signer, vf := ses.cfg, ses.accounts, ses.graph, ses.signer, ses.verifier
	be := ses.backend
	host, _ := os.Hostname()
	devices := fidokey.HID{Fixed: cfg.Devices, Backend: be}
	lines := officer.Lines(in, errOut, true)
	var upns []string
	for _, a := range accounts {
		upns = append(upns, a.UPN)
	}
	reports, err := health.ReadLastReports(lasts, *pubPath, upns)
	if err != nil {
		return usageError{err}
	}
	var finding error
	for _, r := range reports {
		outDir := cfg.OutDir
		if len(accounts) > 1 {
			outDir = filepath.Join(outDir, r.Account.UPN)
		}
		hcfg := health.Config{LastReport: r.Body, LastSignature: r.Signature, PublicKey: r.PublicKey, Verifier: vf, Accounts: len(accounts), OfficerA: cfg.OfficerA, OfficerB: cfg.OfficerB,
			Signer: signer, Tool: report.ToolInfo(version, revision), Hostname: host, OutDir: filepath.Join(outDir, "health-"+time.Now().UTC().Format("20060102-150405"))}
		var res *health.Result
		if *yes || !isTerminal() {
			fmt.Fprintf(errOut, "Health check of %s\n", r.Account.UPN)
			res, err = health.Run(ctx, hcfg, devices, client, lines)
		} else {
			err = tui.Run(ctx, "keyceremony health check — "+r.Account.UPN, 12, nil, func(ctx context.Context, p officer.Prompter) (tui.DoneMsg, error) {
				var rerr error
				res, rerr = health.Run(ctx, hcfg, devices, client, p)
				if rerr != nil {
					return tui.DoneMsg{}, rerr
				}
				return tui.DoneMsg{Title: fmt.Sprintf("Health check: %d pass, %d findings, %d could not check.", res.Count(health.Pass), res.Count(health.Finding), res.Count(health.CouldNot)),
					Fingerprint: res.Fingerprint, Detail: "Health report in " + res.Dir}, nil
			})
		}
		if err != nil {
			return usageError{fmt.Errorf("%s: %w", r.Account.UPN, err)}
		}
		if err := res.WriteText(out); err != nil {
			return err
		}
		if res.Count(health.Finding)+res.Count(health.CouldNot) > 0 {
			finding = findingError{fmt.Sprintf("%d findings, %d checks could not run", res.Count(health.Finding), res.Count(health.CouldNot))}
		}
	}
	return finding
}
