package pkgfile

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/packages/expression"
)

// Bind gives every declared parameter its value for one execution: a
// value given as a string (from the command line, `--param k=v`) or as a
// JSON value (from the HTTP API) converted to the declared type, else the
// default, else the type's zero value ("", 0, 0.0, false, the zero
// time.Time, an empty list).
//
// Values are converted to: string; int (Go int); float (float64); bool;
// datetime (time.Time, from RFC 3339 text); list ([]any, from a JSON list,
// or from a string that is a JSON list or comma-separated items).
//
// Every problem is reported at once in a *ValidationError: a required
// parameter not given, a name the package does not declare, a name given
// both ways, a value of the wrong type. A sensitive parameter's value never
// appears in a message.
func Bind(p *Package, given map[string]string, typed map[string]any) (map[string]any, error) {
	ps := &problems{}
	out := make(map[string]any, len(p.Parameters))
	declared := slices.Sorted(maps.Keys(p.Parameters))
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if _, ok := typed[name]; ok {
			ps.add(path{}.key("parameters").key(name), "given twice, as a string and as a typed value: give it once")
		}
	}
	for _, name := range unknown(given, p.Parameters) {
		ps.add(path{}.key("parameters").key(name), "the package declares no such parameter%s", declaredList(name, declared))
	}
	for _, name := range unknown(typed, p.Parameters) {
		ps.add(path{}.key("parameters").key(name), "the package declares no such parameter%s", declaredList(name, declared))
	}
	for _, name := range declared {
		decl := p.Parameters[name]
		at := path{}.key("parameters").key(name)
		if !slices.Contains(Types, decl.Type) {
			ps.add(at.key("type"), "unknown type %q (known: %s)", decl.Type, typeNames())
			continue
		}
		var (
			v   any
			ok  bool
			got any
		)
		if s, has := given[name]; has {
			v, ok = ParseValue(decl.Type, s)
			got = s
		} else if tv, has := typed[name]; has {
			v, ok = convert(decl.Type, tv)
			got = tv
		} else if decl.Required {
			ps.add(at, "required, and no value was given")
			continue
		} else if decl.Default != nil {
			v, ok = convert(decl.Type, decl.Default)
			got, at = decl.Default, at.key("default")
		} else {
			v, ok = zero(decl.Type), true
		}
		if !ok {
			ps.add(at, "%s", mismatch(decl.Type, got, decl.Sensitive))
			continue
		}
		out[name] = v
	}
	if err := ps.err(""); err != nil {
		return nil, err
	}
	return out, nil
}

// InitialVariables gives every declared variable its starting value: the
// default converted to the declared type, else the type's zero value.
func InitialVariables(p *Package) (map[string]any, error) {
	ps := &problems{}
	out := make(map[string]any, len(p.Variables))
	for _, name := range slices.Sorted(maps.Keys(p.Variables)) {
		decl := p.Variables[name]
		at := path{}.key("variables").key(name)
		if !slices.Contains(Types, decl.Type) {
			ps.add(at.key("type"), "unknown type %q (known: %s)", decl.Type, typeNames())
			continue
		}
		if decl.Default == nil {
			out[name] = zero(decl.Type)
			continue
		}
		v, ok := convert(decl.Type, decl.Default)
		if !ok {
			ps.add(at.key("default"), "%s", mismatch(decl.Type, decl.Default, false))
			continue
		}
		out[name] = v
	}
	if err := ps.err(""); err != nil {
		return nil, err
	}
	return out, nil
}

// Convert converts a JSON-like value (from encoding/json, an expression or
// a task's output) to type t, as Bind does for typed values: a number must
// be whole for an int, a datetime is a time.Time or RFC 3339 text, a list
// is any slice. The error never holds the value.
func Convert(t Type, v any) (any, error) {
	out, ok := convert(t, v)
	if !ok {
		return nil, fmt.Errorf("%s", mismatch(t, v, true))
	}
	return out, nil
}

// ParseValue converts text (a command-line value) to type t. It reports
// false when the text is not a value of the type.
func ParseValue(t Type, s string) (any, bool) {
	switch t {
	case String:
		return s, true
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n != int64(int(n)) {
			return nil, false
		}
		return int(n), true
	case Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		return f, true
	case Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		return b, err == nil
	case DateTime:
		return parseTime(s)
	case List:
		s = strings.TrimSpace(s)
		if s == "" {
			return []any{}, true
		}
		if strings.HasPrefix(s, "[") {
			var l []any
			if err := json.Unmarshal([]byte(s), &l); err != nil {
				return nil, false
			}
			if l == nil {
				l = []any{}
			}
			return l, true
		}
		parts := strings.Split(s, ",")
		l := make([]any, len(parts))
		for i, p := range parts {
			l[i] = strings.TrimSpace(p)
		}
		return l, true
	}
	return nil, false
}

