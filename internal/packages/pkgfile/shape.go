package pkgfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	packageType  = reflect.TypeFor[Package]()
	durationType = reflect.TypeFor[Duration]()
	taskType     = reflect.TypeFor[Task]()
	scalarType   = reflect.TypeFor[Scalar]()
)

// checkShape compares a plain value with the Go type it must decode into
// and reports every unknown field and every value of the wrong kind.
func checkShape(v any, t reflect.Type, at path, ps *problems) {
	if t.Kind() == reflect.Interface {
		return // any value
	}
	if t == durationType {
		s, ok := v.(string)
		if !ok {
			ps.add(at, `want a duration such as "30s", "10m" or "1h30m", got %s`, describe(v))
			return
		}
		d, err := time.ParseDuration(s)
		switch {
		case strings.HasPrefix(s, "-"):
			ps.add(at, "duration %q: must not be negative", clip(s))
		case err != nil:
			ps.add(at, `duration %q: write it as "30s", "10m" or "1h30m"`, clip(s))
		case d < 0:
			ps.add(at, "duration %q: must not be negative", s)
		}
		return
	}
	if t == scalarType {
		switch v.(type) {
		case string, json.Number, bool:
		default:
			ps.add(at, "want text, a number or true/false, got %s", describe(v))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkShape(v, t.Elem(), at, ps)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			ps.add(at, "want an object, got %s", describe(v))
			return
		}
		fields := fieldsOf(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := fields.byName[k]
			if !ok {
				ps.add(at.key(k), "unknown field (the fields here are %s)%s", strings.Join(fields.names, ", "), didYouMean(k, fields.names))
				continue
			}
			checkShape(m[k], t.Field(f).Type, at.key(k), ps)
		}
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			ps.add(at, "want a list, got %s", describe(v))
			return
		}
		for i, e := range l {
			label := ""
			if t.Elem() == taskType {
				label = taskLabel(e)
			}
			checkShape(e, t.Elem(), at.index(i, label), ps)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			ps.add(at, "want an object, got %s", describe(v))
			return
		}
		for k, e := range m {
			checkShape(e, t.Elem(), at.key(k), ps)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			ps.add(at, "want a string, got %s", describe(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			ps.add(at, "want true or false, got %s", describe(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			ps.add(at, "want a whole number, got %s", describe(v))
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			if errors.Is(err, strconv.ErrRange) {
				ps.add(at, "number %s is out of range", n)
			} else {
				ps.add(at, "want a whole number written without a decimal point or exponent, got %s", n)
			}
		}
	default:
		ps.add(at, "field of unsupported Go type %s", t)
	}
}

// taskLabel is a task's name, if the value has one, to show in paths.
func taskLabel(v any) string {
	if m, ok := v.(map[string]any); ok {
		if s, ok := m["name"].(string); ok {
			return clip(s)
		}
	}
	return ""
}

type structFields struct {
	byName map[string]int
	names  []string
}

var fieldsCache sync.Map // reflect.Type -> structFields

// fieldsOf lists a struct's JSON field names.
func fieldsOf(t reflect.Type) structFields {
	if f, ok := fieldsCache.Load(t); ok {
		return f.(structFields)
	}
	f := structFields{byName: map[string]int{}}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || !t.Field(i).IsExported() {
			continue
		}
		f.byName[name] = i
		f.names = append(f.names, name)
	}
	fieldsCache.Store(t, f)
	return f
}

// describe shows a plain value in a message, shortened.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(clip(x))
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case json.Number, bool, float64, int:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("a %T", v)
	}
	return clip(string(b))
}

// clip shortens s for a message.
func clip(s string) string {
	const n = 60
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
