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

// render is the printable page for the safe: the facts, each value under
// its label, the report hash and the signing key fingerprint to copy onto
// the envelope, and lines for the people's signatures (and, after a
// ceremony, the tamper-evident bag numbers). A health check has its own
// layout: what was checked, each result and its detail.
func render(r *Report, reportJSON []byte) ([]byte, error) {
	p := &page{}
	title := "KEY CEREMONY REPORT"
	switch r.Type {
	case TypeHealth:
		title = "KEY HEALTH CHECK REPORT"
	case typeMonitorSetup:
		title = "MONITORING SET-UP REPORT"
	}
	p.rule("=")
	p.line("%s — Entra ID break-glass account", title)
	if r.Rehearsal {
		p.line("*** REHEARSAL — virtual keys, throw-away signing key: NOT A CEREMONY RECORD ***")
	}
	p.rule("=")
	idLabel := "Ceremony ID"
	if r.Type == TypeHealth {
		idLabel = "Health check ID"
	}
	p.field(idLabel, r.CeremonyID)
	p.field("Started (UTC)", r.Started.UTC().Format(time.RFC3339))
	p.field("Ended (UTC)", r.Ended.UTC().Format(time.RFC3339))
	p.field("Tenant ID", r.Tenant.ID)
	p.field("Tenant domain", r.Tenant.Domain)
	p.field("Account", r.Account.UPN)
	p.field("Account object ID", r.Account.ObjectID)
	for _, o := range r.Officers {
		p.field(roleTitle(o.Role), o.Name)
	}
	p.field("Workstation", r.Workstation.Hostname)
	p.field("Signing key", r.Workstation.SignerFingerprint)
	p.field("Signing key kind", r.Workstation.SignerKind)
	p.field("Tool", fmt.Sprintf("keyceremony %s, %s", r.Tool.Version, r.Tool.GoVersion))
	p.field("Tool binary SHA-256", r.Tool.BinarySHA256)
	if r.Policy != nil {
		p.field("Policy", r.Policy.Name)
		p.field("Policy SHA-256", r.Policy.SHA256)
	}
	if r.MDS != nil {
		p.field("MDS blob number", r.MDS.Serial)
		p.field("MDS blob SHA-256", r.MDS.SHA256)
	}
	if r.Type == TypeHealth {
		p.checks(r)
	}
	for _, k := range r.Keys {
		p.key(r, k)
	}
	if len(r.Retired) > 0 {
		p.rule("-")
		p.line("RETIRED")
		for _, x := range r.Retired {
			p.field("Entra method ID", x.GraphMethodID)
			p.field("Display name", x.DisplayName)
			p.field("AAGUID", x.AAGUID)
		}
	}
	if r.Type != TypeHealth {
		p.rule("-")
		p.line("STEPS")
		for _, s := range r.Steps {
			who := ""
			if len(s.ConfirmedBy) > 0 {
				who = " — confirmed by " + strings.Join(s.ConfirmedBy, ", ")
			}
			p.wrapped(fmt.Sprintf("  %s  %-8s ", s.Ended.UTC().Format("15:04:05"), s.Outcome), s.Name+who)
		}
	}
	if len(r.Findings) > 0 || len(r.Deviations) > 0 {
		p.rule("-")
		p.line("FINDINGS AND DEVIATIONS")
		for _, f := range r.Findings {
			p.wrapped("  FINDING: ", f)
		}
		for _, d := range r.Deviations {
			p.wrapped("  DEVIATION: ", d)
		}
	}
	p.rule("-")
	p.line("CHAIN")
	if r.Previous != nil {
		p.field("Previous report", fmt.Sprintf("%s %s", r.Previous.Type, r.Previous.CeremonyID))
		p.field("Previous report SHA-256", r.Previous.SHA256)
	} else {
		p.field("Previous report", "none (first report of this account)")
	}
	sum := sha256.Sum256(reportJSON)
	p.field("This report SHA-256", hex.EncodeToString(sum[:]))
	p.field("", "(the SHA-256 of report.json; the next report of this account names it)")
	p.rule("=")
	p.line("COPY ONTO THE ENVELOPE — the fingerprint of the workstation key that signed")
	p.line("this report:")
	p.line("  %s", groupFingerprint(r.Workstation.SignerFingerprint))
	p.line("Verify: %s, or", verifyCommand(r))
	p.line("  ssh-keygen -Y verify -f allowed_signers -I %s -n %s", principal, Namespace)
	p.line("    -s report.json.sig < report.json")
	p.rule("=")
	for _, who := range signatories(r) {
		p.line("")
		p.line("%-10s %-30s signature: ____________________", who[0], who[1])
		p.line("%-10s %-30s date and place: _______________", "", "")
	}
	if r.Type != TypeHealth {
		p.line("")
		p.line("Tamper-evident bag, key 1: ______________   key 2: ______________")
	}
	return []byte(p.String()), nil
}

