package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/history"
	"github.com/keyceremony/keyceremony/internal/cli"
)

func cmdHistory(fs *cli.Flags) cli.Run {
	var trust cli.Strings
	fs.Var(&trust, "trust", "SHA256 fingerprint of a trusted workstation key, as on the paper copies "+
		"(SHA256:…; repeat for each workstation)")
	cfgPath := fs.String("config", "",
		"ceremony config with rotation_interval and health_interval (defaults 365d and 90d)")
	asJSON := fs.Bool("json", false, "print the history as JSON")
	pdfPath := fs.String("pdf", "", "also write the history as a PDF for the binder")
	rehearsalOK := fs.Bool("rehearsal", false, "accept rehearsal reports (a rehearsal safe)")
	fs.Need("trust")
	return func(ctx context.Context, dir string, s cli.IO) error {
		pol := history.Policy{}
		if *cfgPath != "" {
			var err error
			if pol.RotationInterval, pol.HealthInterval, err = config.LoadIntervals(*cfgPath); err != nil {
				return cli.UsageError(err)
			}
		}
		h, err := history.Read(
			dir,
			history.Options{Trusted: trust, Rehearsal: *rehearsalOK, Policy: pol, Now: time.Now()},
		)
		if err != nil {
			return cli.UsageError(err)
		}
		if err := cli.Show(s.Out, *asJSON, h); err != nil {
			return err
		}
		if *pdfPath != "" {
			pdf, err := h.PDF()
			if err != nil {
				return err
			}
			if err := os.WriteFile(*pdfPath, pdf, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", *pdfPath, err)
			}
		}
		return h.Err()
	}
}
