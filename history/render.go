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
			fmt.Fprintf(&b, "  %s  %-9s %s  (%s, signed by %s)\n", day(e.Started), e.Type, e.CeremonyID, e.File, e.Signer)
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
		pdf.CellFormat(0, 4, fmt.Sprintf("keyceremony history — checked %s — page %d of {pages}", day(h.Checked), pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	for i, l := range strings.Split(strings.TrimRight(h.text(), "\n"), "\n") {
		style := ""
		if i == 0 || (l != "" && !strings.HasPrefix(l, " ")) {
			style = "B"
		}
		pdf.SetFont(pdfdoc.Font, style, 7.5)
		pdf.MultiCell(0, 3.4, l, "", "L", false)
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("render the history PDF: %w", err)
	}
	return out.Bytes(), nil
}
