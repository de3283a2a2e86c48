package attest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// Load builds the Verifier a command uses: the policy at policyPath (""
// for the embedded one) and the MDS3 blob at mdsPath ("" for the
// policy's own, if it names one), checked at now.
func Load(policyPath, mdsPath string, now time.Time) (*Verifier, error) {
	pol, err := LoadPolicy(policyPath)
	if err != nil {
		return nil, err
	}
	vf := &Verifier{Policy: pol}
	if mdsPath == "" && pol.MDS != nil {
		mdsPath = pol.MDS.Blob
	}
	if mdsPath != "" {
		if vf.MDS, err = loadMDS(mdsPath, nil, now); err != nil {
			return nil, err
		}
	}
	return vf, nil
}

// WriteText writes the verdict as an officer reads it: one row per fact,
// one row per reason for a refusal.
func (v *Verdict) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
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
		row(
			"MDS",
			fmt.Sprintf(
				"blob no. %d; statuses %s; certification %s",
				v.MDS.Serial,
				strings.Join(v.MDS.Statuses, ", "),
				v.MDS.Certification,
			),
		)
	}
	firmware := "not reported"
	if v.Firmware != "" {
		firmware = v.Firmware
		if v.FirmwareSource != "" {
			firmware += " (from " + v.FirmwareSource + ")"
		}
	}
	row("Firmware", firmware)
	row("Policy", fmt.Sprintf("%s (SHA-256 %s)", v.PolicyName, v.PolicySHA256))
	for _, r := range v.Reasons {
		row("Refused", fmt.Sprintf("[%s] %s", r.Code, r.Message))
	}
	return tw.Flush()
}

// WriteText writes what the policy allows: its roots, its MDS rules and
// its allowlist.
func (p *Policy) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Policy %q is valid.\n  SHA-256 %s\n", p.Name, p.SHA256())
	fmt.Fprintf(
		w,
		"Attestation required: %v; self attestation allowed: %v\n",
		p.requiresAttestation(),
		p.AllowSelfAttestation,
	)
	for _, r := range p.roots {
		fmt.Fprintf(w, "Trusted root: %s (valid until %s)\n", r.Subject, r.NotAfter.Format(time.DateOnly))
	}
	if p.MDS != nil {
		fmt.Fprintf(
			w,
			"MDS blob: %s (max age %d days, entry required: %v)\n",
			p.MDS.Blob,
			p.MDS.MaxAgeDays,
			p.MDS.Required,
		)
	}
	if p.MinCertification != "" {
		fmt.Fprintf(w, "Minimum certification: %s\n", p.MinCertification)
	}
	// Two lines a model, so that a long model name does not push the
	// listing past the console's 80 columns.
	fmt.Fprintln(w, "Allowed models:")
	for _, a := range p.Allowed {
		min := "any"
		if a.MinFirmware != "" {
			min = a.MinFirmware
		}
		if _, err := fmt.Fprintf(w, "  %s  minimum firmware: %s\n    %s\n", a.AAGUID, min, a.Name); err != nil {
			return err
		}
	}
	if p.DisplayNamePattern != "" {
		fmt.Fprintf(w, "Display name pattern: %s\n", p.DisplayNamePattern)
	}
	return nil
}

// WriteRoots writes each root of the policy as NAME.pem into dir (created)
// in its published bytes, and lists them with their SHA-256 on w, to
// compare with the vendors' own.
func (p *Policy) WriteRoots(dir string, w io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, r := range p.rootInfo() {
		name := strings.ToLower(strings.NewReplacer(" ", "-", "/", "-").Replace(p.Roots[i].Name)) + ".pem"
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, p.rootPEM(i), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\tSHA-256 %s\n", path, p.Roots[i].Name, r.SHA256)
	}
	return nil
}
