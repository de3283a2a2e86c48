package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// pageWidth is the printable page's width in characters (fits A4 and Letter
// in 8-point Courier, and an 80-column terminal).
const pageWidth = 78

// Render is the printable page for the safe: the facts, the report hash and
// the signing key fingerprint to copy onto the envelope, and lines for the
// officers' signatures and the tamper-evident bag numbers.
func Render(r *Report, reportJSON []byte) ([]byte, error) {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	rule := func(c string) { line("%s", strings.Repeat(c, pageWidth)) }
	field := func(k string, v any) {
		s := fmt.Sprint(v)
		if s == "" {
			return
		}
		// Long values (hashes, IDs, names) wrap under themselves.
		const indent = 23
		label := fmt.Sprintf("  %-20s ", k+":")
		rs := []rune(s)
		for first := true; first || len(rs) > 0; first = false {
			n := min(len(rs), pageWidth-indent)
			if !first {
				label = strings.Repeat(" ", indent)
			}
			line("%s%s", label, string(rs[:n]))
			rs = rs[n:]
		}
	}
	title := "KEY CEREMONY REPORT"
	if r.Type == TypeHealth {
		title = "KEY HEALTH CHECK REPORT"
	}
	rule("=")
	line("%s — Entra ID break-glass account", title)
	if r.Rehearsal {
		line("*** REHEARSAL — virtual keys, throw-away signing key: NOT A CEREMONY RECORD ***")
	}
	rule("=")
	field("Ceremony ID", r.CeremonyID)
	field("Started (UTC)", r.Started.UTC().Format(time.RFC3339))
	field("Ended (UTC)", r.Ended.UTC().Format(time.RFC3339))
	field("Tenant", strings.TrimSpace(r.Tenant.ID+" "+r.Tenant.Domain))
	field("Account", r.Account.UPN)
	field("Account object ID", r.Account.ObjectID)
	for _, p := range r.Officers {
		field(roleTitle(p.Role), p.Name)
	}
	field("Workstation", r.Workstation.Hostname)
	field("Signing key", fmt.Sprintf("%s (%s)", r.Workstation.SignerFingerprint, r.Workstation.SignerKind))
	field("Tool", fmt.Sprintf("keyceremony %s, %s", r.Tool.Version, r.Tool.GoVersion))
	field("Binary SHA-256", r.Tool.BinarySHA256)
	if r.Policy != nil {
		field("Policy", fmt.Sprintf("%s (SHA-256 %s)", r.Policy.Name, r.Policy.SHA256))
	}
	if r.MDS != nil {
		field("MDS blob", fmt.Sprintf("no. %d, SHA-256 %s", r.MDS.Serial, r.MDS.SHA256))
	}
	for _, k := range r.Keys {
		rule("-")
		line("KEY %d: %s", k.Slot, k.Model)
		field("AAGUID", k.AAGUID)
		field("Firmware", k.Firmware)
		field("Serial", k.Serial)
		field("Credential ID", k.CredentialID)
		pk := sha256.Sum256([]byte(k.PublicKeyCOSE))
		field("Public key (SHA-256)", hex.EncodeToString(pk[:]))
		if a := k.Attestation; a != nil {
			verdict := "ALLOWED"
			if !a.Allowed {
				verdict = "REFUSED"
			}
			field("Attestation", fmt.Sprintf("%s, %s (%s)", verdict, a.Format, a.AttestationType))
			if a.Root != nil {
				field("Attestation root", a.Root.Subject)
				field("Root SHA-256", a.Root.SHA256)
			}
		}
		field("Entra method ID", k.GraphMethodID)
		field("Display name", k.DisplayName)
		pin := "not set"
		if k.PINSet {
			pin = "set"
			if k.PINSplit {
				pin = "set from two halves (split knowledge)"
			}
		}
		field("PIN", pin)
		field("PIN retries", k.PINRetries)
		field("Min PIN length", k.MinPINLength)
	}
	if len(r.Retired) > 0 {
		rule("-")
		line("RETIRED")
		for _, x := range r.Retired {
			line("  %s %s %s", x.GraphMethodID, x.DisplayName, x.AAGUID)
		}
	}
	rule("-")
	line("STEPS")
	for _, s := range r.Steps {
		who := ""
		if len(s.ConfirmedBy) > 0 {
			who = " — confirmed by " + strings.Join(s.ConfirmedBy, ", ")
		}
		line("  %s  %-8s %s%s", s.Ended.UTC().Format("15:04:05"), s.Outcome, s.Name, who)
	}
	for _, f := range r.Findings {
		line("  FINDING: %s", f)
	}
	for _, d := range r.Deviations {
		line("  DEVIATION: %s", d)
	}
	rule("-")
	if r.Previous != nil {
		field("Previous report", fmt.Sprintf("%s (%s)", r.Previous.SHA256, r.Previous.CeremonyID))
	} else {
		field("Previous report", "none (first report of this account)")
	}
	sum := sha256.Sum256(reportJSON)
	field("report.json SHA-256", hex.EncodeToString(sum[:]))
	rule("=")
	line("COPY ONTO THE ENVELOPE — signing key fingerprint:")
	line("  %s", r.Workstation.SignerFingerprint)
	line("Verify: keyceremony report verify report.json, or")
	line("  ssh-keygen -Y verify -f allowed_signers -I %s -n %s -s report.json.sig < report.json", Principal, Namespace)
	rule("=")
	for _, p := range r.Officers {
		line("")
		line("%-12s %-30s signature: ______________________", p.Role, p.Name)
	}
	line("")
	line("Tamper-evident bag, key 1: ______________   key 2: ______________")
	line("Date and place: ________________________________________________")
	return []byte(b.String()), nil
}

// RenderPDF lays the printable page out as a PDF (Courier, A4).
func RenderPDF(r *Report, reportJSON []byte) ([]byte, error) {
	text, err := Render(r, reportJSON)
	if err != nil {
		return nil, err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("keyceremony report "+r.CeremonyID, true)
	pdf.SetCreator("keyceremony", true)
	pdf.SetCreationDate(r.Ended.UTC())
	pdf.SetModificationDate(r.Ended.UTC())
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	pdf.SetFont("Courier", "", 8)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	for _, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		pdf.CellFormat(0, 3.6, tr(l), "", 1, "L", false, 0, "")
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("render PDF: %w", err)
	}
	return out.Bytes(), nil
}

// roleTitle names a role for the page.
func roleTitle(role string) string {
	switch role {
	case "officer-a":
		return "Officer A"
	case "officer-b":
		return "Officer B"
	case "witness":
		return "Witness"
	}
	return role
}