// signatories are the people who sign the page: each officer and the
// witness, a blank line for a witness the report does not name.
func signatories(r *Report) [][2]string {
	var out [][2]string
	witness := false
	for _, o := range r.Officers {
		out = append(out, [2]string{roleTitle(o.Role), o.Name})
		witness = witness || o.Role == "witness"
	}
	if !witness {
		out = append(out, [2]string{"Witness", "______________________________"})
	}
	return out
}

// page builds the printable text, pageWidth characters wide.
type page struct{ strings.Builder }

func (p *page) line(format string, a ...any) { fmt.Fprintf(p, format+"\n", a...) }
func (p *page) rule(c string)                { p.line("%s", strings.Repeat(c, pageWidth)) }

// field writes a labelled value; an empty value is left out.
func (p *page) field(label string, v any) {
	s := fmt.Sprint(v)
	if s == "" {
		return
	}
	if label != "" {
		label += ":"
	}
	for _, l := range wrapField(fmt.Sprintf("  %-23s ", label), s) {
		p.line("%s", l)
	}
}

// wrapped writes text after a lead, continuing under the text's first column.
func (p *page) wrapped(lead, text string) {
	for _, l := range wrapField(lead, text) {
		p.line("%s", l)
	}
}

// checks is a health report's list of what was checked: each result and
// its detail.
func (p *page) checks(r *Report) {
	p.rule("-")
	p.line("WHAT WAS CHECKED")
	for _, s := range r.Steps {
		p.wrapped(fmt.Sprintf("  %-16s ", strings.ToUpper(s.Outcome)), s.Name)
		if s.Detail != "" {
			p.wrapped("                     ", s.Detail)
		}
	}
}

// key is one key's block: the key, its credential and, after a ceremony,
// its attestation and PIN.
func (p *page) key(r *Report, k Key) {
	p.rule("-")
	p.line("KEY %d: %s", k.Slot, k.Model)
	p.field("AAGUID", k.AAGUID)
	firmware := k.Firmware
	switch {
	case firmware == "":
		firmware = "not reported"
	case k.FirmwareSource != "":
		firmware += " (from " + k.FirmwareSource + ")"
	}
	p.field("Firmware", firmware)
	p.field("Serial", k.Serial)
	p.field("Credential ID", k.CredentialID)
	pk := sha256.Sum256([]byte(k.PublicKeyCOSE))
	p.field("Public key SHA-256", hex.EncodeToString(pk[:]))
	if a := k.Attestation; a != nil {
		verdict := "ALLOWED"
		if !a.Allowed {
			verdict = "REFUSED"
		}
		p.field("Attestation", fmt.Sprintf("%s, %s (%s)", verdict, a.Format, a.AttestationType))
		if a.Root != nil {
			p.field("Attestation root", a.Root.Subject)
			p.field("Attestation root SHA-256", a.Root.SHA256)
		}
	}
	p.field("Entra method ID", k.GraphMethodID)
	p.field("Display name", k.DisplayName)
	if r.Type == TypeHealth {
		return
	}
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
	p.field("PIN", pin)
	p.field("PIN retries", k.PINRetries)
	p.field("Min PIN length", k.MinPINLength)
}

