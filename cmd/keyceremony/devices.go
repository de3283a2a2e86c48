package main

import (
	"context"

	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/cli"
)

func cmdDevices(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	out := s.Out
	asJSON := fs.Bool("json", false, "print JSON")
	var extra cli.Strings
	fs.Var(&extra, "device", "also probe this device address (repeatable), e.g. simkey:/run/simkey.sock")
	if err := fs.NoArgs(args, s); err != nil {
		return err
	}
	probes, err := fidokey.Survey(ctx, extra)
	if err != nil {
		return err
	}
	if *asJSON {
		err = cli.WriteJSON(out, probes)
	} else {
		err = fidokey.WriteList(out, probes)
	}
	if err != nil {
		return err
	}
	unreadable := 0
	for _, p := range probes {
		if p.Error != "" {
			unreadable++
		}
	}
	if unreadable > 0 {
		return cli.Finding("%d of %d devices could not be read (see ERROR above)", unreadable, len(probes))
	}
	return nil
}

func cmdInfo(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	out := s.Out
	addr := fs.String("device", "", "device address: hidraw:/dev/hidrawN or simkey:/path.sock")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := fs.Parse(args, out); err != nil {
		return err
	}
	if *addr == "" {
		return fs.UsageError("--device is required (see `keyceremony devices`)")
	}
	d, err := fidokey.Describe(ctx, *addr)
	if err != nil {
		return err
	}
	if *asJSON {
		return cli.WriteJSON(out, d)
	}
	return d.WriteText(out)
}
