package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/testenv"
)

// `rehearse --generated-pin`, as an officer runs it: four envelope pages,
// each read back by poppler's pdftotext, each holding its own half and not
// the other half of its key; the joined PIN is in no file the rehearsal
// wrote and on no line it printed; the signed report says "generated".
func TestRehearseGeneratedPIN(t *testing.T) {
	pdftotext := testenv.Tool(t, "pdftotext", "poppler-utils")
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "rehearse", "--yes", "--generated-pin", "--out", dir)
	if code != 0 {
		t.Fatalf("rehearse --generated-pin: %d\n%s\n%s", code, out, errOut)
	}
	digits := regexp.MustCompile(`(?m)^\s*(\d\d(?: \d\d)+)\s*$`)
	halves := map[string]string{}
	for _, slot := range []string{"1", "2"} {
		for _, part := range []string{"A", "B"} {
			page := filepath.Join(dir, "envelopes", "pin-half-key"+slot+"-"+part+".pdf")
			text, err := exec.Command(pdftotext, "-layout", page, "-").Output()
			if err != nil {
				t.Fatalf("%s: %v", page, err)
			}
			m := digits.FindSubmatch(text)
			if m == nil || !bytes.Contains(text, []byte("PIN HALF "+part+" — KEY "+slot)) || !bytes.Contains(text, []byte("REHEARSAL")) {
				t.Fatalf("%s does not read as half %s of key %s:\n%s", page, part, slot, text)
			}
			halves[slot+part] = string(m[1])
		}
		a, b := halves[slot+"A"], halves[slot+"B"]
		joined := strings.ReplaceAll(a+b, " ", "")
		for _, part := range []string{"A", "B"} {
			other := map[string]string{"A": b, "B": a}[part]
			text, _ := exec.Command(pdftotext, "-layout", filepath.Join(dir, "envelopes", "pin-half-key"+slot+"-"+part+".pdf"), "-").Output()
			if bytes.Contains(text, []byte(other)) {
				t.Errorf("the page of half %s of key %s also holds the other half", part, slot)
			}
		}
		if strings.Contains(out+errOut, joined) || strings.Contains(out+errOut, a) || strings.Contains(out+errOut, b) {
			t.Errorf("the officers' screen showed key %s's PIN or a half", slot)
		}
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(joined)) {
					t.Errorf("%s holds key %s's whole PIN", p, slot)
				}
			}
			return nil
		})
	}
	if code, rep, _ := runCLI(t, "report", "show", filepath.Join(dir, "report.json")); code != 0 || strings.Count(rep, "set from two generated halves") != 2 {
		t.Errorf("report show: %d\n%s", code, rep)
	}
}
