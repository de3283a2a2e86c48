package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shape the README promises, held by numbers: this package keeps flag
// parsing and wiring only (under 700 lines), and the module's API — the
// exported names another module can import, methods of exported types
// included, as `go doc` lists them — stays under 300 (filippo.io/age,
// the tone the project follows, has about 125).
func TestArchitectureBudgets(t *testing.T) {
	lines := 0
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines += bytes.Count(b, []byte("\n"))
	}
	if lines >= 700 {
		t.Errorf("cmd/keyceremony has %d lines of code and comment: more than flags and wiring (budget: under 700); move the job into its package", lines)
	}
	names := exportedNames(t, "../..")
	if len(names) >= 300 || len(names) < 100 {
		t.Errorf("the module exports %d names outside internal/ (budget: under 300; fewer than 100 means this count is broken)", len(names))
	}
}

// exportedNames lists the exported package-level names and the exported
// methods of exported types in the module's importable packages: not
// main, not internal/, not tests.
func exportedNames(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && (rel == "internal" || rel == "tools" || rel == "cmd" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && rel != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := filepath.Dir(rel)
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if !decl.Name.IsExported() {
					continue
				}
				if decl.Recv == nil {
					names = append(names, pkg+"."+decl.Name.Name)
				} else if recv := receiverType(decl.Recv.List[0].Type); ast.IsExported(recv) {
					names = append(names, pkg+"."+recv+"."+decl.Name.Name)
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					switch spec := spec.(type) {
					case *ast.TypeSpec:
						if spec.Name.IsExported() {
							names = append(names, pkg+"."+spec.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range spec.Names {
							if n.IsExported() {
								names = append(names, pkg+"."+n.Name)
							}
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// receiverType is the name of a method's receiver type (T, *T, T[P]).
func receiverType(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}
