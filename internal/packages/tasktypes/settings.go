package tasktypes

import (
	"github.com/scaleout/scaleout/internal/suggest"

	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scaleout/scaleout/internal/packages/task"
)

// settings reads a task's `with`, as decoded JSON or YAML (numbers are
// float64, lists []any, objects map[string]any) or as resolved for a run
// (where a setting that was exactly one interpolation keeps its value's
// type: an int, a list, ...).
//
// Before the run (check is true), a string holding "${" stands for a value
// known only at run time: it is accepted wherever any value is, and the
// getters report it as not known (ok false). At run time such strings are
// plain values.
//
// Every problem is collected; err joins them.
type settings struct {
	with  map[string]any
	check bool
	errs  []error
}

// newSettings reads with, whose allowed keys are known; any other key is a
// problem.
func newSettings(with map[string]any, check bool, known ...string) *settings {
	s := &settings{with: with, check: check}
	var unknown []string
	for k := range with {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	for _, k := range unknown {
		msg := "unknown setting (known: " + strings.Join(sorted, ", ") + ")"
		if near := suggest.Closest(k, known); near != "" {
			msg = fmt.Sprintf("unknown setting: did you mean %q? (known: %s)", near, strings.Join(sorted, ", "))
		}
		s.errs = append(s.errs, fmt.Errorf("with.%s: %s", k, msg))
	}
	return s
}

// err is every problem found, or nil.
func (s *settings) err() error { return errors.Join(s.errs...) }

// runErr is err for settings read at run time: settings that resolved to
// wrong values fail the same way on every attempt.
func (s *settings) runErr() error {
	if len(s.errs) == 0 {
		return nil
	}
	return permanent(fmt.Errorf("settings as resolved for the run: %w", s.err()))
}

// problem records that the value at path is wrong and what to write.
func (s *settings) problem(path string, v any, format string, args ...any) {
	s.errs = append(s.errs, fmt.Errorf("with.%s %s: %s", path, show(v), fmt.Sprintf(format, args...)))
}

// missing records that a required setting is absent.
func (s *settings) missing(path, what string) {
	s.errs = append(s.errs, fmt.Errorf("with.%s: required: %s", path, what))
}

// get returns the setting at key; ok is false when it is absent or null.
func (s *settings) get(key string) (any, bool) {
	v, ok := s.with[key]
	return v, ok && v != nil
}

// placeholder reports whether v is a value known only at run time.
func (s *settings) placeholder(v any) bool {
	str, ok := v.(string)
	return s.check && ok && strings.Contains(str, "${")
}

// str reads a string setting. Numbers and true/false are accepted as their
// text, since "${params.port}" resolves to the parameter's own type.
func (s *settings) str(key, want string) (string, bool) {
	v, ok := s.get(key)
	if !ok || s.placeholder(v) {
		return "", false
	}
	return s.scalar(key, v, want)
}

// scalar is str for a value already read, at path.
func (s *settings) scalar(path string, v any, want string) (string, bool) {
	if str, ok := scalarText(v); ok {
		return str, true
	}
	s.problem(path, v, "want %s, not %s", want, kind(v))
	return "", false
}

// duration reads a duration such as "30s"; zero is allowed when allowZero.
func (s *settings) duration(key string, allowZero bool) (time.Duration, bool) {
	v, ok := s.get(key)
	if !ok || s.placeholder(v) {
		return 0, false
	}
	str, isStr := v.(string)
	d, err := time.ParseDuration(strings.TrimSpace(str))
	switch {
	case !isStr || err != nil:
		s.problem(key, v, `write it as "30s" or "10m" (units: ms, s, m, h)`)
		return 0, false
	case d < 0 || (d == 0 && !allowZero):
		s.problem(key, v, "must be more than 0")
		return 0, false
	}
	return d, true
}

// integer reads a whole number from lo to hi, written as a number or as
// its text.
func (s *settings) integer(key string, lo, hi int) (int, bool) {
	v, ok := s.get(key)
	if !ok || s.placeholder(v) {
		return 0, false
	}
	return s.intAt(key, v, lo, hi)
}

// intAt is integer for a value already read, at path.
func (s *settings) intAt(path string, v any, lo, hi int) (int, bool) {
	n, ok := wholeNumber(v)
	if !ok || n < int64(lo) || n > int64(hi) {
		s.problem(path, v, "want a whole number from %d to %d", lo, hi)
		return 0, false
	}
	return int(n), true
}

// list reads a list; example shows what one looks like.
func (s *settings) list(key, example string) ([]any, bool) {
	v, ok := s.get(key)
	if !ok || s.placeholder(v) {
		return nil, false
	}
	l, ok := asList(v)
	if !ok {
		s.problem(key, v, "want a list, e.g. %s, not %s", example, kind(v))
	}
	return l, ok
}

// object reads an object (a map from names to values).
func (s *settings) object(key, example string) (map[string]any, bool) {
	v, ok := s.get(key)
	if !ok || s.placeholder(v) {
		return nil, false
	}
	m, ok := asObject(v)
	if !ok {
		s.problem(key, v, "want an object, e.g. %s, not %s", example, kind(v))
	}
	return m, ok
}

// intList reads a list of whole numbers from lo to hi.
func (s *settings) intList(key string, lo, hi int, example string) ([]int, bool) {
	l, ok := s.list(key, example)
	if !ok {
		return nil, false
	}
	if len(l) == 0 {
		s.problem(key, l, "list at least one, e.g. %s", example)
		return nil, false
	}
	out := make([]int, 0, len(l))
	all := true
	for i, v := range l {
		if s.placeholder(v) {
			all = false
			continue
		}
		n, ok := s.intAt(fmt.Sprintf("%s[%d]", key, i), v, lo, hi)
		all = all && ok
		out = append(out, n)
	}
	return out, all
}

// permanent marks err as one that retrying cannot fix.
func permanent(err error) error { return fmt.Errorf("%w: %w", err, task.ErrPermanent) }

// scalarText is the text of a string, number or true/false.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return formatFloat(x), true
	case float32:
		return formatFloat(float64(x)), true
	case json.Number:
		return x.String(), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), true
	}
	return "", false
}

