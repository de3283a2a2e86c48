package main

import (
	"context"
	"fmt"
	"time"

	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/internal/cli"
	"github.com/keyceremony/keyceremony/udev"
)

func cmdConfigUdev(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	if err := fs.NoArgs(args, s); err != nil {
		return err
	}
	_, err := s.Out.Write(udev.Rules()) // install it as /etc/udev/rules.d/ + udev.FileName
	return err
}

func cmdConfigCheck(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	path, err := fs.One(args, s, "config file to check")
	if err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return cli.UsageError(err)
	}
	fmt.Fprintf(s.Out, "Config %s: what the ceremony will do\n", path)
	if _, _, err := cfg.Check(s.Out, time.Now()); err != nil {
		return cli.UsageError(fmt.Errorf("the ceremony would stop: %w", err))
	}
	fmt.Fprintln(s.Out, "Ready. (Nothing was signed in; no key or TPM was opened.)")
	return nil
}

func cmdConfigInit(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	dest := fs.String("out", "ceremony.jsonc", "where to write the example (never overwritten)")
	if err := fs.NoArgs(args, s); err != nil {
		return err
	}
	if err := config.WriteExample(*dest); err != nil {
		return cli.UsageError(err)
	}
	fmt.Fprintf(s.Out, "Wrote %s: fill in the tenant, the app registration, the account and the officers, then run\n  keyceremony ceremony --config %s\n", *dest, *dest)
	return nil
}