func parseTime(s string) (any, bool) {
	tm, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return nil, false
	}
	return tm, true
}

// convert is Convert without the error.
func convert(t Type, v any) (any, bool) {
	switch t {
	case String:
		s, ok := v.(string)
		return s, ok
	case Int:
		return toInt(v)
	case Float:
		f, ok := toFloat(v)
		if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		return f, true
	case Bool:
		b, ok := v.(bool)
		return b, ok
	case DateTime:
		switch x := v.(type) {
		case time.Time:
			return x, true
		case string:
			return parseTime(x)
		}
		return nil, false
	case List:
		if l, ok := v.([]any); ok {
			return l, true
		}
		if v == nil {
			return nil, false
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, false
		}
		l := make([]any, rv.Len())
		for i := range l {
			l[i] = rv.Index(i).Interface()
		}
		return l, true
	}
	return nil, false
}

func toInt(v any) (any, bool) {
	if n, ok := v.(json.Number); ok {
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return int(i), true
		}
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() > math.MaxInt64 {
			return nil, false
		}
		return int(rv.Uint()), true
	}
	f, ok := toFloat(v)
	if !ok || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return nil, false
	}
	return int(f), true
}

func toFloat(v any) (float64, bool) {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		return f, err == nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

func zero(t Type) any {
	switch t {
	case Int:
		return 0
	case Float:
		return 0.0
	case Bool:
		return false
	case DateTime:
		return time.Time{}
	case List:
		return []any{}
	}
	return ""
}

// mismatch says that got is not a value of type t, without showing got if
// it is sensitive.
func mismatch(t Type, got any, sensitive bool) string {
	want := string(t)
	switch t {
	case DateTime:
		want = "datetime (RFC 3339, for example 2026-11-25T06:00:00Z)"
	case List:
		want = `list (a JSON list such as ["eu", "us"], or eu,us on the command line)`
	}
	if sensitive {
		return fmt.Sprintf("want %s, got a value of another type", want)
	}
	if tm, ok := got.(time.Time); ok {
		got = tm.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("want %s, got %s", want, describe(got))
}

// Sensitive lists the values of the package's sensitive parameters, as
// text, longest first, for the engine to redact from every message, event
// and error. A value is listed as messages would show it (see
// expression.Format) and, where JSON escaping changes it, as JSON shows
// it; the items of a list are listed too. Values that hide nothing are
// left out: zero values ("", 0, an empty list, the zero time) and booleans.
func Sensitive(p *Package, values map[string]any) []string {
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" {
			seen[s] = true
			if b, err := json.Marshal(s); err == nil {
				if q := string(b[1 : len(b)-1]); q != s {
					seen[q] = true
				}
			}
		}
	}
	var addValue func(v any)
	addValue = func(v any) {
		switch x := v.(type) {
		case nil, bool:
		case time.Time:
			if x.IsZero() {
				return
			}
			add(x.Format(time.RFC3339Nano))
			add(expression.Format(x))
		case []any:
			if len(x) > 0 {
				add(expression.Format(x))
			}
			for _, e := range x {
				addValue(e)
			}
		case int:
			if x != 0 {
				add(expression.Format(x))
			}
		case float64:
			if x != 0 {
				add(expression.Format(x))
			}
		default:
			add(expression.Format(x))
		}
	}
	for name, decl := range p.Parameters {
		if decl.Sensitive {
			addValue(values[name])
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// Mask replaces a sensitive value.
const Mask = "***"

// Redactor replaces sensitive values in text. The zero value and nil
// redact nothing. It is safe for concurrent use.
type Redactor struct {
	r *strings.Replacer
}

// NewRedactor builds a Redactor for the given values (for example from
// Sensitive), replacing longer values first.
func NewRedactor(secrets []string) *Redactor {
	s := slices.Clone(secrets)
	s = slices.DeleteFunc(s, func(x string) bool { return x == "" })
	if len(s) == 0 {
		return &Redactor{}
	}
	sort.SliceStable(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	pairs := make([]string, 0, 2*len(s))
	for _, x := range s {
		pairs = append(pairs, x, Mask)
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// Redact returns s with every sensitive value replaced by Mask.
func (r *Redactor) Redact(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

func unknown[V, W any](given map[string]V, declared map[string]W) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if _, ok := declared[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// declaredList is ` (declared: a, b); did you mean "a"?` or ` (it
// declares none)`.
func declaredList(name string, declared []string) string {
	if len(declared) == 0 {
		return " (it declares none)"
	}
	return " (declared: " + strings.Join(declared, ", ") + ")" + didYouMean(name, declared)
}

func typeNames() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}
