package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
)

// usageError is a command that could not run (bad flags, unreadable input): exit 2.
type usageError struct{ error }

func (usageError) ExitCode() int { return 2 }

// loadVerifier builds a Verifier from --policy (default: embedded) and --mds.
func loadVerifier(policyPath, mdsPath string, isRehearsal bool) (*attest.Verifier, error) {
	var (
		pol *attest.Policy
		err error
	)
	if policyPath == "" {
		pol, err = attest.DefaultPolicy()
	} else {
		pol, err = attest.LoadPolicy(policyPath)
	}
	if err != nil {
		return nil, err
	}
	vf := &attest.Verifier{Policy: pol}
	if isRehearsal {
		vf = rehearsal.Verifier(pol)
	}
	if mdsPath == "" && pol.MDS != nil {
		mdsPath = pol.MDS.Blob
	}
	if mdsPath != "" {
		if vf.MDS, err = attest.LoadMDS(mdsPath, nil, time.Now()); err != nil {
			return nil, err
		}
	}
	return vf, nil
}

func cmdAttest(ctx context.Context, args []string, out io.Writer) error {
	const synopsis = "attest verify [--policy FILE] [--mds FILE] [--rehearsal] [--json] [--rp-id ID] [--origin URL] [--firmware X.Y.Z] REGISTRATION.json"
	if err := groupHelp(args, out, "usage: keyceremony "+synopsis); err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "verify" {
		return usageError{errors.New("usage: keyceremony " + synopsis)}
	}
	fs := newFlags("attest verify", synopsis)
	policyPath := fs.String("policy", "", "policy file (default: the embedded policy)")
	mdsPath := fs.String("mds", "", "FIDO MDS3 blob (default: the policy's, if any)")
	rehearsal := fs.Bool("rehearsal", false, "trust the simkey TEST root (rehearsal only)")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	rpID := fs.String("rp-id", "login.microsoft.com", "expected relying party ID")
	origin := fs.String("origin", "https://login.microsoft.com", "expected origin in clientDataJSON")
	firmware := fs.String("firmware", "", "the key's getInfo firmwareVersion, when the policy sets a minimum (e.g. 5.4.3)")
	pos, err := fs.parse(args[1:], out)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fs.usageError("give exactly one registration file")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return usageError{err}
	}
	// Accept the test-vector wrapper {"about":…, "registration":…} too.
	var wrapper struct {
		Registration json.RawMessage `json:"registration"`
	}
	if json.Unmarshal(data, &wrapper) == nil && len(wrapper.Registration) > 0 {
		data = wrapper.Registration
	}
	var fw *uint64
	if *firmware != "" {
		v, err := attest.ParseFirmware(*firmware)
		if err != nil {
			return usageError{err}
		}
		fw = &v
	}
	vf, err := loadVerifier(*policyPath, *mdsPath, *rehearsal)
	if err != nil {
		return usageError{err}
	}
	in, err := attest.InputFromRegistrationJSON(data, fw)
	if err != nil {
		return usageError{err}
	}
	v, err := vf.Verify(in, attest.Expect{RPID: *rpID, Origin: *origin})
	if err != nil {
		return usageError{err}
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		printVerdict(out, v)
	}
	if !v.Allowed {
		return findingError{fmt.Sprintf("refused (%d reasons)", len(v.Reasons))}
	}
	return nil
}

