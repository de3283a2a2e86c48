package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/keyceremony/keyceremony/fidokey"
)

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdDevices(ctx context.Context, fs *flags, args []string, s stdio) error {
	out := s.out
	asJSON := fs.Bool("json", false, "print JSON")
	var extra multiFlag
	fs.Var(&extra, "device", "also probe this device address (repeatable), e.g. simkey:/run/simkey.sock")
	if pos, err := fs.parse(args, out); err != nil {
		return err
	} else if len(pos) > 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	probes, err := fidokey.Survey(ctx, extra)
	if err != nil {
		return err
	}
	if *asJSON {
		err = writeJSON(out, probes)
	} else {
		err = fidokey.WriteTable(out, probes)
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
		return findingError{fmt.Sprintf("%d of %d devices could not be read (see ERROR above)", unreadable, len(probes))}
	}
	return nil
}

func cmdInfo(ctx context.Context, fs *flags, args []string, s stdio) error {
	out := s.out
	addr := fs.String("device", "", "device address: hidraw:/dev/hidrawN or simkey:/path.sock")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, out); err != nil {
		return err
	}
	if *addr == "" {
		return fs.usageError("--device is required (see `keyceremony devices`)")
	}
	d, err := fidokey.Describe(ctx, *addr)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(out, d)
	}
	return d.WriteText(out)
}

// writeJSON writes v as indented JSON.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
