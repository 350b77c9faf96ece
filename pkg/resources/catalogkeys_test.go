package resources_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/resources"
)

// keyPrefix is how a catalog key prefix looks in a string literal:
// capitals ending in '#' ("EXEC#", "%sHOUR#%s").
var keyPrefix = regexp.MustCompile(`[A-Z][A-Z_]*#`)

// Every catalog key prefix is one of catalogkeys.go's constants, listed in
// CatalogItems under the package that uses it: no other Go file of the
// module spells one out, and every constant is used by its owner.
func TestCatalogKeysListed(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	self, err := filepath.Abs("catalogkeys.go")
	require.NoError(t, err)

	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, self, nil, 0)
	require.NoError(t, err)
	consts := map[string]string{} // name -> value
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				v, err := strconv.Unquote(vs.Values[i].(*ast.BasicLit).Value)
				require.NoError(t, err)
				consts[name.Name] = v
			}
		}
	}
	require.NotEmpty(t, consts)
	whole := map[string]string{} // value -> name, for keys with no '#' to spot
	for name, v := range consts {
		if !strings.Contains(v, "#") {
			whole[v] = name
		}
	}

	usedIn := map[string]map[string]bool{} // constant -> base names of the folders using it
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || path == self {
			return nil
		}
		src, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		dir := filepath.Base(filepath.Dir(path))
		ast.Inspect(src, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				if err != nil {
					return true
				}
				if m := keyPrefix.FindString(s); m != "" {
					t.Errorf("%s: %q spells out a catalog key prefix (%q): use a constant of pkg/resources/catalogkeys.go, "+
						"and list a new kind of item in resources.CatalogItems", fset.Position(n.Pos()), s, m)
				}
				if name, ok := whole[s]; ok {
					t.Errorf("%s: %q is resources.%s", fset.Position(n.Pos()), s, name)
				}
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "resources" {
					if _, ok := consts[n.Sel.Name]; ok {
						if usedIn[n.Sel.Name] == nil {
							usedIn[n.Sel.Name] = map[string]bool{}
						}
						usedIn[n.Sel.Name][dir] = true
					}
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)

	for name, v := range consts {
		require.NotEmpty(t, usedIn[name], "resources.%s (%q) is used by no package: remove it, or use it", name, v)
		listed := false
		for _, it := range resources.CatalogItems {
			listed = listed || strings.Contains(it.PK, v) || strings.Contains(it.SK, v)
		}
		require.True(t, listed, "resources.%s (%q) is in no key of CatalogItems", name, v)
	}
	for _, it := range resources.CatalogItems {
		require.NotEmpty(t, it.Holds, "%s %s: say what it holds", it.PK, it.SK)
		// The constant its partition key starts with (the longest) is
		// used by the package named its owner.
		best := ""
		for name, v := range consts {
			if strings.HasPrefix(it.PK, v) && len(v) > len(consts[best]) {
				best = name
			}
		}
		require.NotEmpty(t, best, "%s: its partition key starts with no constant", it.PK)
		require.True(t, usedIn[best][it.Owner], "%s %s: owned by %s, which does not use resources.%s (used in %v)",
			it.PK, it.SK, it.Owner, best, usedIn[best])
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test")
		dir = parent
	}
}
