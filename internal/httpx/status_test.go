package httpx

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// TestEveryCodeHasStatus reads the error codes declared in the root
// package's error.go and wants each in the status table, and nothing else
// there: a code added without a status would otherwise answer 500.
func TestEveryCodeHasStatus(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../../error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || name.Name[0] != 'E' || lit.Kind != token.STRING {
					continue
				}
				code, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				declared = append(declared, code)
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("no error codes found in error.go")
	}
	slices.Sort(declared)
	got := Codes()
	slices.Sort(got)
	if !slices.Equal(got, declared) {
		t.Errorf("status table codes: got %v, want error.go's %v", got, declared)
	}
}
