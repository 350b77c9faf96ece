package dataflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/suggest"
)

// Settings reads one component's settings (or one object inside them)
// with typed getters. Every getter records the key as known and every
// problem with the field's path ("settings.columns[1].type"); Err returns
// them all, with the keys no getter asked for reported as unknown (with a
// did-you-mean). Settings made from one another (Object, Objects) share
// their problems.
//
// While checking, a string holding "${" stands for a value known only at
// run time: getters report it as not known (ok false, or the default)
// without a problem.
type Settings struct {
	path  string
	m     map[string]any
	root  *settingsRoot
	known []string
}

type settingsRoot struct {
	checking bool
	errs     []error
	nodes    []*Settings
}

// NewSettings reads m (nil for none) as the settings of a component;
// checking is true at validation time.
func NewSettings(m map[string]any, checking bool) *Settings {
	return newSettingsAt("settings", m, checking)
}

// newSettingsAt is NewSettings for an object at path ("" for a task's
// `with` itself).
func newSettingsAt(path string, m map[string]any, checking bool) *Settings {
	root := &settingsRoot{checking: checking}
	return root.node(path, m)
}

func (r *settingsRoot) node(path string, m map[string]any) *Settings {
	s := &Settings{path: path, m: m, root: r}
	r.nodes = append(r.nodes, s)
	return s
}

// Checking reports whether the settings are read at validation time.
func (s *Settings) Checking() bool { return s.root.checking }

// Path is where these settings are: "settings" or
// "settings.columns[0]".
func (s *Settings) Path() string { return s.path }

// Field is the path of key under these settings, for messages.
func (s *Settings) Field(key string) string {
	if s.path == "" {
		return key
	}
	return s.path + "." + key
}

// Known declares keys these settings accept without reading them.
func (s *Settings) Known(keys ...string) {
	for _, k := range keys {
		if !slices.Contains(s.known, k) {
			s.known = append(s.known, k)
		}
	}
}

// Has reports whether key is given (and not null); it declares key known.
func (s *Settings) Has(key string) bool {
	_, ok := s.Raw(key)
	return ok
}

// Raw is key's value as decoded; ok is false when it is absent or null.
func (s *Settings) Raw(key string) (any, bool) {
	s.Known(key)
	v, ok := s.m[key]
	return v, ok && v != nil
}

// IsPlaceholder reports whether v is a value known only at run time (a
// string with "${" while checking).
func (s *Settings) IsPlaceholder(v any) bool {
	str, ok := v.(string)
	return s.root.checking && ok && strings.Contains(str, "${")
}

// Errorf records a problem with key ("" for these settings as a whole).
func (s *Settings) Errorf(key, format string, args ...any) {
	at := s.path
	if key != "" {
		at = s.Field(key)
	}
	msg := fmt.Sprintf(format, args...)
	if at != "" {
		msg = at + ": " + msg
	}
	s.root.errs = append(s.root.errs, errors.New(msg))
}

// problem records that key's value v is wrong.
func (s *Settings) problem(key string, v any, format string, args ...any) {
	s.root.errs = append(s.root.errs, fmt.Errorf("%s %s: %s", s.Field(key), show(v), fmt.Sprintf(format, args...)))
}

// Missing records that the required key is absent; what says what to
// write.
func (s *Settings) Missing(key, what string) {
	s.Errorf(key, "required: %s", what)
}