// formatFloat writes whole numbers without an exponent (1000000, not
// 1e+06), as a user wrote them.
func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// wholeNumber reads an integer from any number type or from its text.
func wholeNumber(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return floatInt(x)
	case float32:
		return floatInt(float64(x))
	case json.Number:
		return wholeNumber(x.String())
	case string:
		t := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return floatInt(f)
		}
		return 0, false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if rv.Uint() > math.MaxInt64 {
			return 0, false
		}
		return int64(rv.Uint()), true
	}
	return 0, false
}

func floatInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// asList reads []any or any other slice (a resolved value may be typed).
func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	if _, isBytes := v.([]byte); isBytes {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// asObject reads map[string]any or any other map with string keys.
func asObject(v any) (map[string]any, bool) {
	if m, ok := v.(map[string]any); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		out[it.Key().String()] = it.Value().Interface()
	}
	return out, true
}

// kind names what v is, for messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "true/false"
	}
	if _, ok := wholeNumber(v); ok {
		return "a number"
	}
	if _, ok := v.(float64); ok {
		return "a number"
	}
	if _, ok := asList(v); ok {
		return "a list"
	}
	if _, ok := asObject(v); ok {
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// show writes a value for a message, shortened.
func show(v any) string {
	var s string
	if str, ok := v.(string); ok {
		s = strconv.Quote(clip(str, 80))
	} else if b, err := json.Marshal(v); err == nil {
		s = clip(string(b), 80)
	} else {
		s = clip(fmt.Sprint(v), 80)
	}
	return s
}

// clip shortens s to at most n bytes, between UTF-8 characters, marking
// the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
