package main

import (
	"cmp"
	"context"

	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/cli"
)

func cmdDevices(fs *cli.Flags) cli.Run {
	asJSON := fs.Bool("json", false, "print JSON")
	var extra cli.Strings
	fs.Var(&extra, "device", "also probe this device address (repeatable), e.g. simkey:/run/simkey.sock")
	return func(ctx context.Context, _ string, s cli.IO) error {
		probes, err := fidokey.Survey(ctx, extra)
		if err != nil {
			return err
		}
		return cmp.Or(cli.Show(s.Out, *asJSON, probes), probes.Err()) // the survey's finding once it is shown
	}
}

func cmdInfo(fs *cli.Flags) cli.Run {
	addr := fs.String(
		"device",
		"",
		"device address: hidraw:/dev/hidrawN or simkey:/path.sock (see `keyceremony devices`)",
	)
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Need("device")
	return func(ctx context.Context, _ string, s cli.IO) error {
		d, err := fidokey.Describe(ctx, *addr)
		if err != nil {
			return err
		}
		return cli.Show(s.Out, *asJSON, d)
	}
}
