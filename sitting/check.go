package sitting

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/config"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/keyname"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/workstation"
)

// Check finds, the day before, what would stop the ceremony the config c
// describes, without signing in, opening a key or touching the TPM: the
// backend is in this build; each previous report is a report of its
// account; the attestation policy and MDS blob load (checked at now); the
// policy's key display name pattern fits Entra's 30 characters; the
// print command for generated PIN halves is installed; the TPM device (or
// the software key's folder) and out_dir's parent are there. It writes
// what the ceremony will do to w and returns every problem found, joined;
// with no problem, it also returns the sitting's accounts and the
// attestation verifier it loaded, so that a ceremony reads them once.
// fresh (config check) also refuses what would stop a new ceremony from
// starting: a journal already in a single account's out_dir.
func Check(c *config.File, w io.Writer, now time.Time, fresh bool) ([]Account, *attest.Verifier, error) {
	var problems []error
	problem := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, a...)) }

	row("tenant", "%s (domain %s)", c.TenantID, orNone(c.Domain))
	for _, kv := range [][2]string{{"tenant_id", c.TenantID}, {"client_id", c.ClientID}} {
		if strings.Trim(kv[1], "0-") == "" {
			problem("%s is the example's placeholder %s: fill in your own", kv[0], kv[1])
		}
	}
	accounts, err := accountsOf(c)
	if err != nil {
		problem("%w", err)
	}
	for i, a := range accounts {
		prev := "no previous report (a first ceremony: nothing to chain to)"
		if a.Previous != nil {
			r, err := report.Parse(a.Previous)
			switch {
			case err != nil:
				problem("%s: previous_report is not a keyceremony report: %w", a.UPN, err)
			case !strings.EqualFold(r.Account.UPN, a.UPN) && r.Account.ObjectID != a.UPN:
				problem("%s: previous_report is a report of %s", a.UPN, r.Account.UPN)
			default:
				prev = fmt.Sprintf(
					"previous report %s (%s, %s)",
					r.CeremonyID,
					r.Type,
					r.Ended.UTC().Format(time.DateOnly),
				)
			}
		}
		row(fmt.Sprintf("account %d", i+1), "%s, %s; reports in %s", a.UPN, prev, a.OutDir)
	}
	officers := c.OfficerA + " and " + c.OfficerB
	if c.Witness != "" {
		officers += ", witness " + c.Witness
	}
	row("officers", "%s", officers)
	keys := c.Keys // resolved at load: 2 unless the config says
	row("keys", "%d per account; reset first: %v; retire last year's: %v", keys, c.Reset == nil || *c.Reset, c.Retire)
	if c.PINHalves == "generated" {
		row("PIN halves", "generated, each printed with: %s", strings.Join(c.PrintCommand, " "))
		if _, err := exec.LookPath(c.PrintCommand[0]); err != nil {
			problem("print_command %q: %w", c.PrintCommand[0], err)
		}
	} else {
		row("PIN halves", "typed, one half by each officer")
	}
	vf, err := attest.Load(c.Policy, c.MDS, now)
	if err != nil {
		problem("attestation policy: %w", err)
	} else {
		row("policy", "%s (SHA-256 %s)", vf.Policy.Name, vf.Policy.SHA256())
		// Entra refuses names over 30 characters: found today, not at the
		// registration after the key was reset.
		pattern := vf.Policy.DisplayNamePattern
		if err := keyname.Check(pattern, len(accounts), keys); err != nil {
			problem("attestation policy: %w", err)
		} else {
			row("key names", "e.g. %q (at most %d characters)",
				keyname.Render(pattern, len(accounts), keys, "YubiKey 5 Series with NFC", now), keyname.MaxLen)
		}
	}
	if _, err := fidokey.ParseBackend(c.Backend); err != nil {
		problem("%w", err)
	}
	found := "hidraw, the officers plug in one key at a time"
	if len(c.Devices) > 0 {
		found = strings.Join(c.Devices, ", ") + " (one per key, in slot order)"
		if len(c.Devices) > 1 && len(c.Devices) < keys {
			problem(
				"devices names %d addresses for %d keys: one per key, in slot order (key %d would have none)",
				len(c.Devices),
				keys,
				len(c.Devices)+1,
			)
		}
	}
	problems = append(problems, startProblems(c, tw, accounts, keys, fresh)...)
	row("keys through", "%s (%s backend)", found, orDefault(c.Backend, "native"))
	switch tpm := orDefault(c.TPM, workstation.DefaultTPMPath); {
	case c.SoftwareKey != "":
		row("report signer", "software key %s (every report says so)", c.SoftwareKey)
		if _, err := os.Stat(filepath.Dir(c.SoftwareKey)); err != nil {
			problem("software_key: %w", err)
		} else if _, err := os.Stat(c.SoftwareKey); errors.Is(err, os.ErrNotExist) {
			row("", "not there yet: the ceremony will make a NEW key (if one exists, fix the path)")
		}
	default:
		row("report signer", "the TPM at %s", tpm)
		if _, err := os.Stat(strings.TrimPrefix(tpm, "swtpm:")); err != nil {
			problem("tpm: %w (without a TPM, set \"software_key\": \"FILE\")", err)
		}
	}
	if _, err := os.Stat(filepath.Dir(filepath.Clean(c.OutDir))); err != nil {
		problem("out_dir %s: %w", c.OutDir, err)
	}
	row("sign-in", "%s as app %s", orDefault(c.Auth, "device-code"), c.ClientID)
	row("cloud", "%s: %s", orDefault(c.Cloud, "global"), c.EndpointsText)
	if c.EndpointsDeviation != "" {
		row("DEVIATION", "%s; every report of this config records it", c.EndpointsDeviation)
	}
	if c.CA != "" {
		if _, err := os.Stat(c.CA); err != nil {
			problem("endpoints: ca: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return nil, nil, err
	}
	if len(problems) > 0 {
		return nil, nil, errors.Join(problems...)
	}
	return accounts, vf, nil
}

// startProblems is what would stop the ceremony at its start, kept apart
// from the rest of Check: two fixed devices at one address (the second key
// would be the first one again), more devices than keys (an address no key
// is planned for is a typo or a stray key), and, when fresh, a journal
// already in out_dir (the ceremony refuses to begin again over it; with
// several accounts it resumes that account, so that is only said).
func startProblems(c *config.File, w io.Writer, accounts []Account, keys int, fresh bool) []error {
	var problems []error
	seen := map[string]int{}
	for i, d := range c.Devices {
		addr := filepath.Clean(strings.TrimSpace(d))
		if j, ok := seen[addr]; ok {
			problems = append(
				problems,
				fmt.Errorf("devices: key %d and key %d are the same address %s: one address per key", j+1, i+1, d),
			)
		} else {
			seen[addr] = i
		}
	}
	if len(c.Devices) > keys {
		problems = append(problems, fmt.Errorf("devices names %d addresses for %d keys: one per key, in slot order "+
			"(remove the extra ones or set \"keys\": %d)", len(c.Devices), keys, len(c.Devices)))
	}
	if !fresh {
		return problems
	}
	for _, a := range accounts {
		journal := a.JournalPath()
		if _, err := os.Stat(journal); err != nil {
			continue
		}
		if len(accounts) > 1 {
			fmt.Fprintf(w, "  journal\t%s: the ceremony of %s resumes from it\n", journal, a.UPN)
			continue
		}
		abs, _ := filepath.Abs(journal)
		problems = append(problems, fmt.Errorf("out_dir %s already holds the journal of a started ceremony: "+
			"resume it with --resume %s, or give the config a new out_dir to begin again", a.OutDir, abs))
	}
	return problems
}

// orNone is s, or "none" when it is empty.
func orNone(s string) string { return orDefault(s, "none") }

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// accountsOf lists the accounts c provisions, each with its previous report
// read and its folder by the out_dir rule (accountDir).
func accountsOf(c *config.File) ([]Account, error) {
	type entry = struct{ upn, previous string }
	list := []entry{{c.Account, c.PreviousReport}}
	if len(c.Accounts) > 0 {
		list = nil
		for _, a := range c.Accounts {
			list = append(list, entry{a.Account, a.PreviousReport})
		}
	}
	var out []Account
	for _, a := range list {
		s := Account{UPN: a.upn, OutDir: accountDir(c.OutDir, a.upn, len(list))}
		if a.previous != "" {
			b, err := os.ReadFile(a.previous)
			if err != nil {
				return nil, fmt.Errorf("%s: previous report: %w", a.upn, err)
			}
			s.Previous = b
		}
		out = append(out, s)
	}
	return out, nil
}

// signInDeviations are what the report records about how the ceremony
// signed in to Graph: endpoints that are no Microsoft cloud's, a secret.
func signInDeviations(c *config.File) []string {
	var out []string
	if c.EndpointsDeviation != "" {
		out = append(out, c.EndpointsDeviation)
	}
	if c.Auth == enroll.SignInSecret {
		out = append(out, enroll.SecretDeviation)
	}
	return out
}