// Err is every problem recorded, and the unknown keys of every object
// read, or nil.
func (s *Settings) Err() error {
	errs := slices.Clone(s.root.errs)
	for _, n := range s.root.nodes {
		var unknown []string
		for k := range n.m {
			if !slices.Contains(n.known, k) {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		known := slices.Sorted(slices.Values(n.known))
		// A null is never a value: YAML reads an unquoted null, ~ or an
		// empty value as null, and a setting that silently became absent
		// (null_value: NULL) changes what a flow does without a word.
		for _, k := range known {
			if v, present := n.m[k]; present && v == nil {
				errs = append(errs, fmt.Errorf("%s: is null (YAML reads an unquoted null, ~ or an empty value as null): quote the text, as 'NULL', or leave the setting out", n.Field(k)))
			}
		}
		for _, k := range unknown {
			msg := "unknown setting"
			if near := suggest.Closest(k, known); near != "" {
				msg += fmt.Sprintf(": did you mean %q?", near)
			}
			if len(known) > 0 {
				msg += " (known: " + strings.Join(known, ", ") + ")"
			} else {
				msg += " (this component takes none)"
			}
			errs = append(errs, fmt.Errorf("%s: %s", n.Field(k), msg))
		}
	}
	return errors.Join(errs...)
}

// String reads a string (numbers and true/false as their text); ok is
// false when absent, a placeholder, or wrong (recorded).
func (s *Settings) String(key string) (string, bool) {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return "", false
	}
	if str, ok := scalarText(v); ok {
		return str, true
	}
	s.problem(key, v, "want a string, not %s", kind(v))
	return "", false
}

// RequiredString is String for a required key; example shows a value.
func (s *Settings) RequiredString(key, example string) (string, bool) {
	if !s.Has(key) {
		s.Missing(key, "e.g. "+example)
		return "", false
	}
	str, ok := s.String(key)
	if ok && strings.TrimSpace(str) == "" {
		s.problem(key, str, "must not be empty, e.g. %s", example)
		return "", false
	}
	return str, ok
}

// Enum reads one of allowed, def when absent or unknown yet.
func (s *Settings) Enum(key, def string, allowed ...string) string {
	str, ok := s.String(key)
	if !ok {
		return def
	}
	if !slices.Contains(allowed, str) {
		s.problem(key, str, "want one of %s%s", strings.Join(allowed, ", "), didYouMean(str, allowed))
		return def
	}
	return str
}

// Int reads a whole number from lo to hi, def when absent or unknown yet.
func (s *Settings) Int(key string, def, lo, hi int) int {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return def
	}
	n, ok := wholeNumber(v)
	if !ok || n < int64(lo) || n > int64(hi) {
		s.problem(key, v, "want a whole number from %d to %d", lo, hi)
		return def
	}
	return int(n)
}

// Float reads a number, def when absent or unknown yet.
func (s *Settings) Float(key string, def float64) float64 {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return def
	}
	if str, ok := scalarText(v); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(str), 64); err == nil {
			return f
		}
	}
	s.problem(key, v, "want a number")
	return def
}

// Bool reads true/false (or its text), def when absent or unknown yet.
func (s *Settings) Bool(key string, def bool) bool {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return def
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b
		}
	}
	s.problem(key, v, "want true or false")
	return def
}

// Bytes reads a size: a whole number of bytes or a number with a unit
// (KB, MB, GB, KiB, MiB, GiB; "256MiB", "1.5GB"); def when absent or
// unknown yet.
func (s *Settings) Bytes(key string, def int64) int64 {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return def
	}
	n, err := ParseBytes(v)
	if err != nil {
		s.problem(key, v, "%v", err)
		return def
	}
	return n
}

// Type reads a column type name (see ParseType).
func (s *Settings) Type(key string) (arrow.DataType, bool) {
	str, ok := s.String(key)
	if !ok {
		return nil, false
	}
	t, err := ParseType(str)
	if err != nil {
		s.problem(key, str, "%v", err)
		return nil, false
	}
	return t, true
}

// List reads a list.
func (s *Settings) List(key string) ([]any, bool) {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return nil, false
	}
	l, ok := asList(v)
	if !ok {
		s.problem(key, v, "want a list, not %s", kind(v))
	}
	return l, ok
}

// Strings reads a list of strings; one string is a list of one.
func (s *Settings) Strings(key string) ([]string, bool) {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return nil, false
	}
	if str, ok := v.(string); ok {
		return []string{str}, true
	}
	l, ok := asList(v)
	if !ok {
		s.problem(key, v, "want a list of strings, not %s", kind(v))
		return nil, false
	}
	out := make([]string, 0, len(l))
	all := true
	for i, e := range l {
		if s.IsPlaceholder(e) {
			all = false
			continue
		}
		str, ok := scalarText(e)
		if !ok {
			s.root.errs = append(s.root.errs, fmt.Errorf("%s[%d] %s: want a string, not %s", s.Field(key), i, show(e), kind(e)))
			all = false
			continue
		}
		out = append(out, str)
	}
	return out, all
}

// Object reads an object as Settings of their own (whose unknown keys
// Err reports too).
func (s *Settings) Object(key string) (*Settings, bool) {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return nil, false
	}
	m, ok := asObject(v)
	if !ok {
		s.problem(key, v, "want an object, not %s", kind(v))
		return nil, false
	}
	return s.root.node(s.Field(key), m), true
}

