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

func cmdHistory(ctx context.Context, fs *cli.Flags, args []string, s cli.IO) error {
	out := s.Out
	var trust cli.Strings
	fs.Var(&trust, "trust", "SHA256 fingerprint of a trusted workstation key, as on the paper copies (repeat for each workstation)")
	cfgPath := fs.String("config", "", "ceremony config with rotation_interval and health_interval (defaults 365d and 90d)")
	asJSON := fs.Bool("json", false, "print the history as JSON")
	pdfPath := fs.String("pdf", "", "also write the history as a PDF for the binder")
	rehearsalOK := fs.Bool("rehearsal", false, "accept rehearsal reports (a rehearsal safe)")
	dir, err := fs.One(args, s, "folder: the one that came out of the safe")
	if err != nil {
		return err
	}
	if len(trust) == 0 {
		return fs.UsageError("give --trust with each workstation key's fingerprint from the paper copies (SHA256:…)")
	}
	pol := history.Policy{}
	if *cfgPath != "" {
		if pol, err = config.LoadIntervals(*cfgPath); err != nil {
			return cli.UsageError(err)
		}
	}
	h, err := history.Read(dir, history.Options{Trusted: trust, Rehearsal: *rehearsalOK, Policy: pol, Now: time.Now()})
	if err != nil {
		return cli.UsageError(err)
	}
	if *asJSON {
		if err := cli.WriteJSON(out, h); err != nil {
			return err
		}
	} else {
		fmt.Fprint(out, h.Text())
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
	switch h.ExitCode() {
	case 2:
		return cli.UsageError(fmt.Errorf("%d problem(s); a signature, a file or a chain link is broken (see above)", len(h.Problems)))
	case 1:
		return cli.Finding("%d problem(s): something is overdue or a finding is open (see above)", len(h.Problems))
	}
	return nil
}
