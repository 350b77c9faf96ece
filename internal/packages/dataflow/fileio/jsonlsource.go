package fileio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
)

// maxJSONLine bounds one JSON Lines line: a longer one fails the file
// (it is more likely not JSON Lines at all).
const maxJSONLine = 64 << 20

// JSONLSource is jsonl_source: rows of JSON Lines files, one object a
// line.
//
//	settings:
//	  file: events.jsonl     # or connection + key/prefix, as csv_source
//	  columns:               # required: the fields read, by name
//	    - {name: id, type: int64}
//	    - {name: at, type: timestamp}
//
// A field absent or null is null; a nested object or list is read as its
// JSON text into a string column. A line that is not a JSON object, or a
// value not of its column's type, goes through on_error with the file,
// the line and the value in the reason. Blank lines are skipped.
type JSONLSource struct {
	Clients *s3client.Clients
}

// Info implements dataflow.Type.
func (*JSONLSource) Info() dataflow.Info {
	return dataflow.Info{Doc: "reads rows from JSON Lines files in the scratch directory or S3"}
}

// Plan implements dataflow.Type.
func (t *JSONLSource) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	src := readSources(s)
	cols := readDeclared(s, true)
	if err := s.Err(); err != nil {
		return nil, err
	}
	schema := dataflow.Schema(cols)
	if pc.Checking() {
		return sourcePlan(schema, nil), nil
	}
	files, err := src.resolve(pc.Context(), env{pc.Dir(), pc.Connections()}, t.Clients)
	if err != nil {
		return nil, err
	}
	return sourcePlan(schema, &jsonlRunner{files: files, schema: schema}), nil
}

type jsonlRunner struct {
	files  []file
	schema *arrow.Schema
}

// Run implements dataflow.Runner.
func (r *jsonlRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
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

func (r *jsonlRunner) readFile(ctx context.Context, rt dataflow.Runtime, b *batcher, out dataflow.Output, f file) error {
	rc, err := f.open(ctx, true)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, readBufferSize), maxJSONLine)
	n := r.schema.NumFields()
	names := make([]string, n)
	for i, fld := range r.schema.Fields() {
		names[i] = fld.Name
	}
	fields := make([]string, n)
	null := make([]bool, n)
	obj := map[string]json.RawMessage{}
	for line := 1; sc.Scan(); line++ {
		if line%ctxCheckRows == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		clear(obj)
		if err := json.Unmarshal(text, &obj); err != nil {
			reason := fmt.Sprintf("%s line %d: not a JSON object (%v): %s", f, line, err, clip(string(text), 200))
			if err := rt.Reject(ctx, make([]any, n), reason); err != nil {
				return err
			}
			continue
		}
		for i, name := range names {
			fields[i], null[i] = jsonText(obj[name])
		}
		if err := b.add(fields, null); err != nil {
			if err := rt.Reject(ctx, rejectRow(fields, null, n), fmt.Sprintf("%s line %d: %v", f, line, err)); err != nil {
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
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", f, err)
	}
	return nil
}

// jsonText is a JSON value as text: a string's content, a number's or
// true/false's literal, an object's or list's JSON; null when absent or
// null.
func jsonText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s, false
		}
	}
	return string(raw), false
}
