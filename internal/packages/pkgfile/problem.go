package pkgfile

import (
	"github.com/scaleout/scaleout/internal/suggest"

	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every *ValidationError, so that a
// caller such as the HTTP API can map a bad package or bad parameter values
// to a client error in one place.
var ErrInvalid = errors.New("invalid package")

// Problem is one thing wrong with a package file or with parameter values.
type Problem struct {
	// Path locates the problem in the package, for example
	// `tasks[2] "transform".after[0]` or `parameters.date.default`. It is
	// empty for a problem with the whole file.
	Path string `json:"path,omitempty"`
	// Line is the problem's line in the file, when known (1-based).
	Line int `json:"line,omitempty"`
	// Message says what is wrong and, where it can, what to do.
	Message string `json:"message"`

	at path
}

// String is "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem found, sorted by location.
type ValidationError struct {
	// File is the package file's name, when known.
	File     string    `json:"file,omitempty"`
	Problems []Problem `json:"problems"`
}

// Error writes one problem per line, each as "file:line: path: message"
// where the file and line are known.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = e.prefix(p) + p.String()
	}
	if len(lines) == 1 {
		return lines[0]
	}
	head := fmt.Sprintf("%d problems", len(lines))
	if e.File != "" {
		head = e.File + ": " + head
	}
	return head + ":\n\t" + strings.Join(lines, "\n\t")
}

func (e *ValidationError) prefix(p Problem) string {
	switch {
	case e.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d: ", e.File, p.Line)
	case e.File != "":
		return e.File + ": "
	case p.Line > 0:
		return fmt.Sprintf("line %d: ", p.Line)
	}
	return ""
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// MaxProblems is the most problems a *ValidationError lists; a last one
// counts the others. A file with more has a systematic mistake that the
// first ones show.
const MaxProblems = 1000

// problems collects problems as a check finds them.
type problems struct {
	list  []Problem
	more  int            // problems beyond MaxProblems
	lines map[string]int // JSON pointer to line, when the source is known
}

func (ps *problems) add(at path, format string, args ...any) {
	if len(ps.list) >= MaxProblems {
		ps.more++
		return
	}
	ps.list = append(ps.list, Problem{Path: at.String(), Message: fmt.Sprintf(format, args...), at: at})
}

// err returns nil or a *ValidationError with the problems sorted by
// location.
func (ps *problems) err(file string) error {
	if len(ps.list) == 0 && ps.more == 0 {
		return nil
	}
	out := slices.Clone(ps.list)
	for i := range out {
		if out[i].Line == 0 && ps.lines != nil {
			out[i].Line = lineOf(ps.lines, out[i].at)
		}
	}
	// In the order of the file where lines are known, else of the paths.
	slices.SortStableFunc(out, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if c := a.at.compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	out = slices.CompactFunc(out, func(a, b Problem) bool { return a.Path == b.Path && a.Message == b.Message })
	if ps.more > 0 {
		out = append(out, Problem{Message: fmt.Sprintf("and %d more problems: fix these first", ps.more)})
	}
	return &ValidationError{File: file, Problems: out}
}

// seg is one step of a path: a field or map key, or a list index (with the
// task's name as a label where the list holds tasks).
type seg struct {
	key   string
	index int // -1 for a key
	label string
}

// path locates a value in a package document.
type path []seg

func (p path) key(k string) path {
	return append(slices.Clip(p), seg{key: k, index: -1})
}

func (p path) index(i int, label string) path {
	return append(slices.Clip(p), seg{index: i, label: label})
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// String writes the path as `tasks[2] "transform".after[0].when`.
func (p path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.index >= 0:
			fmt.Fprintf(&b, "[%d]", s.index)
			if s.label != "" {
				fmt.Fprintf(&b, " %q", s.label)
			}
		case plainKey.MatchString(s.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			fmt.Fprintf(&b, "[%q]", s.key)
		}
	}
	return b.String()
}

// pointer writes the path as a JSON pointer (RFC 6901).
func (p path) pointer() string {
	var b strings.Builder
	for _, s := range p {
		b.WriteByte('/')
		if s.index >= 0 {
			b.WriteString(strconv.Itoa(s.index))
			continue
		}
		if strings.ContainsAny(s.key, "~/") {
			b.WriteString(pointerEscaper.Replace(s.key))
		} else {
			b.WriteString(s.key)
		}
	}
	return b.String()
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// compare orders paths as the document does: indexes by number, the
// fields of an object in the order of types.go, map keys by name, a path
// before the paths under it.
func (p path) compare(q path) int {
	fp, fq := p.fields(), q.fields()
	for i := 0; i < len(p) && i < len(q); i++ {
		a, b := p[i], q[i]
		switch {
		case a.index >= 0 && b.index >= 0:
			if a.index != b.index {
				return a.index - b.index
			}
			continue
		case a.index >= 0:
			return -1
		case b.index >= 0:
			return 1
		}
		ra, oka := fieldRank[a.key]
		rb, okb := fieldRank[b.key]
		if fp[i] && fq[i] && oka && okb && ra != rb {
			return ra - rb
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
	}
	return len(p) - len(q)
}

// fields tells which keys of the path are fields of the package's types
// (true) rather than names in a map (parameters, variables, outputs, and
// anything in a task's with).
func (p path) fields() []bool {
	out := make([]bool, len(p))
	inWith := false
	for i, s := range p {
		if s.index >= 0 || inWith {
			continue
		}
		if i > 0 && out[i-1] {
			switch p[i-1].key {
			case "parameters", "variables", "outputs":
				continue
			}
		}
		out[i] = true
		inWith = s.key == "with"
	}
	return out
}

// fieldRank orders the fields of package files as they are usually
// written (the order of types.go), so that problems come in the order of
// the file.
var fieldRank = func() map[string]int {
	m := map[string]int{}
	for i, f := range []string{
		"name", "description", "type", "required", "default", "sensitive", "parameters", "variables",
		"max_parallel", "with", "after", "task", "on", "when", "outputs", "retry", "attempts", "backoff",
		"timeout", "disabled", "items", "parallel", "as", "tasks",
	} {
		m[f] = i
	}
	return m
}()

// lineOf finds the line of the nearest located value at or above p.
func lineOf(lines map[string]int, p path) int {
	for n := len(p); n >= 0; n-- {
		if l, ok := lines[p[:n].pointer()]; ok {
			return l
		}
	}
	return 0
}

// suggest returns `; did you mean "x"?` when one of known is close to s.
func didYouMean(s string, known []string) string {
	best := suggest.Closest(s, known)
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}
