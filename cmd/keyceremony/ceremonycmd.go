package main

import (
	"context"
	"io"

	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/sitting"
)

// sessionFlags defines --config and --backend, which every command that
// runs a config's sitting takes; the function it returns opens the
// session (the ceremony needs the officers' terminal), runs do on it and
// closes it.
func sessionFlags(
	fs *cli.Flags, configUse string,
) func(terminal bool, notice io.Writer, do func(*sitting.Session) error) error {
	cfgPath := fs.String("config", "", configUse)
	backend := fs.String("backend", "", "CTAP backend: native (default) or libfido2 (a -tags libfido2 build); "+
		"overrides the config's backend")
	fs.Need("config")
	return func(terminal bool, notice io.Writer, do func(*sitting.Session) error) error {
		ses, err := sitting.Open(sitting.Options{ConfigPath: *cfgPath, Backend: *backend, Terminal: terminal,
			Tool: tool(), Notice: notice})
		if err != nil {
			return cli.UsageError(err)
		}
		defer ses.Close()
		return do(ses)
	}
}

func cmdCeremony(fs *cli.Flags) cli.Run {
	with := sessionFlags(fs, "ceremony config file (JSON; keyceremony config init writes an example)")
	resume := fs.String("resume", "", "resume the ceremony recorded in this journal (out_dir/journal.jsonl)")
	return func(ctx context.Context, _ string, s cli.IO) error {
		return with(true, s.Err, func(ses *sitting.Session) error { return ses.Ceremony(ctx, *resume, s.Out, s.Err) })
	}
}

func cmdMonitorSetup(fs *cli.Flags) cli.Run {
	with := sessionFlags(fs, `the ceremony config file with its "monitoring" block`)
	dryRun := fs.Bool("dry-run", false, "print the ARM requests the set-up would send and change nothing")
	return func(ctx context.Context, _ string, s cli.IO) error {
		return with(false, s.Err, func(ses *sitting.Session) error {
			return ses.MonitorSetup(ctx, *dryRun, s.In, s.Out, s.Err)
		})
	}
}

func cmdHealth(fs *cli.Flags) cli.Run {
	with := sessionFlags(fs, "the ceremony config file (tenant, account, officers, devices, signer, out_dir)")
	var lasts cli.Strings
	fs.Var(&lasts, "report", "an account's last report.json (ceremony or health); "+
		"repeat it for each account of the config")
	pubPath := fs.String("pub", "",
		"the workstation public key the officers trust (default: report.pub beside the report)")
	yes := fs.Bool("yes", false, "headless: take instructions as done, PIN halves from standard input")
	fs.Need("report")
	return func(ctx context.Context, _ string, s cli.IO) error {
		return with(false, s.Err, func(ses *sitting.Session) error {
			findings, err := ses.Health(ctx, lasts, *pubPath, *yes, s.In, s.Out, s.Err)
			if err == nil && findings > 0 {
				return cli.Finding("%d findings or checks that could not run", findings)
			}
			return cli.UsageError(err)
		})
	}
}
