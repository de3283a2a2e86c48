package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tailscale/hujson"

	"github.com/keyceremony/keyceremony/history"
)

func cmdHistory(args []string, out io.Writer) error {
	fs := newFlags("history", "history DIR --trust SHA256:… [--trust …] [--config FILE] [--json] [--pdf FILE] [--rehearsal]")
	var trust multiFlag
	fs.Var(&trust, "trust", "SHA256 fingerprint of a trusted workstation key, as on the paper copies (repeat for each workstation)")
	cfgPath := fs.String("config", "", "ceremony config with rotation_interval and health_interval (defaults 365d and 90d)")
	asJSON := fs.Bool("json", false, "print the history as JSON")
	pdfPath := fs.String("pdf", "", "also write the history as a PDF for the binder")
	rehearsalOK := fs.Bool("rehearsal", false, "accept rehearsal reports (a rehearsal safe)")
	pos, err := fs.parse(args, out)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fs.usageError("give the one folder that came out of the safe")
	}
	if len(trust) == 0 {
		return fs.usageError("give --trust with each workstation key's fingerprint from the paper copies (SHA256:…)")
	}
	pol := history.Policy{}
	if *cfgPath != "" {
		if pol, err = loadIntervals(*cfgPath); err != nil {
			return usageError{err}
		}
	}
	h, err := history.Read(pos[0], history.Options{Trusted: trust, Rehearsal: *rehearsalOK, Policy: pol, Now: time.Now()})
	if err != nil {
		return usageError{err}
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(h); err != nil {
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
		return usageError{fmt.Errorf("%d problem(s); a signature, a file or a chain link is broken (see above)", len(h.Problems))}
	case 1:
		return findingError{fmt.Sprintf("%d problem(s): something is overdue or a finding is open (see above)", len(h.Problems))}
	}
	return nil
}

// loadIntervals reads rotation_interval and health_interval from a
// ceremony config ("365d", "12w", "1y" or a Go duration such as "2160h").
func loadIntervals(path string) (history.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return history.Policy{}, err
	}
	if b, err = hujson.Standardize(b); err != nil {
		return history.Policy{}, fmt.Errorf("config %s: %w", path, err)
	}
	var c struct {
		Rotation string `json:"rotation_interval"`
		Health   string `json:"health_interval"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&c); err != nil {
		return history.Policy{}, fmt.Errorf("config %s: %w", path, err)
	}
	var pol history.Policy
	for _, f := range []struct {
		name, v string
		to      *time.Duration
	}{{"rotation_interval", c.Rotation, &pol.RotationInterval}, {"health_interval", c.Health, &pol.HealthInterval}} {
		if f.v == "" {
			continue
		}
		d, err := parseInterval(f.v)
		if err != nil {
			return history.Policy{}, fmt.Errorf("config %s: %s: %w", path, f.name, err)
		}
		*f.to = d
	}
	return pol, nil
}

// parseInterval reads "90d", "12w", "1y" (365 days) or a Go duration.
func parseInterval(s string) (time.Duration, error) {
	day := 24 * time.Hour
	for suffix, unit := range map[string]time.Duration{"d": day, "w": 7 * day, "y": 365 * day} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 && v <= int64(math.MaxInt64/unit) {
				return time.Duration(v) * unit, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not an interval (say 90d, 12w, 1y or 2160h)", s)
	}
	return d, nil
}
