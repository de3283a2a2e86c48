package envelope

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/testenv"
)

// Many draws from the OS CSPRNG: every PIN has the asked length, only
// digits, nothing trivial refuses (so no banned PIN within), and each digit
// turns up about equally often at every position (chi-square, 9 degrees of
// freedom: 40 is exceeded by chance with p < 1e-5).
func TestGenerateDistribution(t *testing.T) {
	const draws, length = 20000, 8
	var counts [length][10]int
	seen := map[string]bool{}
	for range draws {
		pin, err := Generate(nil, length)
		if err != nil {
			t.Fatal(err)
		}
		if len(pin) != length {
			t.Fatalf("length %d", len(pin))
		}
		for i, c := range pin {
			if c < '0' || c > '9' {
				t.Fatalf("not a digit in %q", pin)
			}
			counts[i][c-'0']++
		}
		if why := trivial(pin); why != "" {
			t.Fatalf("%s generated, though %s", pin, why)
		}
		for _, b := range banned {
			if strings.Contains(string(pin), b) {
				t.Fatalf("%s contains the banned %s", pin, b)
			}
		}
		seen[string(pin)] = true
	}
	for pos, c := range counts {
		chi2, want := 0.0, float64(draws)/10
		for _, n := range c {
			chi2 += (float64(n) - want) * (float64(n) - want) / want
		}
		if chi2 > 40 {
			t.Errorf("position %d: digit counts %v are not uniform (chi-square %.1f)", pos, c, chi2)
		}
	}
	if len(seen) < draws-50 { // 10^8 PINs: a handful of repeats at most
		t.Errorf("only %d distinct PINs in %d draws", len(seen), draws)
	}
}

func TestTrivial(t *testing.T) {
	for _, tc := range []struct{ pin, want string }{
		{"11111111", "one digit repeated"},
		{"12345678", "a run of consecutive digits"},
		{"87654321", "a run of consecutive digits"},
		{"90123456", "contains the common PIN 123456"},
		{"77159753", "contains the common PIN 159753"},
		{"48154815", "the two halves are the same"},
		{"12349071", "a half is one digit repeated or a run"},
		{"90715555", "a half is one digit repeated or a run"},
		{"48159071", ""},
		{"", "empty"},
	} {
		if got := trivial([]byte(tc.pin)); !strings.HasPrefix(got, tc.want) || (tc.want == "" && got != "") {
			t.Errorf("trivial(%q) = %q, want %q", tc.pin, got, tc.want)
		}
	}
}

// scripted hands out the bytes given, then fails.
type scripted struct{ b []byte }

func (s *scripted) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

func TestGenerateRejectsAndRedraws(t *testing.T) {
	// 250..255 are skipped (they would favour 0..5); the first full draw
	// 1,1,1,1,1,1 is trivial and redrawn.
	src := &scripted{append([]byte{255, 250, 1, 1, 1, 1, 1, 1}, []byte{4, 8, 1, 9, 0, 7}...)}
	pin, err := Generate(src, 6)
	if err != nil || string(pin) != "481907" {
		t.Fatalf("Generate = %q, %v; want 481907", pin, err)
	}
	if _, err := Generate(&scripted{bytes.Repeat([]byte{3}, 6*maxDraws)}, 6); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("a source of only 3s: %v", err)
	}
	if _, err := Generate(&scripted{[]byte{1, 2}}, 6); err == nil || !strings.Contains(err.Error(), "random source") {
		t.Errorf("a failing source: %v", err)
	}
	for _, n := range []int{4, 7, 0} {
		if _, err := Generate(rand.Reader, n); err == nil {
			t.Errorf("length %d accepted", n)
		}
	}
}

func half(part string, rehearsal bool) Half {
	return Half{Part: part, Officer: "Officer " + part, Account: "bg1@contoso.onmicrosoft.com", CeremonyID: "kc-20261125-070000",
		Slot: 2, Digits: []byte("48159071"), Printed: time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), Rehearsal: rehearsal}
}

// The page, read back as text by poppler's pdftotext (an outside reader of
// the PDF): the half large, who and what it is for, the envelope fields.
func TestPageReadsBack(t *testing.T) {
	pdftotext := testenv.Tool(t, "pdftotext", "poppler-utils")
	pdf, err := page(half("B", true))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "half.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-layout", f, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"REHEARSAL", "PIN HALF B — KEY 2", "Officer B", "bg1@contoso.onmicrosoft.com", "kc-20261125-070000",
		"48 15 90 71", "Envelope number:", "Half A is in the other officer's"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("page lacks %q:\n%s", want, out)
		}
	}
}

func TestPrinters(t *testing.T) {
	dir := t.TempDir()
	if err := Folder(dir)(context.Background(), half("A", false)); err == nil {
		t.Error("Folder wrote a real ceremony's PIN half to a file")
	}
	if err := Folder(dir)(context.Background(), half("A", true)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "pin-half-key2-A.pdf")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("rehearsal page: %v %v", fi, err)
	}
	spool := filepath.Join(dir, "spooled")
	if err := Command([]string{"sh", "-c", "cat > " + spool})(context.Background(), half("A", false)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(spool); !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("the print command got %.20q, not a PDF", b)
	}
	err := Command([]string{"sh", "-c", "echo 'lp: The printer or class does not exist.' >&2; exit 1"})(context.Background(), half("A", false))
	if err == nil || !strings.Contains(err.Error(), "printer or class does not exist") {
		t.Errorf("a failing print command: %v", err)
	}
}