// printVerdict renders a verdict for an officer.
func printVerdict(out io.Writer, v *attest.Verdict) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	row := func(k string, val any) { fmt.Fprintf(tw, "%s\t%v\n", k, val) }
	verdict := "ALLOWED"
	if !v.Allowed {
		verdict = "REFUSED"
	}
	if v.Rehearsal {
		verdict += " (rehearsal: simkey TEST root trusted)"
	}
	row("Verdict", verdict)
	row("Trusted", v.Trusted)
	row("Format", fmt.Sprintf("%s (%s)", v.Format, v.AttestationType))
	row("AAGUID", v.AAGUID)
	if v.Model != "" {
		row("Model", v.Model)
	}
	if v.Root != nil {
		row("Root", fmt.Sprintf("%s (SHA-256 %s)", v.Root.Subject, v.Root.SHA256))
	}
	for i, c := range v.Chain {
		row(fmt.Sprintf("Chain[%d]", i), fmt.Sprintf("%s (SHA-256 %s)", c.Subject, c.SHA256))
	}
	if v.MDS != nil {
		row("MDS", fmt.Sprintf("blob no. %d; statuses %s; certification %s", v.MDS.Serial, strings.Join(v.MDS.Statuses, ", "), v.MDS.Certification))
	}
	if v.Firmware != "" {
		row("Firmware", v.Firmware)
	}
	row("Policy", fmt.Sprintf("%s (SHA-256 %s)", v.PolicyName, v.PolicySHA256))
	for _, r := range v.Reasons {
		row("Refused", fmt.Sprintf("[%s] %s", r.Code, r.Message))
	}
	tw.Flush()
}

func cmdPolicy(ctx context.Context, args []string, out io.Writer) error {
	const policyUsage = `usage:
  keyceremony policy check FILE|default   validate a policy and show what it allows ("default": the embedded one)
  keyceremony policy show                 print the embedded policy as it is
  keyceremony policy roots --out DIR      write the embedded policy's roots as PEM files`
	if err := groupHelp(args, out, policyUsage); err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError{errors.New(policyUsage)}
	}
	switch args[0] {
	case "show":
		p, err := attest.DefaultPolicy()
		if err != nil {
			return err
		}
		_, err = out.Write(p.JSON())
		return err
	case "roots":
		fs := newFlags("policy roots", "policy roots --out DIR")
		dir := fs.String("out", "", "directory to write the roots into (created)")
		if _, err := fs.parse(args[1:], out); err != nil {
			return err
		}
		if *dir == "" {
			return fs.usageError("--out is required")
		}
		return exportRoots(*dir, out)
	}
	if len(args) != 2 || args[0] != "check" {
		return usageError{errors.New(policyUsage)}
	}
	var (
		p   *attest.Policy
		err error
	)
	if args[1] == "default" {
		p, err = attest.DefaultPolicy()
	} else {
		p, err = attest.LoadPolicy(args[1])
	}
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(out, "Policy %q is valid (SHA-256 %s)\n", p.Name, p.SHA256())
	fmt.Fprintf(out, "Attestation required: %v; self attestation allowed: %v\n", p.RequiresAttestation(), p.AllowSelfAttestation)
	for _, r := range p.TrustedRoots() {
		fmt.Fprintf(out, "Trusted root: %s (valid until %s)\n", r.Subject, r.NotAfter.Format(time.DateOnly))
	}
	if p.MDS != nil {
		fmt.Fprintf(out, "MDS blob: %s (max age %d days, entry required: %v)\n", p.MDS.Blob, p.MDS.MaxAgeDays, p.MDS.Required)
	}
	if p.MinCertification != "" {
		fmt.Fprintf(out, "Minimum certification: %s\n", p.MinCertification)
	}
	fmt.Fprintln(out, "Allowed models:")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	for _, a := range p.Allowed {
		min := "any"
		if a.MinFirmware != "" {
			min = a.MinFirmware
		}
		fmt.Fprintf(tw, "  %s\t%s\tfirmware %s\n", a.AAGUID, a.Name, min)
	}
	tw.Flush()
	if p.DisplayNamePattern != "" {
		fmt.Fprintf(out, "Display name pattern: %s\n", p.DisplayNamePattern)
	}
	return nil
}

// exportRoots writes each root of the embedded policy as NAME.pem into dir
// and lists them with their SHA-256, to compare with the vendors' own.
func exportRoots(dir string, out io.Writer) error {
	p, err := attest.DefaultPolicy()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, r := range p.RootInfo() {
		name := strings.ToLower(strings.NewReplacer(" ", "-", "/", "-").Replace(p.Roots[i].Name)) + ".pem"
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, p.RootPEM(i), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\t%s\tSHA-256 %s\n", path, p.Roots[i].Name, r.SHA256)
	}
	return nil
}
