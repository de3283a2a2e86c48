package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/internal/pdfdoc"
	"github.com/keyceremony/keyceremony/workstation"
)

// pageWidth is the printable page's width in characters (fits A4 and Letter
// in 8-point Courier, and an 80-column terminal).
const pageWidth = 78

// render is the printable page for the safe: the facts, the report hash and
// the signing key fingerprint to copy onto the envelope, and lines for the
// officers' signatures and the tamper-evident bag numbers.
func render(r *Report, reportJSON []byte) ([]byte, error) {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	rule := func(c string) { line("%s", strings.Repeat(c, pageWidth)) }
	field := func(k string, v any) {
		s := fmt.Sprint(v)
		if s == "" {
			return
		}
		for _, l := range wrapField(fmt.Sprintf("  %-20s ", k+":"), s) {
			line("%s", l)
		}
	}
	title := "KEY CEREMONY REPORT"
	switch r.Type {
	case TypeHealth:
		title = "KEY HEALTH CHECK REPORT"
	case typeMonitorSetup:
		title = "MONITORING SET-UP REPORT"
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
			switch {
			case k.PINSplit && k.PINGenerated:
				pin = "set from two generated halves, each printed for its own sealed envelope"
			case k.PINSplit:
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
	line("  %s", groupFingerprint(r.Workstation.SignerFingerprint))
	line("Verify: %s, or", verifyCommand(r))
	line("  ssh-keygen -Y verify -f allowed_signers -I %s -n %s", principal, Namespace)
	line("    -s report.json.sig < report.json")
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

// wrapField lays a labelled value out in lines of at most pageWidth
// characters, breaking only between words; a word too long for the value
// column (a hash, an ID) gets a line of its own under the label.
func wrapField(label, value string) []string {
	indent := strings.Repeat(" ", len([]rune(label)))
	var out []string
	cur := label
	empty := true
	for _, w := range strings.Fields(value) {
		switch {
		case empty && len([]rune(cur))+len([]rune(w)) <= pageWidth:
			cur += w
			empty = false
		case !empty && len([]rune(cur))+1+len([]rune(w)) <= pageWidth:
			cur += " " + w
		case len([]rune(indent))+len([]rune(w)) <= pageWidth:
			if !empty {
				out = append(out, cur)
			}
			cur, empty = indent+w, false
		default: // longer than the value column: its own line, further left
			if !empty || cur != label {
				out = append(out, cur)
			}
			out = append(out, "    "+w)
			cur, empty = indent, true
		}
	}
	if !empty || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

// groupFingerprint writes an OpenSSH fingerprint in groups of four for
// copying by hand: "SHA256:abcd efgh …".
func groupFingerprint(fp string) string {
	prefix, body, ok := strings.Cut(fp, ":")
	if !ok {
		return fp
	}
	var groups []string
	for len(body) > 4 {
		groups, body = append(groups, body[:4]), body[4:]
	}
	return prefix + ": " + strings.Join(append(groups, body), " ")
}

// verifyCommand is the keyceremony command that verifies this report.
func verifyCommand(r *Report) string {
	if r.Rehearsal || r.Workstation.SignerKind == workstation.KindRehearsal {
		return "keyceremony report verify --rehearsal report.json"
	}
	return "keyceremony report verify report.json"
}

// renderPDF lays the printable page out as an A4 PDF with its fonts (the Go
// fonts, golang.org/x/image/font/gofont) embedded: on every page a header
// with the ceremony ID (and REHEARSAL for a rehearsal) and a footer with the
// page number and the command that verifies this report; the signing key
// fingerprint large and grouped; lines for the officers and the witness.
func renderPDF(r *Report, reportJSON []byte) ([]byte, error) {
	text, err := render(r, reportJSON)
	if err != nil {
		return nil, err
	}
	body := string(text)
	if i := strings.Index(body, "COPY ONTO THE ENVELOPE"); i > 0 { // laid out below, larger
		body = body[:strings.LastIndex(body[:i], "\n")]
	}
	pdf := pdfdoc.New("keyceremony report "+r.CeremonyID, r.Ended)
	pdf.SetMargins(15, 22, 15)
	pdf.SetAutoPageBreak(true, 22)
	pdf.AliasNbPages("{pages}")
	pdf.SetHeaderFunc(func() {
		pdf.SetY(8)
		pdf.SetFont(pdfdoc.Font, "B", 9)
		pdf.CellFormat(0, 5, "keyceremony — "+r.CeremonyID, "", 0, "L", false, 0, "")
		if r.Rehearsal {
			pdf.SetTextColor(200, 0, 0)
			pdf.CellFormat(0, 5, "REHEARSAL — NOT A CEREMONY RECORD", "", 0, "R", false, 0, "")
			pdf.SetTextColor(0, 0, 0)
		}
		pdf.Ln(9)
	})
	pdf.SetFooterFunc(func() {
		pdf.SetY(-16)
		pdf.SetFont(pdfdoc.Font, "", 7)
		pdf.CellFormat(0, 4, "Verify: "+verifyCommand(r), "", 1, "L", false, 0, "")
		pdf.CellFormat(0, 4, fmt.Sprintf("%s — page %d of {pages}", r.CeremonyID, pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont(pdfdoc.Font, "", 8)
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		pdf.CellFormat(0, 3.6, l, "", 1, "L", false, 0, "")
	}
	// The fingerprint, large and grouped, and the signature lines, kept together.
	if pdf.GetY() > 297-22-80 {
		pdf.AddPage()
	}
	pdf.Ln(4)
	pdf.SetFont(pdfdoc.Font, "B", 10)
	pdf.CellFormat(0, 6, "COPY ONTO THE ENVELOPE — signing key fingerprint:", "", 1, "L", false, 0, "")
	pdf.SetFont(pdfdoc.Font, "B", 13) // 61 characters fit the 180 mm between the margins
	pdf.CellFormat(0, 10, groupFingerprint(r.Workstation.SignerFingerprint), "1", 1, "C", false, 0, "")
	sum := sha256.Sum256(reportJSON)
	pdf.SetFont(pdfdoc.Font, "", 8)
	pdf.CellFormat(0, 5, "report.json SHA-256 "+hex.EncodeToString(sum[:]), "", 1, "L", false, 0, "")
	pdf.Ln(4)
	pdf.SetFont(pdfdoc.Font, "", 9)
	for _, p := range r.Officers {
		pdf.CellFormat(0, 9, fmt.Sprintf("%-10s %-28s signature: ____________________", roleTitle(p.Role), p.Name), "", 1, "L", false, 0, "")
	}
	pdf.CellFormat(0, 9, "Tamper-evident bag, key 1: ______________   key 2: ______________", "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 9, "Date and place: ______________________________________________", "", 1, "L", false, 0, "")
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
