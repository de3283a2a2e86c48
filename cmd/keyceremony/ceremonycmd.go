package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tailscale/hujson"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/health"
	"github.com/keyceremony/keyceremony/officer"
	"github.com/keyceremony/keyceremony/report"
)

// ceremonyConfig is the ceremony's config file (JSON; unknown keys are errors).
type ceremonyConfig struct {
	TenantID string `json:"tenant_id"`
	Domain   string `json:"domain,omitempty"`
	Account  string `json:"account,omitempty"`
	// Accounts names several break-glass accounts provisioned in one
	// sitting, each with its own keys, report and previous report; instead
	// of account and previous_report.
	Accounts     []accountConfig `json:"accounts,omitempty"`
	ClientID     string          `json:"client_id"`
	Auth         string          `json:"auth,omitempty"`               // device-code (default), browser, certificate
	Certificate  string          `json:"certificate,omitempty"`        // for auth certificate
	ClientSecret string          `json:"client_secret_file,omitempty"` // for auth secret: a file, never the secret itself
	Authority    string          `json:"authority,omitempty"`          // emulator only
	Graph        string          `json:"graph,omitempty"`              // emulator only
	CA           string          `json:"ca,omitempty"`                 // emulator only
	Policy       string          `json:"policy,omitempty"`             // default: the embedded policy
	MDS          string          `json:"mds,omitempty"`
	OfficerA     string          `json:"officer_a"`
	OfficerB     string          `json:"officer_b"`
	Witness      string          `json:"witness,omitempty"`
	Keys         int             `json:"keys,omitempty"`
	Reset        *bool           `json:"reset,omitempty"` // default true
	Retire       bool            `json:"retire"`
	MinPINLength int             `json:"min_pin_length,omitempty"`
	PINHalves    string          `json:"pin_halves,omitempty"`    // typed (default) or generated
	PrintCommand []string        `json:"print_command,omitempty"` // for generated halves; default ["lp"]
	// Read by `keyceremony history`: when the next rotation and health check are due.
	RotationInterval string   `json:"rotation_interval,omitempty"`
	HealthInterval   string   `json:"health_interval,omitempty"`
	OutDir           string   `json:"out_dir"`
	TPM              string   `json:"tpm,omitempty"`
	SoftwareKey      string   `json:"software_key,omitempty"`
	PreviousReport   string   `json:"previous_report,omitempty"`
	Devices          []string `json:"devices,omitempty"` // fixed addresses (e.g. simkey sockets); default: discover hidraw
	Backend          string   `json:"backend,omitempty"` // native (default) or libfido2 (in a -tags libfido2 build)
}

// accountConfig is one account of a sitting.
type accountConfig struct {
	Account        string `json:"account"`
	PreviousReport string `json:"previous_report,omitempty"`
}

// sitting lists the accounts to provision, each with its previous report
// read and its folder: out_dir itself for one account, out_dir/<account>
// for several.
func (c *ceremonyConfig) sitting() ([]ceremony.SittingAccount, error) {
	list := c.Accounts
	if len(list) == 0 {
		list = []accountConfig{{Account: c.Account, PreviousReport: c.PreviousReport}}
	}
	var out []ceremony.SittingAccount
	for _, a := range list {
		s := ceremony.SittingAccount{UPN: a.Account, OutDir: c.OutDir}
		if len(list) > 1 {
			s.OutDir = filepath.Join(c.OutDir, a.Account)
		}
		if a.PreviousReport != "" {
			b, err := os.ReadFile(a.PreviousReport)
			if err != nil {
				return nil, fmt.Errorf("%s: previous report: %w", a.Account, err)
			}
			s.Previous = b
		}
		out = append(out, s)
	}
	return out, nil
}

