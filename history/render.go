package history

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/keyceremony/keyceremony/internal/pdfdoc"
)

// WriteText writes the history for a terminal: problems first, then each
// account's timeline and what is due.
func (h *History) WriteText(w io.Writer) error {
	_, err := io.WriteString(w, h.text())
	return err
}

// text renders the history for a terminal or a printer.
func (h *History) text() string {
	var b strings.Builder
	if h.Rehearsal {
		b.WriteString(
			"REHEARSAL: reports of rehearsals (virtual keys, emulated tenant); they prove nothing about real keys\n",
		)
	}
	fmt.Fprintf(&b, "Safe history of %s, checked %s\n", h.Dir, h.Checked.Format("2006-01-02 15:04 UTC"))
	if len(h.Problems) == 0 {
		b.WriteString("Every report verifies, every chain is whole, nothing is due yet.\n")
	} else {
		fmt.Fprintf(&b, "%d problem(s):\n", len(h.Problems))
		for _, p := range h.Problems {
			where := p.Account
			if p.File != "" {
				where = strings.TrimPrefix(where+" "+p.File, " ")
			}
			fmt.Fprintf(&b, "  %-8s %s: %s\n", strings.ToUpper(p.Kind), where, p.Message)
		}
	}
	for _, f := range h.Summaries {
		fmt.Fprintf(&b, "Sitting summary %s verifies, and every report it names is here.\n", f)
	}
	for _, a := range h.Accounts {
		fmt.Fprintf(&b, "\n%s (%s)\n", a.UPN, a.ObjectID)
		for _, e := range a.Entries {
			kind := e.Type
			if e.Rehearsal {
				kind += " REHEARSAL"
			}
			fmt.Fprintf(
				&b,
				"  %s  %s %s\n      file %s, signed by %s\n",
				day(e.Started),
				kind,
				e.CeremonyID,
				e.File,
				e.Signer,
			)
			var people []string
			for _, p := range e.Officers {
				people = append(people, p.Role+" "+p.Name)
			}
			if len(people) > 0 {
				fmt.Fprintf(&b, "      people: %s\n", strings.Join(people, ", "))
			}
			for _, k := range e.Enrolled {
				fmt.Fprintf(&b, "      enrolled %s\n", k)
			}
			for _, k := range e.Retired {
				fmt.Fprintf(&b, "      retired  %s\n", k)
			}
			for _, f := range e.Findings {
				fmt.Fprintf(&b, "      finding: %s\n", f)
			}
			for _, d := range e.Deviations {
				fmt.Fprintf(&b, "      deviation: %s\n", d)
			}
		}
		if !a.NextRotation.IsZero() {
			fmt.Fprintf(&b, "  next rotation due %s\n", day(a.NextRotation))
		}
		if !a.NextHealth.IsZero() {
			fmt.Fprintf(&b, "  next health check due %s\n", day(a.NextHealth))
		}
	}
	return b.String()
}

// PDF renders Text as A4 pages for the binder, with the Go fonts embedded.
func (h *History) PDF() ([]byte, error) {
	pdf := pdfdoc.New("keyceremony safe history", h.Checked)
	pdf.SetMargins(12, 15, 12)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AliasNbPages("{pages}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont(pdfdoc.Font, "", 7)
		pdf.CellFormat(
			0,
			4,
			fmt.Sprintf("keyceremony history — checked %s — page %d of {pages}", day(h.Checked), pdf.PageNo()),
			"",
			0,
			"R",
			false,
			0,
			"",
		)
	})
	pdf.AddPage()
	const size, lineHeight = 9, 4.2
	for i, l := range strings.Split(strings.TrimRight(h.text(), "\n"), "\n") {
		style := ""
		if i == 0 || (l != "" && !strings.HasPrefix(l, " ")) {
			style = "B"
		}
		pdf.SetFont(pdfdoc.Font, style, size)
		// A line too long for the page wraps under its own text, so a wrapped
		// value never looks like the start of the next entry.
		indent := float64(len(l)-len(strings.TrimLeft(l, " "))) * pdf.GetStringWidth(" ")
		text := strings.TrimLeft(l, " ")
		pdf.SetLeftMargin(12 + indent)
		pdf.SetX(12 + indent)
		pdf.MultiCell(0, lineHeight, text, "", "L", false)
		pdf.SetLeftMargin(12)
	}
	// The auditor's attestation, on paper.
	pdf.Ln(8)
	pdf.SetFont(pdfdoc.Font, "B", size)
	pdf.MultiCell(0, lineHeight, "Checked by the auditor", "", "L", false)
	pdf.SetFont(pdfdoc.Font, "", size)
	for _, label := range []string{"Name", "Signature", "Date and place"} {
		pdf.Ln(6)
		pdf.CellFormat(40, lineHeight, label+":", "", 0, "L", false, 0, "")
		pdf.CellFormat(0, lineHeight, "", "B", 1, "L", false, 0, "")
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("render the history PDF: %w", err)
	}
	return out.Bytes(), nil
}
