package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Write never replaces a report.json: another report in the folder is
// refused and nothing there changes; the very same report (an interrupted
// Write being finished) gets its missing files, its report.json untouched;
// and no temporary file is left (issue 24 §3).
func TestWriteFinishesTheSameReportAndNeverReplacesAnother(t *testing.T) {
	signer := softwareSigner(t, "software")
	dir := t.TempDir()
	r := ceremonyReport(t, false)
	w, err := Write(dir, r, signer)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(filepath.Join(dir, FileReport))
	for _, missing := range []string{FileSignature, fileRawSignature, filePrintable, filePublicKey} {
		os.Remove(filepath.Join(dir, missing))
		again, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Write(dir, again, signer); err != nil {
			t.Fatalf("finishing a report without its %s: %v", missing, err)
		}
		if now, _ := os.ReadFile(filepath.Join(dir, FileReport)); !bytes.Equal(now, body) {
			t.Fatal("report.json was rewritten")
		}
		if ok, err := VerifyFile(filepath.Join(dir, FileReport), "", "", false, &bytes.Buffer{}); !ok || err != nil {
			t.Fatalf("after finishing the missing %s the report does not verify: %v", missing, err)
		}
		if _, err := os.Stat(filepath.Join(dir, missing)); err != nil {
			t.Fatalf("%s not written again: %v", missing, err)
		}
	}
	sig, _ := os.ReadFile(filepath.Join(dir, FileSignature))
	other := ceremonyReport(t, false)
	other.CeremonyID = "kc-another"
	if _, err := Write(dir, other, signer); err == nil || !strings.Contains(err.Error(),
		"holds another report already") {
		t.Fatalf("another report in the same folder: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, FileReport)); !bytes.Equal(now, body) {
		t.Fatal("another report replaced report.json")
	}
	if now, _ := os.ReadFile(filepath.Join(dir, FileSignature)); !bytes.Equal(now, sig) {
		t.Fatal("another report replaced the signature")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("a temporary file is left: %s", e.Name())
		}
	}
	if len(entries) != len(w.Files) {
		t.Fatalf("%d files in the folder, Write listed %d", len(entries), len(w.Files))
	}
}
