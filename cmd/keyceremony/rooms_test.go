package main

import (
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

const module = "github.com/keyceremony/keyceremony/"

// The rooms the README's architecture section promises, held by the code:
// no product file over 700 lines (age's largest is 676) and no line over
// 120 columns; tui is screens and
// knows only the officer vocabulary; config holds the file and is a leaf
// (the day-before checks are the sitting's).
func TestArchitectureRooms(t *testing.T) {
	root := "../.."
	imports := map[string][]string{} // package -> module packages its product files import
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && rel != "." && (rel == "tools" || rel == filepath.Join("internal", "sim") ||
			d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte("\n")); n > 700 {
			t.Errorf("%s has %d lines: no product file over 700 (split it by what its parts do)", rel, n)
		}
		for i, line := range strings.Split(string(b), "\n") {
			// A field's tags, aligned by gofmt, are the one exception.
			if utf8.RuneCountInString(strings.ReplaceAll(line, "\t", "    ")) > 120 && !strings.Contains(line, "`cbor:") &&
				!strings.Contains(line, "`json:") {
				t.Errorf("%s:%d is over 120 columns: no product line is (age has 10)", rel, i+1)
			}
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, b, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if _, ok := imports[pkg]; !ok {
			imports[pkg] = nil // a leaf is a package too
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if dep, ok := strings.CutPrefix(p, module); ok && !slices.Contains(imports[pkg], dep) {
				imports[pkg] = append(imports[pkg], dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range imports {
		doc, err := os.ReadFile(filepath.Join(root, pkg, "doc.go"))
		name := filepath.Base(pkg)
		if pkg == "cmd/keyceremony" {
			name = "Command keyceremony"
		} else {
			name = "Package " + name
		}
		if err != nil || !bytes.HasPrefix(doc, []byte("// "+name+" ")) {
			t.Errorf("%s: no doc.go opening with %q (one summary a package, in one place)", pkg, "// "+name)
		}
	}
	if len(imports["sitting"]) == 0 {
		t.Fatal("read no imports of sitting: this test is broken")
	}
	for _, dep := range imports["tui"] {
		if dep != "officer" {
			t.Errorf("tui imports %s: tui is the screens and knows only the officer vocabulary", dep)
		}
	}
	// config is a leaf: it holds the file (the clouds' endpoints and the
	// monitoring block included) and imports no package of the module.
	for _, dep := range imports["config"] {
		t.Errorf("config imports %s: config holds the file (load, example, defaults, intervals) and is a leaf; "+
			"checks are the sitting's", dep)
	}
}
