package expression

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Template is a string with ${expression} interpolations. "$${" writes a
// literal "${".
type Template struct {
	parts []part
}

type part struct {
	lit  string
	prog *Program
}

// ParseTemplate compiles every interpolation in s.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	rest := s
	var lit strings.Builder
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			lit.WriteString(rest)
			break
		}
		if i > 0 && rest[i-1] == '$' {
			lit.WriteString(rest[:i-1] + "${")
			rest = rest[i+2:]
			continue
		}
		lit.WriteString(rest[:i])
		end := closing(rest[i+2:])
		if end < 0 {
			return nil, fmt.Errorf("%q: \"${\" at byte %d has no closing \"}\"", s, len(s)-len(rest)+i)
		}
		src := rest[i+2 : i+2+end]
		prog, err := Compile(src, Any)
		if err != nil {
			return nil, err
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, part{prog: prog})
		rest = rest[i+2+end+1:]
	}
	if lit.Len() > 0 || len(t.parts) == 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, nil
}

// closing finds the "}" that ends an interpolation, skipping braces and
// quoted strings inside the expression.
func closing(s string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// Literal reports whether the template has no interpolation.
func (t *Template) Literal() bool { return len(t.parts) == 1 && t.parts[0].prog == nil }

// Refs lists what the interpolations refer to.
func (t *Template) Refs() []Ref {
	var out []Ref
	for _, p := range t.parts {
		if p.prog != nil {
			out = append(out, p.prog.Refs()...)
		}
	}
	return out
}

// Render evaluates the template. A template that is exactly one
// interpolation keeps the value's type ("${params.batch_size}" gives an
// int); otherwise values are written into the string (lists and maps as
// JSON).
func (t *Template) Render(env Env) (any, error) {
	if len(t.parts) == 1 && t.parts[0].prog != nil {
		return t.parts[0].prog.Eval(env)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.prog.Eval(env)
		if err != nil {
			return nil, err
		}
		b.WriteString(Format(v))
	}
	return b.String(), nil
}

// Format writes a value as interpolations show it.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []any, map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}
