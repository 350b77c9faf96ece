package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/scaleout/scaleout/pkg/suggest"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Sentinel errors, matched with errors.Is. The HTTP layer maps them in one
// place: scaleouttype.ErrNotFound (a *NotFoundError) to 404, ErrExists, ErrNotEmpty and ErrConflict to 409,
// ErrInvalid to 400.
var (
	// ErrExists: a folder or environment of that name exists already.
	ErrExists = errors.New("already exists")
	// ErrNotEmpty: a folder still holds projects or environments (a
	// *NotEmptyError naming them).
	ErrNotEmpty = errors.New("not empty")
	// ErrConflict: a concurrent change won; read again and retry.
	ErrConflict = errors.New("changed concurrently")
	// ErrInvalid: the request itself is wrong (a *ValidationError listing
	// every problem).
	ErrInvalid = errors.New("invalid")
)

// NotFoundError says what was not found.
type NotFoundError struct {
	// Kind is "folder", "project", "package", "version" or "environment".
	Kind string `json:"kind"`
	// Name is the full name: "sales", "sales/etl", "sales/etl/load",
	// "sales/etl version 3", "sales/prod".
	Name string `json:"name"`
	// Suggestion is the existing name of that kind closest to the one
	// asked for (a typo's likely meaning), or "".
	Suggestion string `json:"suggestion,omitempty"`
	// Known lists the names of that kind that exist, when few do and none
	// is close (only packages, whose list is at hand).
	Known []string `json:"known,omitempty"`
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("%s %q not found", e.Kind, e.Name)
	switch {
	case e.Suggestion != "":
		msg += fmt.Sprintf("; did you mean %q?", e.Suggestion)
	case len(e.Known) > 0:
		msg += "; there are " + strings.Join(e.Known, ", ")
	}
	return msg
}

// Is makes errors.Is(err, scaleouttype.ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == scaleouttype.ErrNotFound }

func notFound(kind, name string) error { return &NotFoundError{Kind: kind, Name: name} }

// mostKnown is the most names a NotFoundError lists when none is close.
const mostKnown = 10

// notFoundNear is notFound with the candidate closest to typed, the last
// part of name, as a suggestion; with none close and at most mostKnown
// candidates, and list set, it names them all.
func notFoundNear(kind, name, typed string, candidates []string, list bool) error {
	e := &NotFoundError{Kind: kind, Name: name, Suggestion: suggest.Closest(typed, candidates)}
	if e.Suggestion == "" && list && len(candidates) <= mostKnown {
		e.Known = slices.Sorted(slices.Values(candidates))
	}
	return e
}

// NotEmptyError says what a folder still holds.
type NotEmptyError struct {
	Folder       string   `json:"folder"`
	Projects     []string `json:"projects,omitempty"`
	Environments []string `json:"environments,omitempty"`
}

func (e *NotEmptyError) Error() string {
	var parts []string
	if len(e.Projects) > 0 {
		parts = append(parts, fmt.Sprintf("projects %s", strings.Join(e.Projects, ", ")))
	}
	if len(e.Environments) > 0 {
		parts = append(parts, fmt.Sprintf("environments %s", strings.Join(e.Environments, ", ")))
	}
	if len(parts) == 0 {
		parts = append(parts, "items being created")
	}
	return fmt.Sprintf("folder %q is not empty: it holds %s; delete them first", e.Folder, strings.Join(parts, " and "))
}

// Is makes errors.Is(err, ErrNotEmpty) hold.
func (e *NotEmptyError) Is(target error) bool { return target == ErrNotEmpty }

// Problem is one thing wrong with a request.
type Problem struct {
	// Package names the package of the bundle the problem is in, if any.
	Package string `json:"package,omitempty"`
	// Path locates the problem: in a package as pkgfile does
	// (`tasks[0] "greet".with.url`), else in the request
	// (`parameters.date`, `files["a/../b"]`, `variables.token.value`).
	Path string `json:"path,omitempty"`
	// Line is the problem's line in the package file, when known.
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// String is `package "load" line 3: tasks[0]: message`.
func (p Problem) String() string {
	var b strings.Builder
	if p.Package != "" {
		fmt.Fprintf(&b, "package %q", p.Package)
		if p.Line > 0 {
			fmt.Fprintf(&b, " line %d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists every problem found in a request.
type ValidationError struct {
	Problems []Problem `json:"problems"`
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problems:\n\t%s", len(lines), strings.Join(lines, "\n\t"))
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// problems collects Problems.
type problems []Problem

func (ps *problems) add(pkg, path, format string, args ...any) {
	*ps = append(*ps, Problem{Package: pkg, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

func invalid(path, format string, args ...any) error {
	var ps problems
	ps.add("", path, format, args...)
	return ps.err()
}