func loadCeremonyConfig(path string) (*ceremonyConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// JSON with comments and trailing commas (JWCC, github.com/tailscale/hujson),
	// so that the example `config init` writes explains itself.
	if b, err = hujson.Standardize(b); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c ceremonyConfig
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	switch {
	case c.TenantID == "" || c.ClientID == "" || (c.Account == "" && len(c.Accounts) == 0):
		return nil, fmt.Errorf("config %s: tenant_id, client_id and account (or accounts) are required", path)
	case c.Account != "" && len(c.Accounts) > 0, c.PreviousReport != "" && len(c.Accounts) > 0:
		return nil, fmt.Errorf("config %s: give account and previous_report, or accounts (each with its previous_report), not both", path)
	case duplicateAccount(c.Accounts) != "":
		return nil, fmt.Errorf("config %s: accounts names %s twice, or empty: each account once", path, duplicateAccount(c.Accounts))
	case c.OfficerA == "" || c.OfficerB == "" || c.OfficerA == c.OfficerB:
		return nil, fmt.Errorf("config %s: two different officers (officer_a, officer_b) are required", path)
	case c.OutDir == "":
		return nil, fmt.Errorf("config %s: out_dir is required", path)
	case c.PINHalves != "" && c.PINHalves != "typed" && c.PINHalves != "generated":
		return nil, fmt.Errorf("config %s: pin_halves is %q: say \"typed\" (each officer types a half) or \"generated\" (printed for sealed envelopes)", path, c.PINHalves)
	}
	if len(c.PrintCommand) == 0 {
		c.PrintCommand = []string{"lp"}
	}
	return &c, nil
}

// duplicateAccount is an account accounts names twice (or empty), or "".
func duplicateAccount(accounts []accountConfig) string {
	seen := map[string]bool{}
	for _, a := range accounts {
		switch {
		case a.Account == "":
			return `""`
		case seen[strings.ToLower(a.Account)]:
			return a.Account
		}
		seen[strings.ToLower(a.Account)] = true
	}
	return ""
}

// graphFlags turns the config's sign-in settings into graph flags.
func (c *ceremonyConfig) graphFlags() graphFlags {
	g := graphFlags{tenant: c.TenantID, clientID: c.ClientID, mode: c.Auth, cert: c.Certificate, secretFile: c.ClientSecret, authority: c.Authority, root: c.Graph, caFile: c.CA}
	if g.mode == "" {
		g.mode = "device-code"
	}
	if g.root == "" {
		g.root = "https://graph.microsoft.com"
	}
	return g
}

