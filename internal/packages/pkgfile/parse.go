package pkgfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// Limits on what a package file may be.
const (
	// MaxSize is the largest package file accepted, in bytes.
	MaxSize = 1 << 20
	// maxNesting bounds how deep objects and lists nest in the document.
	maxNesting = 256
	// maxAliased bounds how many values YAML aliases may expand to (the
	// "billion laughs"); values written out are bounded by MaxSize.
	maxAliased = 100_000
)

// Parse reads a package from YAML or JSON. Both go through the same
// decoder, so they accept exactly the same fields: YAML is read into a
// plain value (YAML 1.2: `on`, `yes`, `n` stay strings), JSON likewise,
// then the value is checked field by field against the package's types and
// decoded with encoding/json (DisallowUnknownFields). Every problem found
// is reported at once, with its location and line, in a *ValidationError.
//
// filename names the file in messages and chooses the format: ".json" is
// JSON, ".yaml" and ".yml" are YAML, anything else is JSON if the text
// starts with "{" and YAML otherwise.
//
// Parse checks the shape of the file only; Validate checks what it means.
func Parse(data []byte, filename string) (*Package, error) {
	p, _, err := parse(data, filename)
	return p, err
}

// ParseFile is Parse on a file's contents.
func ParseFile(path string) (*Package, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Load is Parse then Validate; the validation problems carry the lines of
// the file they are on, and come in the order of the file.
func Load(data []byte, filename string, types *task.Registry) (*Package, error) {
	p, lines, err := parse(data, filename)
	if err != nil {
		return nil, err
	}
	ps := &problems{lines: lines}
	validate(p, types, ps)
	if err := ps.err(filename); err != nil {
		return nil, err
	}
	return p, nil
}

// LoadFile is Load on a file's contents.
func LoadFile(path string, types *task.Registry) (*Package, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Load(data, path, types)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("package file: %w", err)
	}
	defer f.Close() //nolint:errcheck // only read
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("package file %s: %w", path, err)
	}
	return data, nil
}

