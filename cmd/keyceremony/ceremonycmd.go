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
	TenantID     string   `json:"tenant_id"`
	Domain       string   `json:"domain,omitempty"`
	Account      string   `json:"account"`
	ClientID     string   `json:"client_id"`
	Auth         string   `json:"auth,omitempty"`               // device-code (default), browser, certificate
	Certificate  string   `json:"certificate,omitempty"`        // for auth certificate
	ClientSecret string   `json:"client_secret_file,omitempty"` // for auth secret: a file, never the secret itself
	Authority    string   `json:"authority,omitempty"`          // emulator only
	Graph        string   `json:"graph,omitempty"`              // emulator only
	CA           string   `json:"ca,omitempty"`                 // emulator only
	Policy       string   `json:"policy,omitempty"`             // default: the embedded policy
	MDS          string   `json:"mds,omitempty"`
	OfficerA     string   `json:"officer_a"`
	OfficerB     string   `json:"officer_b"`
	Witness      string   `json:"witness,omitempty"`
	Keys         int      `json:"keys,omitempty"`
	Reset        *bool    `json:"reset,omitempty"` // default true
	Retire       bool     `json:"retire"`
	MinPINLength int      `json:"min_pin_length,omitempty"`
	PINHalves    string   `json:"pin_halves,omitempty"`    // typed (default) or generated
	PrintCommand []string `json:"print_command,omitempty"` // for generated halves; default ["lp"]
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
	case c.TenantID == "" || c.ClientID == "" || c.Account == "":
		return nil, fmt.Errorf("config %s: tenant_id, client_id and account are required", path)
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
	var previous []byte
	if cfg.PreviousReport != "" {
		if previous, err = os.ReadFile(cfg.PreviousReport); err != nil {
			return err
		}
	}
	g := cfg.graphFlags()
	client, _, err := g.open(ctx, errOut)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o700); err != nil {
		return err
	}
	journalPath := filepath.Join(cfg.OutDir, "journal.jsonl")
	if *resume != "" {
		journalPath = *resume
	}
	var j *ceremony.Journal
	if *resume != "" {
		j, err = ceremony.OpenJournal(journalPath, time.Now)
	} else {
		j, err = ceremony.CreateJournal(journalPath, time.Now)
	}
	if err != nil {
		return err
	}
	defer j.Close()
	reset := cfg.Reset == nil || *cfg.Reset
	keys := cfg.Keys
	if keys == 0 {
		keys = 2
	}
	host, _ := os.Hostname()
	var posture []string
	for _, ch := range health.AuditPosture(ctx, client, cfg.Account) {
		if ch.Status != health.Pass {
			posture = append(posture, fmt.Sprintf("%s (%s): %s", ch.Name, ch.Status, ch.Detail))
		}
	}
	build := func(p officer.Prompter) (*ceremony.Engine, error) {
		return ceremony.New(ceremony.Config{Account: cfg.Account, TenantID: cfg.TenantID, Domain: cfg.Domain,
			OfficerA: cfg.OfficerA, OfficerB: cfg.OfficerB, Witness: cfg.Witness, Keys: keys, Reset: reset, Retire: cfg.Retire,
			MinPINLength: cfg.MinPINLength, GeneratedPIN: cfg.PINHalves == "generated", PrintHalf: envelope.Command(cfg.PrintCommand), Verifier: vf, Signer: signer, Tool: report.ToolInfo(version, revision), Hostname: host,
			OutDir: cfg.OutDir, Previous: previous, Deviations: append(be.Deviations(), cfg.signInDeviations()...), PostureFindings: posture}, j, fidokey.HID{Fixed: cfg.Devices, Backend: be}, client, p)
	}
	resumeHint := fmt.Sprintf("Nothing is lost: the journal is %s.\nResume with: keyceremony ceremony --config %s --resume %s", journalPath, *cfgPath, journalPath)
	res, err := runTUI(ctx, "keyceremony — "+cfg.Account, ceremony.Config{Keys: keys}.StepCount(), resumeHint, nil, build, func(r *ceremony.Result) string {
		return fmt.Sprintf("Ceremony complete: %d keys registered, %d retired.", len(r.Methods), len(r.Retired))
	})
	if err != nil {
		return fmt.Errorf("%w (resume with: keyceremony ceremony --config %s --resume %s)", err, *cfgPath, journalPath)
	}
	fmt.Fprintf(out, "Report in %s; fingerprint %s\n", res.Dir, res.Fingerprint)
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
