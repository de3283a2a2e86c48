package main

import (
	"context"
	"fmt"
	"time"

	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/sitting"
	"github.com/keyceremony/keyceremony/udev"
)

func cmdConfigUdev(fs *cli.Flags) cli.Run {
	return func(ctx context.Context, _ string, s cli.IO) error {
		_, err := s.Out.Write(udev.Rules()) // installed as /etc/udev/rules.d/70-keyceremony.rules
		return err
	}
}

func cmdConfigCheck(fs *cli.Flags) cli.Run {
	return func(ctx context.Context, path string, s cli.IO) error {
		cfg, err := config.Load(path)
		if err != nil {
			return cli.UsageError(err)
		}
		fmt.Fprintf(s.Out, "Config %s: what the ceremony will do\n", path)
		if _, _, err := sitting.Check(cfg, s.Out, time.Now(), true); err != nil {
			return cli.UsageError(fmt.Errorf("the ceremony would stop: %w", err))
		}
		fmt.Fprintln(s.Out, "Ready. (Nothing was signed in; no key or TPM was opened.)")
		return nil
	}
}

func cmdConfigInit(fs *cli.Flags) cli.Run {
	dest := fs.String("out", "ceremony.jsonc", "where to write the example (never overwritten)")
	return func(ctx context.Context, _ string, s cli.IO) error {
		if err := config.WriteExample(*dest); err != nil {
			return cli.UsageError(err)
		}
		fmt.Fprintf(s.Out, "Wrote %s: fill in the tenant, the app registration, the account and the officers, "+
			"then run\n  keyceremony ceremony --config %s\n", *dest, *dest)
		return nil
	}
}
