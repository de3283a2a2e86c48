package report

import (
	"fmt"
	"io"
	"strings"
)

// writeBrief writes the report's short readable form: what, for whom,
// when, by whom, signed by which key, each key's verdict, the findings.
func (r *Report) writeBrief(w io.Writer) error {
	kind := r.Type
	if r.Rehearsal {
		kind += " (REHEARSAL)"
	}
	fmt.Fprintf(
		w,
		"%s %s for %s, %s to %s UTC\n",
		kind,
		r.CeremonyID,
		r.Account.UPN,
		r.Started.UTC().Format("2006-01-02 15:04"),
		r.Ended.UTC().Format("15:04"),
	)
	var names []string
	for _, p := range r.Officers {
		names = append(names, p.Role+" "+p.Name)
	}
	fmt.Fprintf(w, "Officers: %s\n", strings.Join(names, ", "))
	fmt.Fprintf(
		w,
		"Signed by %s key %s on %s\n",
		r.Workstation.SignerKind,
		r.Workstation.SignerFingerprint,
		r.Workstation.Hostname,
	)
	for _, k := range r.Keys {
		verdict := "no attestation verdict"
		if k.Attestation != nil {
			verdict = map[bool]string{true: "attestation allowed", false: "attestation REFUSED"}[k.Attestation.Allowed]
		}
		fmt.Fprintf(
			w,
			"Key %d: %s, AAGUID %s, credential %s…, %s, Entra method %s\n",
			k.Slot,
			k.Model,
			k.AAGUID,
			k.CredentialID[:min(len(k.CredentialID), 16)],
			verdict,
			k.GraphMethodID,
		)
	}
	for _, f := range r.Findings {
		if _, err := fmt.Fprintf(w, "Finding: %s\n", f); err != nil {
			return err
		}
	}
	return nil
}
