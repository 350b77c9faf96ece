package pkgfile_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// fakeType checks settings the way the built-in task types do (see
// internal/packages/tasktypes); it never runs.
type fakeType struct {
	required []string
	fields   map[string]func(v any) error
}

func (f fakeType) Check(with map[string]any) error {
	var errs []error
	for _, r := range f.required {
		if _, ok := with[r]; !ok {
			errs = append(errs, fmt.Errorf("%s: required", r))
		}
	}
	keys := make([]string, 0, len(with))
	for k := range with {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		check, ok := f.fields[k]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown setting", k))
			continue
		}
		if err := check(with[k]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

func (fakeType) Run(context.Context, task.Input) (task.Output, error) {
	return nil, errors.New("fake task types do not run")
}

func isString(v any) error {
	if _, ok := v.(string); !ok {
		return fmt.Errorf("want a string, got %T", v)
	}
	return nil
}

func isDuration(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a duration string, got %T", v)
	}
	if strings.Contains(s, "${") {
		return nil
	}
	if _, err := time.ParseDuration(s); err != nil {
		return fmt.Errorf("%q is not a duration", s)
	}
	return nil
}

func isInt(v any) error {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return nil
	}
	if s, ok := v.(string); ok && strings.Contains(s, "${") {
		return nil
	}
	return fmt.Errorf("want a whole number, got %v", v)
}

func listOf(each func(any) error) func(any) error {
	return func(v any) error {
		l, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want a list, got %T", v)
		}
		if len(l) == 0 {
			return errors.New("want at least one item")
		}
		for i, e := range l {
			if err := each(e); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
}

func mapOf(each func(any) error) func(any) error {
	return func(v any) error {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("want an object, got %T", v)
		}
		for k, e := range m {
			if err := each(e); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	}
}

func stringOrObject(v any) error {
	switch v.(type) {
	case string, map[string]any:
		return nil
	}
	return fmt.Errorf("want a string or an object, got %T", v)
}

// fakeTypes registers exec, http, sleep, fail and set with the settings the
// built-in types take.
func fakeTypes() *task.Registry {
	r := task.NewRegistry()
	r.MustRegister("exec", fakeType{required: []string{"command"}, fields: map[string]func(any) error{
		"command": listOf(isString), "env": mapOf(isString), "dir": isString, "timeout": isDuration,
		"success_codes": listOf(isInt), "output_limit": isInt,
	}})
	r.MustRegister("http", fakeType{required: []string{"url"}, fields: map[string]func(any) error{
		"method": isString, "url": isString, "headers": mapOf(isString), "body": stringOrObject,
		"expect_status": listOf(isInt), "timeout": isDuration,
	}})
	r.MustRegister("sleep", fakeType{required: []string{"duration"}, fields: map[string]func(any) error{"duration": isDuration}})
	r.MustRegister("fail", fakeType{fields: map[string]func(any) error{"message": isString}})
	r.MustRegister("set", fakeType{required: []string{"values"}, fields: map[string]func(any) error{"values": mapOf(isString)}})
	return r
}

// fakeDatabaseType is a task type that names a database connection, as
// the sql type does.
type fakeDatabaseType struct{ fakeType }

func (fakeDatabaseType) ConnectionKinds() []connection.Kind {
	return []connection.Kind{connection.Postgres, connection.MySQL, connection.SQLServer}
}

// connectionTypes is fakeTypes with a "query" type that names a database
// connection and an "objects" type that names s3 ones.
func connectionTypes() *task.Registry {
	r := fakeTypes()
	r.MustRegister("query", fakeDatabaseType{fakeType{required: []string{"connection"},
		fields: map[string]func(any) error{"connection": isString, "statement": isString}}})
	r.MustRegister("objects", fakeStorageType{fakeType{required: []string{"connection"},
		fields: map[string]func(any) error{"connection": isString, "to_connection": isString, "key": isString}}})
	return r
}

// fakeStorageType is a task type that names s3 connections, in connection
// and to_connection, as the s3 type does.
type fakeStorageType struct{ fakeType }

func (fakeStorageType) ConnectionKinds() []connection.Kind { return []connection.Kind{connection.S3} }
