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

// The README's package table says "imports only run down this list": every
// product package it lists imports only packages listed below it, and it
// lists every product package (everything outside internal/sim).
func TestREADMEPackageTableRunsDown(t *testing.T) {
	out, err := exec.Command("bash", "../../scripts/imports.sh").Output()
	if err != nil {
		t.Fatalf("scripts/imports.sh: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		imports[pkg] = strings.Fields(deps)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start := strings.Index(s, "| package | its one job |")
	if start < 0 {
		t.Fatal("README has no package table")
	}
	position := map[string]int{}
	for i, row := range strings.Split(s[start:start+strings.Index(s[start:], "\n\n")], "\n")[2:] {
		position[strings.Trim(strings.TrimSpace(strings.Split(row, "|")[1]), "`")] = i
	}
	for pkg, deps := range imports {
		if strings.HasPrefix(pkg, "internal/sim/") || strings.HasPrefix(pkg, "internal/testenv") || strings.HasPrefix(pkg, "internal/hidshim") || pkg == "ctap/libfido2" {
			continue
		}
		at, ok := position[pkg]
		if !ok {
			t.Errorf("the README's package table does not list %s", pkg)
			continue
		}
		for _, d := range deps {
			if p, ok := position[d]; ok && p <= at {
				t.Errorf("%s imports %s, which the README's table lists above it", pkg, d)
			}
		}
	}
}
