package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/config"
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
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return usageError{err}
	}
	be, err := configBackend(cfg, *backendName)
	if err != nil {
		return usageError{err}
	}
	accounts, err := cfg.Sitting()
	if err != nil {
		return usageError{err}
	}
	signer, closeSigner, err := openSigner(cfg.TPM, cfg.SoftwareKey, softwareKeyConfigHint)
	if err != nil {
		return usageError{err}
	}
	defer closeSigner()
	g := configGraphFlags(cfg)
	client, _, err := g.openReadOnly(ctx, errOut)
	if err != nil {
		return usageError{err}
	}
	vf, err := loadVerifier(cfg.Policy, cfg.MDS, false)
	if err != nil {
		return usageError{err}
	}
	host, _ := os.Hostname()
	devices := fidokey.HID{Fixed: cfg.Devices, Backend: be}
	lines := officer.Lines(in, errOut, true)
	reports, err := readLastReports(lasts, *pubPath)
	if err != nil {
		return usageError{err}
	}
	if err := coverAccounts(accounts, reports); err != nil {
		return usageError{err}
	}
	var finding error
	for _, r := range reports {
		outDir := cfg.OutDir
		if len(accounts) > 1 {
			outDir = filepath.Join(outDir, r.Account.UPN)
		}
		hcfg := health.Config{LastReport: r.body, LastSignature: r.sig, PublicKey: r.pub, Verifier: vf, Accounts: len(accounts), OfficerA: cfg.OfficerA, OfficerB: cfg.OfficerB,
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

// lastReport is an account's last report as health was given it: its
// bytes, signature and the key to check them with, and the account it
// names (not trusted until health verifies the signature).
type lastReport struct {
	path string
	body []byte
	sig  []byte
	pub  ssh.PublicKey
	*report.Report
}

// readLastReports reads each report given with --report once.
func readLastReports(paths []string, pubPath string) ([]lastReport, error) {
	var out []lastReport
	for _, path := range paths {
		body, sig, pub, err := report.ReadSigned(path, pubPath)
		if err != nil {
			return nil, err
		}
		r, err := report.Parse(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, lastReport{path: path, body: body, sig: sig, pub: pub, Report: r})
	}
	return out, nil
}

// coverAccounts checks, before any key is touched, that the reports given
// are one per account of the config: a health check covers them all.
func coverAccounts(accounts []ceremony.SittingAccount, reports []lastReport) error {
	covered := map[int]string{}
	for _, r := range reports {
		i := slices.IndexFunc(accounts, func(a ceremony.SittingAccount) bool {
			return strings.EqualFold(a.UPN, r.Account.UPN) || a.UPN == r.Account.ObjectID
		})
		switch {
		case i < 0:
			return fmt.Errorf("%s is a report of %s, which the config does not name", r.path, r.Account.UPN)
		case covered[i] != "":
			return fmt.Errorf("%s and %s are both reports of %s: give each account's last report once", covered[i], r.path, accounts[i].UPN)
		}
		covered[i] = r.path
	}
	var missing []string
	for i, a := range accounts {
		if covered[i] == "" {
			missing = append(missing, a.UPN)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the config names %s too: give --report with each account's last report.json", strings.Join(missing, ", "))
	}
	return nil
}