func cmdCeremony(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("ceremony", "ceremony --config FILE [--resume JOURNAL] [--backend native|libfido2]")
	cfgPath := fs.String("config", "", "ceremony config file (JSON)")
	resume := fs.String("resume", "", "resume the ceremony recorded in this journal (out_dir/journal.jsonl)")
	backendName := backendFlag(fs.FlagSet)
	if _, err := fs.parse(args, out); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fs.usageError("--config is required (keyceremony config init writes an example)")
	}
	cfg, err := loadCeremonyConfig(*cfgPath)
	if err != nil {
		return usageError{err}
	}
	be, err := cfg.backend(*backendName)
	if err != nil {
		return usageError{err}
	}
	if !isTerminal() {
		return usageError{errors.New("a real ceremony needs the officers at a terminal (use `keyceremony rehearse --yes` for a headless rehearsal)")}
	}
	vf, err := loadVerifier(cfg.Policy, cfg.MDS, false)
	if err != nil {
		return err
	}
	signer, closeSigner, err := openSigner(cfg.TPM, cfg.SoftwareKey, softwareKeyConfigHint)
	if err != nil {
		return err
	}
	defer closeSigner()
	accounts, err := cfg.sitting()
	if err != nil {
		return usageError{err}
	}
	if *resume != "" && len(accounts) > 1 {
		return fs.usageError("with several accounts, run the same command again: each account's journal (out_dir/ACCOUNT/journal.jsonl) is resumed, a finished account is skipped")
	}
	g := cfg.graphFlags()
	client, _, err := g.open(ctx, errOut)
	if err != nil {
		return err
	}
	reset := cfg.Reset == nil || *cfg.Reset
	keys := cfg.Keys
	if keys == 0 {
		keys = 2
	}
	host, _ := os.Hostname()
	// One posture audit for all accounts, before any key is touched: each
	// account's findings go into its report.
	posture := map[string][]string{}
	for _, a := range accounts {
		for _, ch := range health.AuditPosture(ctx, client, a.UPN) {
			if ch.Status != health.Pass {
				posture[a.UPN] = append(posture[a.UPN], fmt.Sprintf("%s (%s): %s", ch.Name, ch.Status, ch.Detail))
			}
		}
		fmt.Fprintf(out, "Preflight %s: %d posture finding(s)\n", a.UPN, len(posture[a.UPN]))
	}
	resumeHint := func(journalPath string) string {
		if len(accounts) > 1 {
			return fmt.Sprintf("Nothing is lost: the journal is %s.\nResume with the same command: keyceremony ceremony --config %s", journalPath, *cfgPath)
		}
		return fmt.Sprintf("Nothing is lost: the journal is %s.\nResume with: keyceremony ceremony --config %s --resume %s", journalPath, *cfgPath, journalPath)
	}
	summary, err := ceremony.RunSitting(ctx, out, accounts, cfg.OutDir, signer, func(ctx context.Context, a ceremony.SittingAccount, others []ceremony.KnownKey) (*ceremony.Result, error) {
		if err := os.MkdirAll(a.OutDir, 0o700); err != nil {
			return nil, err
		}
		journalPath := a.JournalPath()
		if *resume != "" {
			journalPath = *resume
		}
		var j *ceremony.Journal
		if len(accounts) > 1 || *resume != "" {
			j, err = ceremony.OpenOrCreateJournal(journalPath, *resume != "")
		} else {
			j, err = ceremony.CreateJournal(journalPath, time.Now)
		}
		if err != nil {
			return nil, err
		}
		defer j.Close()
		build := func(p officer.Prompter) (*ceremony.Engine, error) {
			return ceremony.New(ceremony.Config{Account: a.UPN, TenantID: cfg.TenantID, Domain: cfg.Domain,
				OfficerA: cfg.OfficerA, OfficerB: cfg.OfficerB, Witness: cfg.Witness, Keys: keys, Reset: reset, Retire: cfg.Retire,
				MinPINLength: cfg.MinPINLength, GeneratedPIN: cfg.PINHalves == "generated", PrintHalf: envelope.Command(cfg.PrintCommand),
				OtherKeys: others, Verifier: vf, Signer: signer, Tool: report.ToolInfo(version, revision), Hostname: host,
				OutDir: a.OutDir, Previous: a.Previous, Deviations: append(be.Deviations(), cfg.signInDeviations()...), PostureFindings: posture[a.UPN]},
				j, fidokey.HID{Fixed: cfg.Devices, Backend: be}, client, p)
		}
		res, err := runTUI(ctx, "keyceremony — "+a.UPN+ofSitting(accounts, a), ceremony.Config{Keys: keys}.StepCount(), resumeHint(journalPath), nil, build, func(r *ceremony.Result) string {
			return fmt.Sprintf("Ceremony complete: %d keys registered, %d retired.", len(r.Methods), len(r.Retired))
		})
		if err != nil {
			return nil, fmt.Errorf("%w (%s)", err, strings.ReplaceAll(resumeHint(journalPath), "\n", "; "))
		}
		fmt.Fprintf(out, "%s: report in %s; fingerprint %s\n", a.UPN, res.Dir, res.Fingerprint)
		return res, nil
	})
	if err != nil {
		return err
	}
	if summary != "" {
		fmt.Fprintf(out, "Summary of the sitting (every account's key fingerprints, signed): %s\n", summary)
	}
	return nil
}

// signInDeviations are what the report records about how the ceremony
// signed in to Graph.
func (c *ceremonyConfig) signInDeviations() []string {
	if c.Auth == enroll.SignInSecret {
		return []string{enroll.SecretDeviation}
	}
	return nil
}

// ofSitting says which account of a sitting of several a is, for the
// officers' screen: " (account 2 of 2)"; nothing for a single account.
func ofSitting(accounts []ceremony.SittingAccount, a ceremony.SittingAccount) string {
	if len(accounts) < 2 {
		return ""
	}
	i := slices.IndexFunc(accounts, func(b ceremony.SittingAccount) bool { return b.UPN == a.UPN })
	return fmt.Sprintf(" (account %d of %d)", i+1, len(accounts))
}
