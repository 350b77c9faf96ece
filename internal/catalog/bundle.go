package catalog

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Bundle is what a deploy sends: a project's packages, its parameters and
// connections, and the small files its packages need.
type Bundle = scaleouttype.Bundle

// check validates every part of the bundle and lists every problem, those
// of a package prefixed by its name. It returns the packages' names.
func checkBundle(b Bundle, types *task.Registry) (problems, []string) {
	var ps problems
	if len(b.Packages) == 0 {
		ps.add("", "packages", "a project needs at least one package")
	}
	if len(b.Packages) > MaxPackages {
		ps.add("", "packages", "%d packages, at most %d", len(b.Packages), MaxPackages)
	}
	ps = append(ps, checkParameters(b.Parameters)...)
	valid := map[string]pkgfile.Parameter{}
	for name, decl := range b.Parameters {
		if len(checkParameters(map[string]pkgfile.Parameter{name: decl})) == 0 {
			valid[name] = decl
		}
	}
	conns := map[string]pkgfile.Connection{}
	for _, name := range slices.Sorted(maps.Keys(b.Connections)) {
		one := map[string]pkgfile.Connection{name: b.Connections[name]}
		if err := pkgfile.ValidateConnections(one, valid); err != nil {
			ps = append(ps, fromPkgfile("", err, nil)...)
			continue
		}
		conns[name] = b.Connections[name]
	}
	names := slices.Sorted(maps.Keys(b.Packages))
	for _, name := range names {
		if !ValidName(name) {
			ps.add("", fmt.Sprintf("packages[%q]", clip(name)), "package name: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
			continue
		}
		_, pps := loadPackage(name, b.Packages[name], projectDecls{params: valid, conns: conns}, types, true)
		ps = append(ps, pps...)
	}
	total := 0
	for _, p := range slices.Sorted(maps.Keys(b.Files)) {
		content := b.Files[p]
		total += len(content)
		at := fmt.Sprintf("files[%q]", clip(p))
		if p == "" || len(p) > 256 || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." {
			ps.add("", at, "use a clean relative path of at most 256 characters with '/' separators, not going up ('..')")
		}
		if !utf8.ValidString(content) || strings.ContainsRune(content, 0) {
			ps.add("", at, "not a text file (UTF-8 without NUL bytes); binary files are not supported yet")
		}
	}
	if total > MaxFilesSize {
		ps.add("", "files", "%d bytes in all, at most %d; larger files will be stored in S3 in a later version", total, MaxFilesSize)
	}
	return ps, names
}

// checkParameters checks project parameter declarations as pkgfile checks
// a package's.
func checkParameters(params map[string]pkgfile.Parameter) problems {
	var ps problems
	for _, name := range slices.Sorted(maps.Keys(params)) {
		decl := params[name]
		at := "parameters." + name
		if !identifier.MatchString(name) {
			ps.add("", fmt.Sprintf("parameters[%q]", clip(name)), "name: use letters, digits and '_', starting with a letter or '_' (expressions say params.name)")
			continue
		}
		if !slices.Contains(pkgfile.Types, decl.Type) {
			ps.add("", at+".type", "unknown type %q (known: %s)", clip(string(decl.Type)), typeNames())
			continue
		}
		if decl.Default != nil {
			if _, err := pkgfile.Convert(decl.Type, decl.Default); err != nil {
				ps.add("", at+".default", "%s", mismatchPlain(decl.Type, decl.Default, err))
			}
		}
		if decl.Required && decl.Default != nil {
			ps.add("", at+".required", "a required parameter with a default is a contradiction: drop one of them")
		}
	}
	return ps
}

func typeNames() string {
	s := make([]string, len(pkgfile.Types))
	for i, t := range pkgfile.Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// projectDecls are what a project declares for all its packages: its
// parameters and its connections.
type projectDecls struct {
	params map[string]pkgfile.Parameter
	conns  map[string]pkgfile.Connection
}

// declsOf are a stored (so valid) bundle's project declarations.
func declsOf(b Bundle) projectDecls {
	return projectDecls{params: b.Parameters, conns: b.Connections}
}

// loadPackage parses a package's text, adds the project's parameters and
// connections it does not declare, and validates the result. With lines,
// problems found by validation get their line in the file (by validating
// the file alone as well).
func loadPackage(name, text string, project projectDecls, types *task.Registry, lines bool) (*pkgfile.Package, problems) {
	var ps problems
	p, err := pkgfile.Parse([]byte(text), name)
	if err != nil {
		return nil, fromPkgfile(name, err, nil)
	}
	if p.Name != "" && p.Name != name {
		ps.add(name, "name", "the file names the package %q, the bundle %q: use the same name", clip(p.Name), name)
	}
	p.Name = name
	if p.Parameters == nil && len(project.params) > 0 {
		p.Parameters = map[string]pkgfile.Parameter{}
	}
	for k, decl := range project.params {
		if _, ok := p.Parameters[k]; !ok {
			p.Parameters[k] = decl
		}
	}
	if p.Connections == nil && len(project.conns) > 0 {
		p.Connections = map[string]pkgfile.Connection{}
	}
	for k, c := range project.conns {
		if _, ok := p.Connections[k]; !ok {
			p.Connections[k] = c
		}
	}
	if err := pkgfile.Validate(p, types); err != nil {
		var at map[string]int
		if lines {
			if _, lerr := pkgfile.Load([]byte(text), name, types); lerr != nil {
				var ve *pkgfile.ValidationError
				if errors.As(lerr, &ve) {
					at = map[string]int{}
					for _, pr := range ve.Problems {
						at[pr.Path+"\x00"+pr.Message] = pr.Line
					}
				}
			}
		}
		return nil, append(ps, fromPkgfile(name, err, at)...)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return p, nil
}

// fromPkgfile turns pkgfile's problems into the catalog's.
func fromPkgfile(pkg string, err error, lines map[string]int) problems {
	var ve *pkgfile.ValidationError
	if !errors.As(err, &ve) {
		return problems{{Package: pkg, Message: err.Error()}}
	}
	out := make(problems, 0, len(ve.Problems))
	for _, pr := range ve.Problems {
		line := pr.Line
		if line == 0 && lines != nil {
			line = lines[pr.Path+"\x00"+pr.Message]
		}
		out = append(out, Problem{Package: pkg, Path: pr.Path, Line: line, Message: pr.Message})
	}
	return out
}

// encode compresses the bundle for storage.
func encodeBundle(b Bundle) ([]byte, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compress bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress bundle: %w", err)
	}
	if buf.Len() > MaxBundleStored {
		return nil, invalid("", "the project takes %d KB compressed (gzip), at most %d KB: split it into smaller projects (large files will go to S3 in a later version)",
			(buf.Len()+1023)/1024, MaxBundleStored/1024)
	}
	return buf.Bytes(), nil
}

func decodeBundle(data []byte) (Bundle, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return Bundle{}, fmt.Errorf("decompress bundle: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return Bundle{}, fmt.Errorf("decompress bundle: %w", err)
	}
	var b Bundle
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return Bundle{}, fmt.Errorf("decode bundle: %w", err)
	}
	return b, nil
}
