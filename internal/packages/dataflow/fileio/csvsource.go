package fileio

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
	"github.com/scaleout/scaleout/internal/suggest"
)

// readBufferSize is the read buffer of text sources.
const readBufferSize = 1 << 20

// CSVSource is csv_source: rows of CSV files.
//
//	settings:
//	  file: in/*.csv         # or connection: files, key: in/*.csv (or prefix: in/)
//	  header: true           # the first line names the columns (default true)
//	  delimiter: ","         # one character; "\t" or tab for tabs
//	  null_value: ""         # a field equal to it is null (default: empty fields)
//	  columns:               # optional: declared columns, by header name (or in
//	    - {name: id, type: int64}   # order without a header); else every
//	    - {name: amount, type: float64}  # column of the first file, as strings
//
// A row whose value does not parse as its column's type, or whose number
// of fields is wrong, goes through on_error; the reason names the file,
// the line, the column and the value.
type CSVSource struct {
	Clients *s3client.Clients
}

// Info implements dataflow.Type.
func (*CSVSource) Info() dataflow.Info {
	return dataflow.Info{Doc: "reads rows from CSV files in the scratch directory or S3"}
}

type csvConfig struct {
	src      sources
	header   bool
	delim    rune
	null     string
	declared []dataflow.Column
}

// Plan implements dataflow.Type.
func (t *CSVSource) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	cfg := csvConfig{src: readSources(s), header: s.Bool("header", true), delim: readDelimiter(s, "delimiter")}
	cfg.null, _ = s.String("null_value")
	cfg.declared = readDeclared(s, false)
	if err := s.Err(); err != nil {
		return nil, err
	}
	var schema *arrow.Schema
	if cfg.declared != nil {
		schema = dataflow.Schema(cfg.declared)
	}
	if pc.Checking() {
		return sourcePlan(schema, nil), nil
	}
	files, err := cfg.src.resolve(pc.Context(), env{pc.Dir(), pc.Connections()}, t.Clients)
	if err != nil {
		return nil, err
	}
	if schema == nil {
		if schema, err = cfg.firstSchema(pc.Context(), files[0]); err != nil {
			return nil, err
		}
	}
	return sourcePlan(schema, &csvRunner{cfg: cfg, files: files, schema: schema}), nil
}

// sourcePlan is the plan of a text source: one output, rejected rows as
// strings.
func sourcePlan(schema *arrow.Schema, r dataflow.Runner) *dataflow.Plan {
	p := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: schema}},
		ErrorColumns: stringSchema(schema)}
	if r != nil {
		p.Runner = r
	}
	return p
}

// readDeclared reads the declared columns (nil when none are), checking
// their types can be read from text; required says they must be given.
func readDeclared(s *dataflow.Settings, required bool) []dataflow.Column {
	if !s.Has("columns") {
		if required {
			s.Missing("columns", "a list of {name, type}, e.g. [{name: id, type: int64}, {name: name, type: string}]")
		}
		return nil
	}
	cols, _, ok := s.Columns("columns")
	if ok && len(cols) == 0 {
		s.Errorf("columns", "the list is empty: declare at least one column")
	}
	for _, c := range cols {
		if c.Type == nil {
			continue
		}
		if _, err := newColumn(c.Name, c.Type); err != nil {
			s.Errorf("columns", "%v", err)
		}
	}
	if !ok {
		return []dataflow.Column{}
	}
	return cols
}

// readDelimiter reads a one-character delimiter (default ",").
func readDelimiter(s *dataflow.Settings, key string) rune {
	d, ok := s.String(key)
	if !ok {
		return ','
	}
	switch strings.ToLower(d) {
	case `\t`, "tab":
		return '\t'
	}
	r, n := utf8.DecodeRuneInString(d)
	if n == 0 || n != len(d) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
		s.Errorf(key, `%q: want one character such as "," ";" "|" or "\t"`, d)
		return ','
	}
	return r
}

func (cfg csvConfig) reader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(bufio.NewReaderSize(r, readBufferSize))
	cr.Comma = cfg.delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// firstSchema is the columns of the first file when none are declared:
// the header's names, or column1..N, every one a string.
func (cfg csvConfig) firstSchema(ctx context.Context, f file) (*arrow.Schema, error) {
	rc, err := f.open(ctx, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	rec, err := cfg.reader(rc).Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is empty: declare the columns (settings.columns) or give a file with a first line", f)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f, err)
	}
	cols := make([]dataflow.Column, len(rec))
	seen := map[string]bool{}
	for i, h := range rec {
		name := fmt.Sprintf("column%d", i+1)
		if cfg.header {
			if name = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")); name == "" {
				return nil, fmt.Errorf("%s: header field %d is empty: name every column, or declare them (settings.columns)", f, i+1)
			}
		}
		if seen[name] {
			return nil, fmt.Errorf("%s: the header names column %q twice: declare the columns (settings.columns)", f, name)
		}
		seen[name] = true
		cols[i] = dataflow.Column{Name: name, Type: arrow.BinaryTypes.String}
	}
	return dataflow.Schema(cols), nil
}

type csvRunner struct {
	cfg    csvConfig
	files  []file
	schema *arrow.Schema
}

// Run implements dataflow.Runner.
func (r *csvRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	b, err := newBatcher(rt, r.schema)
	if err != nil {
		return err
	}
	defer b.release()
	for _, f := range r.files {
		if err := r.readFile(ctx, rt, b, out, f); err != nil {
			return err
		}
	}
	return b.send(ctx, out)
}

// ctxCheckRows is how often a source that sends nothing (every row
// rejected) still looks whether the flow stopped.
const ctxCheckRows = 4096

func (r *csvRunner) readFile(ctx context.Context, rt dataflow.Runtime, b *batcher, out dataflow.Output, f file) error {
	rc, err := f.open(ctx, true)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	cr := r.cfg.reader(rc)
	n := r.schema.NumFields()
	idx := make([]int, n) // the field each column is read from
	want := n
	for i := range idx {
		idx[i] = i
	}
	if r.cfg.header {
		head, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil // an empty file has no rows
		}
		if err != nil {
			return fmt.Errorf("reading %s: the header: %w", f, err)
		}
		names := make([]string, len(head))
		for i, h := range head {
			names[i] = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		}
		want = len(names)
		for i, fld := range r.schema.Fields() {
			j := slices.Index(names, fld.Name)
			if j < 0 {
				j = slices.IndexFunc(names, func(h string) bool { return strings.EqualFold(h, fld.Name) })
			}
			if j < 0 {
				msg := fmt.Sprintf("%s: the header has no column %q", f, fld.Name)
				if near := suggest.Closest(fld.Name, names); near != "" {
					msg += fmt.Sprintf(": did you mean %q?", near)
				}
				return errors.New(msg + " (header: " + clip(strings.Join(names, ", "), 200) + ")")
			}
			idx[i] = j
		}
	}
	fields := make([]string, n)
	null := make([]bool, n)
	for line := 0; ; line++ {
		if line%ctxCheckRows == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && (errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote)) {
				reason := fmt.Sprintf("%s line %d: %v", f, pe.StartLine, pe.Err)
				if err := rt.Reject(ctx, make([]any, n), reason); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("reading %s: %w", f, err)
		}
		at, _ := cr.FieldPos(0)
		if len(rec) != want {
			row := make([]any, n)
			for i, j := range idx {
				if j < len(rec) {
					row[i] = rec[j]
				}
			}
			reason := fmt.Sprintf("%s line %d: %d fields, want %d", f, at, len(rec), want)
			if err := rt.Reject(ctx, row, reason); err != nil {
				return err
			}
			continue
		}
		for i, j := range idx {
			fields[i] = rec[j]
			null[i] = rec[j] == r.cfg.null
		}
		if err := b.add(fields, null); err != nil {
			if err := rt.Reject(ctx, rejectRow(fields, null, n), fmt.Sprintf("%s line %d: %v", f, at, err)); err != nil {
				return err
			}
			continue
		}
		if b.full() {
			if err := b.send(ctx, out); err != nil {
				return err
			}
		}
	}
}