// wrapField lays a labelled value out in lines of at most pageWidth
// characters, breaking only between words. A word too long for the value
// column (a hash, an ID) starts on the next line, indented four, and a
// word longer than that line is cut into pieces that fit: a value never
// stands on a line without its label above it.
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
		default: // longer than the value column: under the label, further left
			if !empty || cur != indent {
				out = append(out, strings.TrimRight(cur, " "))
			}
			rs := []rune(w)
			for len(rs) > 0 {
				n := min(len(rs), pageWidth-4)
				out = append(out, "    "+string(rs[:n]))
				rs = rs[n:]
			}
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
		pdf.CellFormat(0, 5, "keyceremony — "+r.CeremonyID+" — "+r.Account.UPN, "", 0, "L", false, 0, "")
		if r.Rehearsal {
			pdf.SetTextColor(200, 0, 0)
			pdf.CellFormat(0, 5, "REHEARSAL", "", 0, "R", false, 0, "")
			pdf.SetTextColor(0, 0, 0)
		}
		pdf.Ln(9)
	})
	pdf.SetFooterFunc(func() {
		pdf.SetY(-16)
		pdf.SetFont(pdfdoc.Font, "", 7)
		pdf.CellFormat(0, 4, "Verify: "+verifyCommand(r), "", 1, "L", false, 0, "")
		pdf.CellFormat(
			0,
			4,
			fmt.Sprintf("%s — %s — page %d of {pages}", r.Account.UPN, r.CeremonyID, pdf.PageNo()),
			"",
			0,
			"R",
			false,
			0,
			"",
		)
	})
	pdf.AddPage()
	pdf.SetFont(pdfdoc.Font, "", 8)
	const lineHeight, bottom = 3.6, 297 - 22
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	for i, l := range lines {
		// A section (from its rule to the next) that fits on one page
		// starts on a new page rather than breaking across two.
		if i > 0 && strings.HasPrefix(l, "-----") {
			n := 1
			for n < len(lines)-i && !strings.HasPrefix(lines[i+n], "-----") && !strings.HasPrefix(lines[i+n], "=====") {
				n++
			}
			need := float64(n) * lineHeight
			if need < bottom-30 && pdf.GetY()+need > bottom {
				pdf.AddPage()
			}
		}
		pdf.CellFormat(0, lineHeight, l, "", 1, "L", false, 0, "")
	}
	// The fingerprint, large and grouped, and the signature lines, kept together.
	if pdf.GetY() > bottom-95 {
		pdf.AddPage()
	}
	pdf.Ln(4)
	pdf.SetFont(pdfdoc.Font, "B", 10)
	pdf.CellFormat(0, 6, "COPY ONTO THE ENVELOPE", "", 1, "L", false, 0, "")
	pdf.SetFont(pdfdoc.Font, "", 9)
	pdf.CellFormat(0, 5, "the fingerprint of the workstation key that signed this report:", "", 1, "L", false, 0, "")
	pdf.SetFont(pdfdoc.Font, "B", 13) // 61 characters fit the 180 mm between the margins
	pdf.CellFormat(0, 10, groupFingerprint(r.Workstation.SignerFingerprint), "1", 1, "C", false, 0, "")
	sum := sha256.Sum256(reportJSON)
	pdf.SetFont(pdfdoc.Font, "", 8)
	pdf.CellFormat(0, 5, "This report (report.json) SHA-256: "+hex.EncodeToString(sum[:]), "", 1, "L", false, 0, "")
	pdf.Ln(2)
	pdf.SetFont(pdfdoc.Font, "", 9)
	for _, who := range signatories(r) {
		pdf.CellFormat(
			0,
			8,
			fmt.Sprintf("%-10s %-28s signature: ____________________", who[0], who[1]),
			"",
			1,
			"L",
			false,
			0,
			"",
		)
		pdf.CellFormat(
			0,
			5,
			fmt.Sprintf("%-10s %-28s date and place: _______________", "", ""),
			"",
			1,
			"L",
			false,
			0,
			"",
		)
	}
	if r.Type != TypeHealth {
		pdf.CellFormat(
			0,
			9,
			"Tamper-evident bag, key 1: ______________   key 2: ______________",
			"",
			1,
			"L",
			false,
			0,
			"",
		)
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
