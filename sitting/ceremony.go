package sitting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/report"
)

// Ceremony signs in with write access and runs the ceremony of each
// account in turn at the officers' terminal, after one posture audit of
// them all. resume, with a single account, is the journal of an
// interrupted ceremony; with several accounts each one's journal is
// resumed by running the same command again. out hears the progress,
// notice the sign-in.
func (s *Session) Ceremony(ctx context.Context, resume string, out, notice io.Writer) error {
	cfg, accounts := s.cfg, s.accounts
	if resume != "" && len(accounts) > 1 {
		return errors.New(
			"with several accounts, run the same command again without --resume: " +
				"each account's journal (out_dir/ACCOUNT/journal.jsonl) is resumed, a finished account is skipped",
		)
	}
	if resume == "" && len(accounts) == 1 {
		// Before any sign-in: a started ceremony is resumed, never begun
		// again over its journal.
		journal := accounts[0].JournalPath()
		if _, err := os.Stat(journal); err == nil {
			return fmt.Errorf(
				"a ceremony of %s was started already: its journal is %s.\n"+
					"Resume it with: keyceremony ceremony --config %s --resume %s\n"+
					"(or give the config a new out_dir to begin again)",
				accounts[0].UPN,
				absPath(journal),
				absPath(s.opts.ConfigPath),
				absPath(journal),
			)
		}
	}
	if err := s.signIn(ctx, true, notice); err != nil {
		return err
	}
	reset := cfg.Reset == nil || *cfg.Reset
	// One posture audit for all accounts, before any key is touched: each
	// account's findings go into its report.
	posture := map[string][]string{}
	audit, err := s.monitoring()
	if err != nil {
		return err
	}
	for _, a := range accounts {
		checks := health.AuditPosture(ctx, s.graph, a.UPN, len(accounts))
		if audit != nil { // the monitoring, since now: the preflight asks whether a sign-in would raise an alert
			if u, err := s.graph.GetUser(ctx, a.UPN); err == nil {
				checks = append(checks, audit(ctx, report.Account{UPN: a.UPN, ObjectID: u.ID}, time.Now())...)
			}
		}
		for _, ch := range checks {
			if ch.Status != health.Pass {
				posture[a.UPN] = append(posture[a.UPN], fmt.Sprintf("%s (%s): %s", ch.Name, ch.Status, ch.Detail))
			}
		}
		fmt.Fprintf(out, "Preflight %s: %d posture finding(s)\n", a.UPN, len(posture[a.UPN]))
	}
	// How to resume, with absolute paths so that it is copied as is from
	// any directory: on the screen a flag and its value a line, each line
	// but the last ending in " \" (the shell reads them as one command;
	// the screen's wrap would break a long line at a hyphen), on standard
	// error in one line of its own.
	resumeHint := func(journalPath, sep string) string {
		journalPath = absPath(journalPath)
		with, command := "Resume with the same command:", []string{
			"keyceremony ceremony",
			"--config " + absPath(s.opts.ConfigPath),
		}
		if len(accounts) == 1 {
			with, command = "Resume with:", append(command, "--resume "+journalPath)
		}
		// Only what is true after any stop: a journal that could not record
		// a step says so in the error above this line.
		return fmt.Sprintf("The journal %s keeps every step it recorded before the stop.\n%s\n  %s",
			journalPath, with, strings.Join(command, sep))
	}
	_, err = Run(
		ctx,
		out,
		accounts,
		cfg.OutDir,
		s.signer,
		func(ctx context.Context, a Account, others []ceremony.KnownKey) (*ceremony.Result, error) {
			if err := os.MkdirAll(a.OutDir, 0o700); err != nil {
				return nil, err
			}
			journalPath := a.JournalPath()
			if resume != "" {
				journalPath = resume
			}
			// A single account's journal is never reopened unasked: a second
			// run without --resume is refused rather than taken as a resume.
			var j *ceremony.Journal
			var err error
			if len(accounts) > 1 || resume != "" {
				j, err = ceremony.OpenOrCreateJournal(journalPath, resume != "")
			} else {
				j, err = ceremony.CreateJournal(journalPath, time.Now)
			}
			if err != nil {
				return nil, err
			}
			defer j.Close()
			ccfg := ceremony.Config{Account: a.UPN, TenantID: cfg.TenantID, Domain: cfg.Domain,
				OfficerA: cfg.OfficerA, OfficerB: cfg.OfficerB, Witness: cfg.Witness,
				Keys: cfg.Keys, Reset: reset, Retire: cfg.Retire, MinPINLength: cfg.MinPINLength,
				GeneratedPIN: cfg.PINHalves == "generated", PrintHalf: envelope.Command(cfg.PrintCommand),
				OtherKeys: others, Verifier: s.verifier, Signer: s.signer, Tool: s.opts.Tool, Hostname: hostname(),
				OutDir: a.OutDir, Sitting: a.Place, Previous: a.Previous,
				Deviations: append(s.backend.Deviations(), signInDeviations(cfg)...), PostureFindings: posture[a.UPN],
				Endpoints: fmt.Sprintf("sign-in %s, Graph %s", cfg.Authority, cfg.Graph)}
			screen := Screen{
				Title:    "keyceremony — " + a.UPN + a.Among,
				StopHint: resumeHint(journalPath, " \\\n  "),
				Done:     "Ceremony",
			}
			res, err := screen.Run(ctx, ccfg, j, s.devices, s.graph)
			if err != nil {
				return nil, fmt.Errorf("%w\n%s", err, resumeHint(journalPath, " "))
			}
			fmt.Fprintf(out, "%s: report in %s; fingerprint %s\n", a.UPN, res.Dir, res.Fingerprint)
			return res, nil
		},
	)
	return err
}

// absPath is p made absolute (p itself when the working directory cannot
// be read), for commands the officers copy.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
