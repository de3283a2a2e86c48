package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/tui"
)

// graphFlags turns the config's sign-in settings into graph flags.
func configGraphFlags(c *config.File) graphFlags {
	g := graphFlags{tenant: c.TenantID, clientID: c.ClientID, mode: c.Auth, cert: c.Certificate, secretFile: c.ClientSecret, authority: c.Authority, root: c.Graph, caFile: c.CA}
	if g.mode == "" {
		g.mode = "device-code"
	}
	if g.root == "" {
		g.root = "https://graph.microsoft.com"
	}
	return g
}

func cmdCeremony(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("ceremony", "ceremony --config FILE [--resume JOURNAL] [--backend native|libfido2]")
	cfgPath := fs.String("config", "", "ceremony config file (JSON)")
	resume := fs.String("resume", "", "resume the ceremony recorded in this journal (out_dir/journal.jsonl)")
	backendName := backendFlag(fs.FlagSet)
	if _, err := fs.parse(args, out); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fs.usageError("--config is required (keyceremony config init writes an example)")
	}
	ses, err := openSession(*cfgPath, *backendName, true)
	if err != nil {
		return err
	}
	defer ses.close()
	if *resume != "" && len(ses.accounts) > 1 {
		return fs.usageError("with several accounts, run the same command again: each account's journal (out_dir/ACCOUNT/journal.jsonl) is resumed, a finished account is skipped")
	}
	if err := ses.signIn(ctx, true, errOut); err != nil {
		return err
	}
	cfg, accounts, client, signer, vf, be := ses.cfg, ses.accounts, ses.graph, ses.signer, ses.verifier, ses.backend
	reset := cfg.Reset == nil || *cfg.Reset
	keys := cfg.Keys
	if keys == 0 {
		keys = 2
	}
	host, _ := os.Hostname()
	// One posture audit for all accounts, before any key is touched: each
	// account's findings go into its report.
	posture := map[string][]string{}
	for _, a := range accounts {
		for _, ch := range health.AuditPosture(ctx, client, a.UPN) {
			if ch.Status != health.Pass {
				posture[a.UPN] = append(posture[a.UPN], fmt.Sprintf("%s (%s): %s", ch.Name, ch.Status, ch.Detail))
			}
		}
		fmt.Fprintf(out, "Preflight %s: %d posture finding(s)\n", a.UPN, len(posture[a.UPN]))
	}
	resumeHint := func(journalPath string) string {
		if len(accounts) > 1 {
			return fmt.Sprintf("Nothing is lost: the journal is %s.\nResume with the same command: keyceremony ceremony --config %s", journalPath, *cfgPath)
		}
		return fmt.Sprintf("Nothing is lost: the journal is %s.\nResume with: keyceremony ceremony --config %s --resume %s", journalPath, *cfgPath, journalPath)
	}
	summary, err := ceremony.RunSitting(ctx, out, accounts, cfg.OutDir, signer, func(ctx context.Context, a ceremony.SittingAccount, others []ceremony.KnownKey) (*ceremony.Result, error) {
		if err := os.MkdirAll(a.OutDir, 0o700); err != nil {
			return nil, err
		}
		journalPath := a.JournalPath()
		if *resume != "" {
			journalPath = *resume
		}
		var j *ceremony.Journal
		if len(accounts) > 1 || *resume != "" {
			j, err = ceremony.OpenOrCreateJournal(journalPath, *resume != "")
		} else {
			j, err = ceremony.CreateJournal(journalPath, time.Now)
		}
		if err != nil {
			return nil, err
		}
		defer j.Close()
		build := func(p officer.Prompter) (*ceremony.Engine, error) {
			return ceremony.New(ceremony.Config{Account: a.UPN, TenantID: cfg.TenantID, Domain: cfg.Domain,
				OfficerA: cfg.OfficerA, OfficerB: cfg.OfficerB, Witness: cfg.Witness, Keys: keys, Reset: reset, Retire: cfg.Retire,
				MinPINLength: cfg.MinPINLength, GeneratedPIN: cfg.PINHalves == "generated", PrintHalf: envelope.Command(cfg.PrintCommand),
				OtherKeys: others, Verifier: vf, Signer: signer, Tool: report.ToolInfo(version, revision), Hostname: host,
				OutDir: a.OutDir, Previous: a.Previous, Deviations: append(be.Deviations(), cfg.SignInDeviations()...), PostureFindings: posture[a.UPN]},
				j, fidokey.HID{Fixed: cfg.Devices, Backend: be}, client, p)
		}
		res, err := tui.RunCeremony(ctx, "keyceremony — "+a.UPN+a.Of(accounts), ceremony.Config{Keys: keys}.StepCount(), resumeHint(journalPath), nil, build, func(r *ceremony.Result) string {
			return fmt.Sprintf("Ceremony complete: %d keys registered, %d retired.", len(r.Methods), len(r.Retired))
		})
		if err != nil {
			return nil, fmt.Errorf("%w (%s)", err, strings.ReplaceAll(resumeHint(journalPath), "\n", "; "))
		}
		fmt.Fprintf(out, "%s: report in %s; fingerprint %s\n", a.UPN, res.Dir, res.Fingerprint)
		return res, nil
	})
	if err != nil {
		return err
	}
	if summary != "" {
		fmt.Fprintf(out, "Summary of the sitting (every account's key fingerprints, signed): %s\n", summary)
	}
	return nil
}