// Map reads an object of plain values (its keys are the user's, so
// none is unknown).
func (s *Settings) Map(key string) (map[string]any, bool) {
	v, ok := s.Raw(key)
	if !ok || s.IsPlaceholder(v) {
		return nil, false
	}
	m, ok := asObject(v)
	if !ok {
		s.problem(key, v, "want an object, not %s", kind(v))
	}
	return m, ok
}

// Objects reads a list of objects, each as Settings of its own; an
// element that is not an object is recorded and skipped.
func (s *Settings) Objects(key string) ([]*Settings, bool) {
	l, ok := s.List(key)
	if !ok {
		return nil, false
	}
	out := make([]*Settings, 0, len(l))
	for i, e := range l {
		m, ok := asObject(e)
		if !ok {
			s.root.errs = append(s.root.errs, fmt.Errorf("%s[%d] %s: want an object, not %s", s.Field(key), i, show(e), kind(e)))
			continue
		}
		out = append(out, s.root.node(fmt.Sprintf("%s[%d]", s.Field(key), i), m))
	}
	return out, true
}

// Column is one column declared in settings: {name: id, type: int64}.
type Column struct {
	Name string
	Type arrow.DataType
}

// Columns reads a list of {name, type} objects (names unique, types as
// ParseType). Each element's Settings is returned too, for components
// whose columns take more keys (read them before Err).
func (s *Settings) Columns(key string) ([]Column, []*Settings, bool) {
	objs, ok := s.Objects(key)
	if !ok {
		return nil, nil, false
	}
	cols := make([]Column, 0, len(objs))
	seen := map[string]bool{}
	all := true
	for _, o := range objs {
		name, okName := o.RequiredString("name", "id")
		typ, okType := o.Type("type")
		if !o.Has("type") {
			o.Missing("type", "one of "+strings.Join(TypeNames(), ", "))
		}
		if okName && seen[name] {
			o.problem("name", name, "a column of this name is listed already")
			okName = false
		}
		seen[name] = true
		all = all && okName && okType
		cols = append(cols, Column{Name: name, Type: typ})
	}
	return cols, objs, all
}

// Schema is the Arrow schema of columns (all nullable).
func Schema(cols []Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// ParseBytes reads a size: a whole number of bytes, or a number with a
// unit B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (of
// 1024), as "256MiB" or "1.5 GB".
func ParseBytes(v any) (int64, error) {
	if n, ok := wholeNumber(v); ok {
		if n <= 0 {
			return 0, fmt.Errorf("want a size of more than 0")
		}
		return n, nil
	}
	str, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf(`want a size such as "256MiB" or "1GB", not %s`, kind(v))
	}
	t := strings.TrimSpace(str)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf(`want a size such as "256MiB" or "1GB"`)
	}
	num, err := strconv.ParseFloat(t[:i], 64)
	unit := strings.ToLower(strings.TrimSpace(t[i:]))
	mult, known := byteUnits[unit]
	if err != nil || !known {
		return 0, fmt.Errorf(`want a size such as "256MiB" or "1GB" (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`)
	}
	f := num * float64(mult)
	if f < 1 || f > math.MaxInt64/2 {
		return 0, fmt.Errorf("size out of range")
	}
	return int64(f), nil
}

var byteUnits = map[string]int64{
	"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"k": 1 << 10, "m": 1 << 20, "g": 1 << 30,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// didYouMean is `; did you mean "x"?` when one of known is close to s.
func didYouMean(s string, known []string) string {
	if best := suggest.Closest(s, known); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

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

// asList reads []any or any other slice.
func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	if _, isBytes := v.([]byte); isBytes {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
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
	case float64, float32, json.Number:
		return "a number"
	}
	if _, ok := wholeNumber(v); ok {
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
	if str, ok := v.(string); ok {
		return strconv.Quote(clip(str, 80))
	}
	if b, err := json.Marshal(v); err == nil {
		return clip(string(b), 80)
	}
	return clip(fmt.Sprint(v), 80)
}

// clip shortens s to at most n bytes, between UTF-8 characters.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// TextSchema is schema with every column utf8: the ErrorColumns of a
// source that rejects rows it could not type (the raw text goes to the
// error path).
func TextSchema(schema *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, schema.NumFields())
	for i, f := range schema.Fields() {
		fields[i] = arrow.Field{Name: f.Name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}
