package transform

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// fileRows reads a lookup's reference files (CSV or JSON Lines) one row
// at a time, file after file.
type fileRows struct {
	src    *referenceSource
	schema *arrow.Schema
	paths  []string

	f       *os.File
	name    string
	line    int64
	readRow func() ([]any, error) // the open file's reader
}

func (fr *fileRows) where() string { return fmt.Sprintf("file %s, line %d", fr.name, fr.line) }

func (fr *fileRows) close() error {
	if fr.f == nil {
		return nil
	}
	err := fr.f.Close()
	fr.f = nil
	return err
}

// next is the open file's next row, opening the next file at the end
// of one.
func (fr *fileRows) next() ([]any, error) {
	for {
		if fr.f == nil {
			if len(fr.paths) == 0 {
				return nil, io.EOF
			}
			if err := fr.openFile(fr.paths[0]); err != nil {
				return nil, err
			}
			fr.paths = fr.paths[1:]
		}
		vals, err := fr.readRow()
		if !errors.Is(err, io.EOF) {
			return vals, err
		}
		if err := fr.close(); err != nil {
			return nil, err
		}
	}
}

func (fr *fileRows) openFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("settings.file: %w", err)
	}
	fr.f, fr.name, fr.line = f, filepath.Base(path), 0
	switch fr.src.formatOf(path) {
	case "csv":
		return fr.openCSV()
	case "jsonl":
		fr.openJSONL()
		return nil
	}
	return fmt.Errorf("settings.format: cannot tell the format of %s from its extension: say csv or jsonl", fr.name)
}

// openCSV reads the header (when there is one) and maps the declared
// columns to the file's.
func (fr *fileRows) openCSV() error {
	r := csv.NewReader(bufio.NewReaderSize(fr.f, 64<<10))
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	idx := make([]int, fr.schema.NumFields())
	for i := range idx {
		idx[i] = i
	}
	if fr.src.header {
		head, err := r.Read()
		fr.line++
		if err != nil {
			return fmt.Errorf("settings.file: %s: reading the header: %w", fr.name, err)
		}
		names := make([]string, len(head))
		for i, h := range head {
			names[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		}
		for n, f := range fr.schema.Fields() {
			idx[n] = -1
			for i, h := range names {
				if h == f.Name || (idx[n] < 0 && strings.EqualFold(h, f.Name)) {
					idx[n] = i
				}
			}
			if idx[n] < 0 {
				return fmt.Errorf("settings.columns: %s has no column %q%s (its header: %s)", fr.name, f.Name, didYouMean(f.Name, names), strings.Join(names, ", "))
			}
		}
	}
	fr.readRow = func() ([]any, error) {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		fr.line++
		if err != nil {
			return nil, fmt.Errorf("settings.file: %s: %w", fr.name, err)
		}
		vals := make([]any, len(idx))
		for n, i := range idx {
			if i >= len(rec) {
				return nil, fmt.Errorf("settings.file: %s, line %d: %d fields, and column %q is field %d", fr.name, fr.line, len(rec), fr.schema.Field(n).Name, i+1)
			}
			// An empty field is null, except in a string column.
			if rec[i] == "" && fr.schema.Field(n).Type.ID() != arrow.STRING {
				continue
			}
			vals[n] = strings.Clone(rec[i])
		}
		return vals, nil
	}
	return nil
}

// openJSONL reads one JSON object a line; a missing key is null.
func (fr *fileRows) openJSONL() {
	sc := bufio.NewScanner(fr.f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	fr.readRow = func() ([]any, error) {
		for sc.Scan() {
			fr.line++
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				return nil, fmt.Errorf("settings.file: %s, line %d: want one JSON object a line: %w", fr.name, fr.line, err)
			}
			vals := make([]any, fr.schema.NumFields())
			for n, f := range fr.schema.Fields() {
				switch v := obj[f.Name].(type) {
				case json.Number:
					vals[n] = v.String()
				case map[string]any, []any:
					return nil, fmt.Errorf("settings.file: %s, line %d: column %q holds an object or a list, not a value", fr.name, fr.line, f.Name)
				default:
					vals[n] = v
				}
			}
			return vals, nil
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("settings.file: %s: %w", fr.name, err)
		}
		return nil, io.EOF
	}
}
