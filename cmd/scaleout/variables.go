package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

// varFlags are the flags that give an environment's variables.
type varFlags struct {
	vars, secrets, secretFiles, keep []string
	description                      string
}

func (f *varFlags) register(cmd *cobra.Command, update bool) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.vars, "var", nil, "a variable as name=value or name=value:TYPE (repeatable; TYPE "+typeNames()+", default string)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "a sensitive variable as name=value[:TYPE]: sealed at rest, never shown (repeatable; it lands in your shell history: prefer --secret-file)")
	fl.StringArrayVar(&f.secretFiles, "secret-file", nil, "a sensitive variable read from a file as name=PATH[:TYPE], or from stdin as name=- (repeatable; one final newline is dropped)")
	description := "what the environment is for"
	if update {
		description += " (default: keep the current one)"
		fl.StringArrayVar(&f.keep, "keep", nil, "keep this variable as it is, its sensitive value too (repeatable)")
	}
	fl.StringVar(&f.description, "description", "", description)
}

// maxSecretFile bounds a value read from a file or stdin (the API takes
// far less).
const maxSecretFile = 1 << 20

// variables builds the variables from the flags; stdin is read for
// --secret-file name=-, and a note goes to notes when stdin is a terminal.
// current is the environment's variables for --keep (nil when creating).
// No error holds a sensitive value.
func (f *varFlags) variables(stdin io.Reader, notes io.Writer, current map[string]catalog.Variable) (map[string]catalog.Variable, error) {
	out := map[string]catalog.Variable{}
	add := func(flag, name string, v catalog.Variable) error {
		if _, dup := out[name]; dup {
			return fmt.Errorf("%s %s: variable %s is given twice", flag, name, name)
		}
		out[name] = v
		return nil
	}
	for _, kv := range f.vars {
		name, text, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--var %q: write name=value or name=value:TYPE", kv)
		}
		text, t, err := splitType(text)
		if err != nil {
			return nil, fmt.Errorf("--var %s: %w", name, err)
		}
		v, ok := pkgfile.ParseValue(t, text)
		if !ok {
			return nil, fmt.Errorf("--var %s=%q: not a valid %s (to keep a value ending in :%s as text, add :string)", name, text, t, t)
		}
		if err := add("--var", name, catalog.Variable{Type: t, Value: v}); err != nil {
			return nil, err
		}
	}
	for _, kv := range f.secrets {
		name, text, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, errors.New("--secret: write name=value or name=value:TYPE (the value given is not shown)")
		}
		text, t, err := splitType(text)
		if err != nil {
			return nil, fmt.Errorf("--secret %s: the value ends in a word after its last ':' that is not a type (known: %s); "+
				"to keep such a value as text, add :string (the value given is not shown)", name, typeNames())
		}
		if err := addSecret(add, "--secret", name, text, t); err != nil {
			return nil, err
		}
	}
	stdinUsed := false
	for _, kv := range f.secretFiles {
		name, path, ok := strings.Cut(kv, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("--secret-file %q: write name=PATH or name=PATH:TYPE, or name=- for stdin", kv)
		}
		path, t, err := splitType(path)
		if err != nil {
			return nil, fmt.Errorf("--secret-file %s: %w", name, err)
		}
		var text string
		if path == "-" {
			if stdinUsed {
				return nil, fmt.Errorf("--secret-file %s=-: stdin is read for one variable only", name)
			}
			stdinUsed = true
			if isTerminal(stdin) {
				fmt.Fprintf(notes, "type the value of %s, then Enter and Ctrl-D (it shows as you type: a pipe or a file keeps it off the screen)\n", name)
			}
			text, err = readValue(stdin)
		} else {
			text, err = readFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("--secret-file %s: %w", name, err)
		}
		if err := addSecret(add, "--secret-file", name, text, t); err != nil {
			return nil, err
		}
	}
	for _, name := range f.keep {
		v, ok := current[name]
		if !ok {
			return nil, fmt.Errorf("--keep %s: the environment has no variable %s (it has: %s)", name, name,
				strings.Join(slices.Sorted(maps.Keys(current)), ", "))
		}
		if v.Sensitive {
			v.Value = nil // the API keeps the stored value
		}
		if err := add("--keep", name, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addSecret adds a sensitive variable of type t.
func addSecret(add func(flag, name string, v catalog.Variable) error, flag, name, text string, t pkgfile.Type) error {
	v, ok := pkgfile.ParseValue(t, text)
	if !ok {
		return fmt.Errorf("%s %s: the value is not a valid %s (it is not shown)", flag, name, t)
	}
	return add(flag, name, catalog.Variable{Type: t, Value: v, Sensitive: true})
}

// splitType splits "value:TYPE" when TYPE is a known type. A suffix that
// looks like a type name (letters only) but is none is an error listing
// the known types, not a string value that silently keeps it ("1:integer");
// any other text (a URL, a time, "a:1") is a string value.
func splitType(s string) (string, pkgfile.Type, error) {
	if i := strings.LastIndex(s, ":"); i >= 0 {
		suffix := s[i+1:]
		if t := pkgfile.Type(suffix); slices.Contains(pkgfile.Types, t) {
			return s[:i], t, nil
		}
		if suffix != "" && strings.IndexFunc(suffix, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
			return "", "", fmt.Errorf("%w: unknown type %q (known: %s); to keep a value that ends in :%s as text, add :string",
				errUnknownType, suffix, typeNames(), suffix)
		}
	}
	return s, pkgfile.String, nil
}

// errUnknownType wraps the message of a value's unknown type.
var errUnknownType = errors.New("the value's type")

func typeNames() string {
	s := make([]string, len(pkgfile.Types))
	for i, t := range pkgfile.Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func readFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close() //nolint:errcheck // only read
	return readValue(f)
}

// readValue reads a whole value, dropping one final newline.
func readValue(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("more than %d bytes", maxSecretFile)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	return s, nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// valueText shows a value for people: text as is, anything else as JSON,
// a sensitive value as ***.
func valueText(v any, sensitive bool) string {
	if sensitive {
		return "***"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// typeText is a type, with "sensitive" when it is.
func typeText(t pkgfile.Type, sensitive bool) string {
	if sensitive {
		return string(t) + ", sensitive"
	}
	return string(t)
}