func parse(data []byte, filename string) (*Package, map[string]int, error) {
	ps := &problems{}
	if len(data) > MaxSize {
		ps.add(nil, "the file is larger than %d bytes (1 MiB): split the package or move data out of it", MaxSize)
		return nil, nil, ps.err(filename)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var t *tree
	if isJSON(data, filename) {
		t = jsonTree(data)
	} else {
		t = yamlTree(data)
	}
	if len(t.problems) > 0 {
		ps.list, ps.more = t.problems, t.more
		return nil, nil, ps.err(filename)
	}
	ps.lines = t.lines
	checkShape(t.root, packageType, nil, ps)
	if err := ps.err(filename); err != nil {
		return nil, nil, err
	}
	// The shape check has accepted the value, so this cannot fail; it is
	// kept as the authority on what the Go types accept.
	b, err := json.Marshal(t.root)
	if err != nil {
		ps.add(nil, "cannot encode the package: %v", err)
		return nil, nil, ps.err(filename)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Package
	if err := dec.Decode(&p); err != nil {
		ps.add(nil, "%v", err)
		return nil, nil, ps.err(filename)
	}
	return &p, t.lines, nil
}

func isJSON(data []byte, filename string) bool {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".json":
		return true
	case ".yaml", ".yml":
		return false
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// tree is a document read into plain values (map[string]any, []any,
// string, json.Number, bool, nil) with the line of each value.
type tree struct {
	root     any
	lines    map[string]int // JSON pointer to line
	problems []Problem
	aliased  int // values reached through aliases
	more     int // problems beyond MaxProblems
}

func (t *tree) problem(line int, at path, format string, args ...any) {
	if len(t.problems) >= MaxProblems {
		t.more++
		return
	}
	t.problems = append(t.problems, Problem{Path: at.String(), Line: line, Message: fmt.Sprintf(format, args...), at: at})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlTree(data []byte) *tree {
	t := &tree{lines: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		t.problem(0, nil, "the file is empty: a package needs at least a name and tasks")
		return t
	}
	if err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			t.problem(line, nil, "YAML: %s", m[2])
		} else {
			t.problem(0, nil, "YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		}
		return t
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		line := more.Line
		if err != nil {
			line = 0
		}
		t.problem(line, nil, "the file holds more than one YAML document: write one package per file")
		return t
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	t.root = t.yamlValue(root, where{}, 0, false)
	return t
}

// where is a value's place in the document: its path, its JSON pointer,
// and the line of its nearest ancestor whose line is recorded.
type where struct {
	at    path
	ptr   string
	line  int
	quiet bool // records no lines (a duplicate key's value)
}

func (w where) key(k string) where {
	if strings.ContainsAny(k, "~/") {
		k = pointerEscaper.Replace(k)
	}
	return where{at: w.at.key(k), ptr: w.ptr + "/" + k, line: w.line, quiet: w.quiet}
}

func (w where) index(i int) where {
	return where{at: w.at.index(i, ""), ptr: w.ptr + "/" + strconv.Itoa(i), line: w.line, quiet: w.quiet}
}

// record notes the line of the value at w, unless its nearest located
// ancestor is on the same line (lineOf finds that one).
func (t *tree) record(w where, line int) where {
	if line > 0 && line != w.line && !w.quiet {
		if have, ok := t.lines[w.ptr]; ok {
			line = have // a key's line, not its value's
		} else {
			t.lines[w.ptr] = line
		}
		w.line = line
	}
	return w
}

// yamlValue converts one node; aliased is true below an alias, where the
// lines are those of the anchor and not recorded.
func (t *tree) yamlValue(n *yaml.Node, w where, depth int, aliased bool) any {
	if aliased {
		t.aliased++
		if t.aliased > maxAliased {
			if t.aliased == maxAliased+1 {
				t.problem(n.Line, w.at, "YAML aliases expand to more than %d values: write the values out, or use fewer aliases", maxAliased)
			}
			return nil
		}
	} else {
		w = t.record(w, n.Line)
	}
	if depth > maxNesting {
		t.problem(n.Line, w.at, "values nest more than %d deep", maxNesting)
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			t.problem(n.Line, w.at, "YAML alias to nothing")
			return nil
		}
		return t.yamlValue(n.Alias, w, depth+1, true)
	case yaml.DocumentNode:
		t.problem(n.Line, w.at, "nested YAML document")
		return nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			out = append(out, t.yamlValue(c, w.index(i), depth+1, aliased))
		}
		return out
	case yaml.MappingNode:
		return t.yamlMapping(n, w, depth, aliased)
	case yaml.ScalarNode:
		return t.yamlScalar(n, w.at)
	}
	t.problem(n.Line, w.at, "unsupported YAML node")
	return nil
}

func (t *tree) yamlMapping(n *yaml.Node, w where, depth int, aliased bool) map[string]any {
	out := make(map[string]any, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			t.problem(k.Line, w.at, "a mapping key must be a plain value, not a list or a mapping")
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			t.problem(k.Line, w.at.key(k.Value), "duplicate key (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		kw := w.key(k.Value)
		if !aliased {
			kw = t.record(kw, k.Line)
		}
		out[k.Value] = t.yamlValue(v, kw, depth+1, aliased)
	}
	// Merge keys (<<: *base) fill in what the mapping does not say itself.
	for _, m := range merges {
		for m.Kind == yaml.AliasNode && m.Alias != nil {
			m = m.Alias
		}
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			sources = m.Content
		}
		for _, s := range sources {
			v := t.yamlValue(s, w, depth+1, true)
			mm, ok := v.(map[string]any)
			if !ok {
				t.problem(s.Line, w.at, "a merge key (<<) takes a mapping or a list of mappings")
				continue
			}
			for k, v := range mm {
				if _, has := out[k]; !has {
					out[k] = v
				}
			}
		}
	}
	return out
}

func (t *tree) yamlScalar(n *yaml.Node, at path) any {
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value
	case "!!null":
		return nil
	case "!!bool":
		switch n.Value {
		case "true":
			return true
		case "false":
			return false
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			t.problem(n.Line, at, "not a boolean: %q", n.Value)
		}
		return b
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil && strconv.FormatInt(i, 10) == n.Value {
			return json.Number(n.Value) // the common case, without a decoder
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return json.Number(strconv.FormatUint(u, 10))
		}
		t.problem(n.Line, at, "integer %q is out of range", n.Value)
		return nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			t.problem(n.Line, at, "number %q: JSON has no infinity or NaN; write a finite number", n.Value)
			return nil
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	default:
		t.problem(n.Line, at, "YAML tag %s is not supported: write a plain value", tag)
		return nil
	}
}

// jsonTree reads JSON token by token, to know each value's line and to
// catch duplicate keys, which encoding/json would silently merge.
func jsonTree(data []byte) *tree {
	t := &tree{lines: map[string]int{}}
	j := &jsonReader{t: t, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	j.dec.UseNumber()
	root, err := j.value(where{}, 0)
	if err == nil {
		if _, e := j.dec.Token(); !errors.Is(e, io.EOF) {
			err = fmt.Errorf("unexpected data after the package object")
			if e != nil {
				err = e
			}
		}
	}
	if err != nil {
		line := j.line(j.dec.InputOffset())
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line = j.line(se.Offset)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("unexpected end of the file")
		}
		t.problems = []Problem{{Line: line, Message: "JSON: " + strings.TrimPrefix(err.Error(), "json: ")}}
		return t
	}
	t.root = root
	return t
}

type jsonReader struct {
	t    *tree
	data []byte
	dec  *json.Decoder
	nl   []int // offsets of newlines
}

// line is the line of the first token at or after off.
func (j *jsonReader) line(off int64) int {
	if j.nl == nil {
		j.nl = []int{}
		for i, c := range j.data {
			if c == '\n' {
				j.nl = append(j.nl, i)
			}
		}
	}
	o := int(off)
	for o < len(j.data) && strings.IndexByte(" \t\r\n,:", j.data[o]) >= 0 {
		o++
	}
	return sort.SearchInts(j.nl, o) + 1
}

var errTooDeep = fmt.Errorf("values nest more than %d deep", maxNesting)

func (j *jsonReader) value(w where, depth int) (any, error) {
	if depth > maxNesting {
		return nil, errTooDeep
	}
	w = j.t.record(w, j.line(j.dec.InputOffset()))
	tok, err := j.dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '[':
			out := []any{}
			for i := 0; j.dec.More(); i++ {
				v, err := j.value(w.index(i), depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := j.dec.Token()
			return out, err
		case '{':
			out := map[string]any{}
			seen := map[string]int{}
			for j.dec.More() {
				kl := j.line(j.dec.InputOffset())
				kt, err := j.dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				kw := w.key(k)
				if first, dup := seen[k]; dup {
					if _, err := j.value(where{at: kw.at, quiet: true}, depth+1); err != nil {
						return nil, err
					}
					j.t.problem(kl, kw.at, "duplicate key (first at line %d)", first)
					continue
				}
				seen[k] = kl
				v, err := j.value(j.t.record(kw, kl), depth+1)
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
			_, err := j.dec.Token()
			return out, err
		}
		return nil, fmt.Errorf("unexpected %v", tok)
	case json.Number:
		// A number beyond float64 would pass the shape check where any
		// value goes (a task's with), and fail later without a place.
		if _, err := strconv.ParseFloat(string(tok), 64); err != nil {
			j.t.problem(w.line, w.at, "number %s is out of range: write a finite number (at most about ±1.8e308)", tok)
			return nil, nil
		}
		return tok, nil
	default:
		return tok, nil
	}
}
