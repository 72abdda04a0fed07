package gatehouse

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestVocabularyImports holds the root package to the standard library
// and away from HTTP: which status an error code gets belongs to the HTTP
// layer (internal/httpx), not to the vocabulary every package imports.
func TestVocabularyImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") || path == "net/http" || strings.HasPrefix(path, "net/http/") {
				t.Errorf("%s imports %s; want the standard library only, without net/http", name, path)
			}
		}
	}
}
