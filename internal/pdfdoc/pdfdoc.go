package pdfdoc

import (
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
)

// Font is the family New embeds, in styles "" and "B".
const Font = "GoMono"

// New returns an A4 portrait document in millimetres, dated at.
func New(title string, at time.Time) *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(title, true)
	pdf.SetCreator("keyceremony", true)
	pdf.SetCreationDate(at.UTC())
	pdf.SetModificationDate(at.UTC())
	pdf.AddUTF8FontFromBytes(Font, "", gomono.TTF)
	pdf.AddUTF8FontFromBytes(Font, "B", gomonobold.TTF)
	return pdf
}
