package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// zero is a declared variable's value before anything sets it.
func zero(t pkgfile.Type) any {
	switch t {
	case pkgfile.String:
		return ""
	case pkgfile.Int:
		return 0
	case pkgfile.Float:
		return 0.0
	case pkgfile.Bool:
		return false
	case pkgfile.List:
		return []any{}
	case pkgfile.DateTime:
		return time.Time{}
	}
	return nil // untyped
}

// convert turns v into a variable's declared type where that makes sense:
// numbers between int and float (an int only from a whole number), strings
// parsed as numbers, bools, RFC 3339 times or JSON lists, anything written
// as a string. Datetimes are kept as time.Time.
func convert(v any, t pkgfile.Type) (any, error) {
	if v == nil {
		return zero(t), nil
	}
	switch t {
	case pkgfile.String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return expression.Format(v), nil
	case pkgfile.Int:
		switch x := v.(type) {
		case int:
			return x, nil
		case string:
			n, err := strconv.Atoi(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", x)
			}
			return n, nil
		case json.Number:
			return convert(string(x), t)
		}
		if f, ok := toFloat(v); ok {
			if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return nil, fmt.Errorf("%v is not a whole number", v)
			}
			return int(f), nil
		}
	case pkgfile.Float:
		switch x := v.(type) {
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", x)
			}
			return f, nil
		case json.Number:
			return convert(string(x), t)
		}
		if f, ok := toFloat(v); ok {
			return f, nil
		}
	case pkgfile.Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", x)
			}
			return b, nil
		}
	case pkgfile.DateTime:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			tm, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not an RFC 3339 time such as 2026-11-25T10:00:00Z", x)
			}
			return tm, nil
		}
	case pkgfile.List:
		switch x := v.(type) {
		case []any:
			return x, nil
		case string:
			var l []any
			if err := json.Unmarshal([]byte(x), &l); err != nil {
				return nil, fmt.Errorf("%q is not a JSON list", x)
			}
			return l, nil
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
			l := make([]any, rv.Len())
			for i := range l {
				l[i] = rv.Index(i).Interface()
			}
			return l, nil
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("a %T cannot become a %s", v, t)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// lookup reads a dotted path in a task's output: map keys, and list
// indices written as numbers ("rows.0.id").
func lookup(v any, path []string) (any, error) {
	for i, key := range path {
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[key]
			if !ok {
				return nil, fmt.Errorf("no %q in %s", key, where(path[:i]))
			}
			v = e
		case []any:
			n, err := strconv.Atoi(key)
			if err != nil || n < 0 || n >= len(x) {
				return nil, fmt.Errorf("%s is a list of %d; %q is not an index in it", where(path[:i]), len(x), key)
			}
			v = x[n]
		default:
			rv := reflect.ValueOf(v)
			if rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String {
				e := rv.MapIndex(reflect.ValueOf(key).Convert(rv.Type().Key()))
				if !e.IsValid() {
					return nil, fmt.Errorf("no %q in %s", key, where(path[:i]))
				}
				v = e.Interface()
				continue
			}
			return nil, fmt.Errorf("%s is a %T, not an object; cannot read %q", where(path[:i]), v, key)
		}
	}
	return v, nil
}

func where(path []string) string {
	if len(path) == 0 {
		return "the task's output"
	}
	return strings.Join(path, ".")
}

// redactor replaces every sensitive value with "***" in strings and in
// the strings inside values (pkgfile.Redactor does the replacing).
type redactor struct {
	r *pkgfile.Redactor // nil when nothing is sensitive
}

func newRedactor(secrets []string) redactor {
	for _, s := range secrets {
		if s != "" {
			return redactor{r: pkgfile.NewRedactor(secrets)}
		}
	}
	return redactor{}
}

func (x redactor) str(s string) string {
	if x.r == nil || s == "" {
		return s
	}
	return x.r.Redact(s)
}

// value returns v with every string inside redacted (maps and lists are
// copied); other values are returned as they are, except that values of
// unknown kinds are written as redacted strings when they would show a
// secret.
func (x redactor) value(v any) any {
	if x.r == nil {
		return v
	}
	switch t := v.(type) {
	case nil, bool, int, int64, float64, time.Time:
		return v
	case string:
		return x.str(t)
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[x.str(k)] = x.value(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = x.value(e)
		}
		return l
	}
	s := fmt.Sprint(v)
	if r := x.str(s); r != s {
		return r
	}
	return v
}

func (x redactor) values(m map[string]any) map[string]any {
	if m == nil || x.r == nil {
		return m
	}
	return x.value(m).(map[string]any)
}
