package main

import (
	"context"
	"flag"

	"github.com/keyceremony/keyceremony/internal/cli"
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
		return nil, cli.UsageError(err)
	}
	return ses, nil
}

func cmdCeremony(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	cfgPath := fs.String("config", "", "ceremony config file (JSON)")
	resume := fs.String("resume", "", "resume the ceremony recorded in this journal (out_dir/journal.jsonl)")
	backendName := backendFlag(fs.FlagSet)
	if _, err := fs.Parse(args, s.Out); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fs.UsageError("--config is required (keyceremony config init writes an example)")
	}
	ses, err := openSession(*cfgPath, *backendName, true)
	if err != nil {
		return err
	}
	defer ses.Close()
	return ses.Ceremony(ctx, *resume, s.Out, s.Err)
}

func cmdHealth(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	cfgPath := fs.String("config", "", "the ceremony config file (tenant, account, officers, devices, signer, out_dir)")
	var lasts cli.Strings
	fs.Var(&lasts, "report", "an account's last report.json (ceremony or health); repeat it for each account of the config")
	pubPath := fs.String("pub", "", "the workstation public key the officers trust (default: report.pub beside the report)")
	yes := fs.Bool("yes", false, "headless: take instructions as done, PIN halves from standard input")
	backendName := backendFlag(fs.FlagSet)
	if _, err := fs.Parse(args, s.Out); err != nil {
		return err
	}
	if *cfgPath == "" || len(lasts) == 0 {
		return fs.UsageError("--config and --report are required")
	}
	ses, err := openSession(*cfgPath, *backendName, false)
	if err != nil {
		return err
	}
	defer ses.Close()
	findings, err := ses.Health(ctx, lasts, *pubPath, *yes, s.In, s.Out, s.Err)
	if err != nil {
		return cli.UsageError(err)
	}
	if findings > 0 {
		return cli.Finding("%d findings or checks that could not run", findings)
	}
	return nil
}
