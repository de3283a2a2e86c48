package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/session"
)

// backendFlag defines the --backend flag of the commands that open keys.
func backendFlag(fs *flag.FlagSet) *string {
	return fs.String("backend", "", "CTAP backend: native (default) or libfido2 (a -tags libfido2 build); overrides the config's backend")
}

// openSession opens the session of a config; the ceremony needs the
// officers' terminal.
func openSession(cfgPath, backend string, terminal bool) (*session.Session, error) {
	ses, err := session.Open(session.Options{ConfigPath: cfgPath, Backend: backend, Terminal: terminal, Tool: report.ToolInfo(version, revision)})
	if err != nil {
		return nil, usageError{err}
	}
	return ses, nil
}

func cmdCeremony(ctx context.Context, fs *flags, args []string, s stdio) error {
	cfgPath := fs.String("config", "", "ceremony config file (JSON)")
	resume := fs.String("resume", "", "resume the ceremony recorded in this journal (out_dir/journal.jsonl)")
	backendName := backendFlag(fs.FlagSet)
	if _, err := fs.parse(args, s.out); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fs.usageError("--config is required (keyceremony config init writes an example)")
	}
	ses, err := openSession(*cfgPath, *backendName, true)
	if err != nil {
		return err
	}
	defer ses.Close()
	return ses.Ceremony(ctx, *resume, s.out, s.err)
}

func cmdHealth(ctx context.Context, fs *flags, args []string, s stdio) error {
	cfgPath := fs.String("config", "", "the ceremony config file (tenant, account, officers, devices, signer, out_dir)")
	var lasts multiFlag
	fs.Var(&lasts, "report", "an account's last report.json (ceremony or health); repeat it for each account of the config")
	pubPath := fs.String("pub", "", "the workstation public key the officers trust (default: report.pub beside the report)")
	yes := fs.Bool("yes", false, "headless: take instructions as done, PIN halves from standard input")
	backendName := backendFlag(fs.FlagSet)
	if _, err := fs.parse(args, s.out); err != nil {
		return err
	}
	if *cfgPath == "" || len(lasts) == 0 {
		return fs.usageError("--config and --report are required")
	}
	ses, err := openSession(*cfgPath, *backendName, false)
	if err != nil {
		return err
	}
	defer ses.Close()
	findings, err := ses.Health(ctx, lasts, *pubPath, *yes, s.in, s.out, s.err)
	if err != nil {
		return usageError{err}
	}
	if findings > 0 {
		return findingError{fmt.Sprintf("%d findings or checks that could not run", findings)}
	}
	return nil
}
