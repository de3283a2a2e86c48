package envelope

import (
	"bytes"
	"fmt"
	"time"

	"github.com/keyceremony/keyceremony/internal/pdfdoc"
)

// Half is one officer's half of a generated PIN, as printed for one
// envelope. Digits is the caller's to zero once printed.
type Half struct {
	Part       string // "A" (typed first) or "B"
	Officer    string
	Account    string
	CeremonyID string
	Slot       int // the key, 1-based
	Digits     []byte
	Printed    time.Time
	Rehearsal  bool
}

// page renders h as a one-page A4 PDF: what the half is for, the digits
// large, fields for the envelope number and the seal's signatures. The page
// carries one half only; the other officer's page is printed separately.
func page(h Half) ([]byte, error) {
	pdf := pdfdoc.New(fmt.Sprintf("keyceremony PIN half %s, key %d", h.Part, h.Slot), h.Printed)
	pdf.SetMargins(20, 20, 20)
	pdf.AddPage()
	if h.Rehearsal {
		pdf.SetTextColor(200, 0, 0)
		pdf.SetFont(pdfdoc.Font, "B", 12)
		pdf.CellFormat(0, 8, "REHEARSAL — a virtual key's PIN, not a ceremony secret", "", 1, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	}
	pdf.SetFont(pdfdoc.Font, "B", 16)
	pdf.CellFormat(0, 10, fmt.Sprintf("PIN HALF %s — KEY %d", h.Part, h.Slot), "", 1, "C", false, 0, "")
	pdf.SetFont(pdfdoc.Font, "", 10)
	for _, l := range [][2]string{
		{"Officer", h.Officer},
		{"Account", h.Account},
		{"Ceremony", h.CeremonyID},
		{"Key slot", fmt.Sprintf("%d", h.Slot)},
		{"Printed", h.Printed.UTC().Format("2006-01-02 15:04 UTC")},
	} {
		pdf.CellFormat(0, 6, fmt.Sprintf("%-10s %s", l[0], l[1]), "", 1, "L", false, 0, "")
	}
	pdf.Ln(8)
	pdf.SetFont(pdfdoc.Font, "B", 40)
	pdf.CellFormat(0, 24, spaced(h.Digits), "1", 1, "C", false, 0, "")
	pdf.Ln(6)
	pdf.SetFont(pdfdoc.Font, "", 10)
	other := map[string]string{"A": "B", "B": "A"}[h.Part]
	for _, l := range []string{
		fmt.Sprintf("This is half %s of key %d's PIN. Half %s is in the other officer's", h.Part, h.Slot, other),
		"envelope: the PIN is half A followed by half B, typed without spaces.",
		"Fold this page with the digits inside, seal it in its envelope now, and",
		"both sign across the flap. Do not copy, photograph or say the digits.",
		"A page printed later for the same key and ceremony makes this one void.",
	} {
		pdf.CellFormat(0, 5, l, "", 1, "L", false, 0, "")
	}
	pdf.Ln(10)
	for _, l := range []string{
		"Envelope number: ______________________",
		fmt.Sprintf("Sealed by (officer %s): ______________________", h.Part),
		"Witnessed by: ______________________",
		"Date and place: ______________________________________",
	} {
		pdf.CellFormat(0, 10, l, "", 1, "L", false, 0, "")
	}
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("render the PIN half's page: %w", err)
	}
	return out.Bytes(), nil
}

// spaced writes digits in groups of two, easier to read and to type back.
func spaced(d []byte) string {
	out := make([]byte, 0, len(d)+len(d)/2)
	for i, c := range d {
		if i > 0 && i%2 == 0 {
			out = append(out, ' ')
		}
		out = append(out, c)
	}
	return string(out)
}
