package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// Every command line the README shows names a command this binary has, and
// every --flag on it is one that command's -h documents: a reader who
// copies a line never meets "flag provided but not defined".
func TestREADMECommandLinesExist(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := checkCommandLines(t, "the README", string(readme))
	if checked < 30 {
		t.Fatalf("only %d flags found in the README's command lines: the pattern no longer reads it", checked)
	}
}

// The same for what the program itself tells the officers: every command
// line a message, a hint or a usage text in the product's source shows
// ("Resume it with: keyceremony ceremony --config … --resume …") takes
// the flags it names.
func TestCommandLinesInMessagesExist(t *testing.T) {
	var literals strings.Builder
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					literals.WriteString(strings.ReplaceAll(s, "%s", "X") + "\n")
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked := checkCommandLines(t, "the source", literals.String()); checked < 5 {
		t.Fatalf("only %d flags found in the source's command lines: the pattern no longer reads it", checked)
	}
}

// checkCommandLines checks every "keyceremony COMMAND … --flag" in text
// against that command's -h and returns how many flags it checked.
func checkCommandLines(t *testing.T, where, text string) int {
	t.Helper()
	line := regexp.MustCompile("keyceremony ((?:[a-z][a-z-]* ?){1,2})([^`\n]*)")
	flagRe := regexp.MustCompile(`(?:^|[\s\[(|])--([a-z][a-z0-9-]*)`)
	checked := 0
	for _, m := range line.FindAllStringSubmatch(text, -1) {
		words := strings.Fields(m[1])
		var help string
		for n := len(words); n >= 1 && help == ""; n-- {
			if _, out, _ := runCLI(t, append(append([]string(nil), words[:n]...), "-h")...); strings.HasPrefix(out, "usage: keyceremony "+strings.Join(words[:n], " ")) {
				help = out
			}
		}
		if help == "" {
			continue // prose: "keyceremony is …", or a group named alone
		}
		for _, f := range flagRe.FindAllStringSubmatch(m[2], -1) {
			if f[1] != "help" && !regexp.MustCompile(`(?m)^  -`+regexp.QuoteMeta(f[1])+`\b`).MatchString(help) {
				t.Errorf("%s shows %q with --%s, which it does not take", where, "keyceremony "+m[1]+m[2], f[1])
			}
			checked++
		}
	}
	return checked
}
