package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The README's import graph is the code's: scripts/imports.sh prints it
// from `go list`, and the listing between the markers must be that output.
func TestREADMEImportGraphIsCurrent(t *testing.T) {
	out, err := exec.Command("bash", "../../scripts/imports.sh").Output()
	if err != nil {
		t.Fatalf("scripts/imports.sh: %v", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	begin, end := strings.Index(s, "<!-- imports:begin -->"), strings.Index(s, "<!-- imports:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README has no import graph markers")
	}
	block := strings.TrimSpace(s[begin+len("<!-- imports:begin -->") : end])
	block = strings.TrimSuffix(strings.TrimPrefix(block, "```"), "```")
	if strings.TrimSpace(block) != strings.TrimSpace(string(out)) {
		t.Fatalf("the README's import graph is stale; replace it with the output of bash scripts/imports.sh:\n%s", out)
	}
}
