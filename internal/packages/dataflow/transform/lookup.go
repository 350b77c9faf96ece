package transform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Lookup is the lookup component type: it joins each input row to
// reference data by key columns and adds columns of the matching
// reference row, as SSIS's Lookup transformation in full cache mode.
//
//	components:
//	  - name: customers
//	    type: lookup
//	    input: read
//	    settings:
//	      connection: warehouse          # the reference is a query's result...
//	      query: SELECT id, name, region FROM customers
//	      # file: customers.csv          # ...or CSV / JSON Lines files in the scratch directory
//	      # format: csv                  # csv | jsonl (default: from the file's extension)
//	      # header: true                 # csv: the first line names the columns (default true)
//	      columns:                       # the reference's columns and types: required for files;
//	        - {name: id, type: int64}    # for a query, optional (typed from the result when absent)
//	        - {name: name, type: string}
//	        - {name: region, type: string}
//	      join:                          # input column = reference column, types of one kind
//	        - {input: customer_id, reference: id}
//	      return:                        # reference columns added to matching rows
//	        - {column: name, as: customer_name}
//	        - {column: region}
//	      no_match: redirect             # fail (default) | ignore | redirect
//
// Outputs: "match", the input's columns then the returned ones, and
// "no_match", the input's columns. A row whose key has no reference row
// (or has a null in it) is, by no_match: fail, a row-level failure that
// goes through the component's on_error (fail the flow, ignore the row,
// or redirect it to the error output with the reason); ignore, sent to
// match with nulls in the returned columns (SSIS's "ignore failure");
// redirect, sent to no_match (SSIS's "redirect rows to no match output").
// When several reference rows share a key the first one is used, with a
// warning.
//
// What it holds: the whole reference (its join and returned columns as
// Arrow batches, plus a hash table of the keys), loaded once when the
// component starts, its bytes reserved from the flow's budget
// (memory_limit) as it loads. Past the limit it fails, naming the limit,
// the bytes needed so far and the reference rows loaded. Input rows
// stream through; it holds no more than one batch of them.
type Lookup struct{}

// Lookup's outputs.
const (
	MatchOutput   = "match"
	NoMatchOutput = "no_match"
)

// Info describes lookup.
func (Lookup) Info() dataflow.Info {
	return dataflow.Info{Doc: "joins rows to reference data from a query or a file by key columns (match and no_match outputs)", MinInputs: 1, MaxInputs: 1}
}

// joinPair is one join condition: input column = reference column.
type joinPair struct {
	input, reference string
	inCol            int
}

// returned is one reference column added to matching rows.
type returned struct {
	column, as string
}

// Plan reads the reference, the join and the returned columns, and
// checks them against the input and the reference's columns.
func (Lookup) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	var in *arrow.Schema
	if len(pc.Inputs) > 0 {
		in = pc.Inputs[0].Schema
	}
	src := planReference(s)
	joins := planJoin(s)
	rets := planReturn(s)
	noMatch := s.Enum("no_match", "fail", "fail", "ignore", "redirect")
	ref := src.schema
	if ref == nil && !pc.Checking() {
		if err := s.Err(); err != nil {
			return nil, err
		}
		var err error
		if ref, err = src.discover(pc.Context(), pc.Connections()); err != nil {
			return nil, err
		}
	}
	var match *arrow.Schema
	var refCols []int // reference columns kept: the join's, then the returned ones
	if in != nil {
		for n := range joins {
			joins[n].inCol = findColumn(s, fmt.Sprintf("join[%d].input", n), in, joins[n].input, "the input")
		}
	}
	if ref != nil {
		for n, j := range joins {
			rc := findColumn(s, fmt.Sprintf("join[%d].reference", n), ref, j.reference, "the reference")
			refCols = append(refCols, rc)
			if rc < 0 || in == nil || j.inCol < 0 {
				continue
			}
			it, rt := in.Field(j.inCol).Type, ref.Field(rc).Type
			if keyKind(it) != keyKind(rt) {
				s.Errorf(fmt.Sprintf("join[%d]", n), "input column %q is %s and reference column %q is %s: join columns must be of one kind (convert one with data_conversion, or cast it in the query)",
					j.input, dataflow.TypeName(it), j.reference, dataflow.TypeName(rt))
			}
		}
		for n, r := range rets {
			refCols = append(refCols, findColumn(s, fmt.Sprintf("return[%d].column", n), ref, r.column, "the reference"))
		}
	}
	if in != nil && ref != nil {
		fields := append([]arrow.Field(nil), in.Fields()...)
		seen := map[string]bool{}
		for _, f := range fields {
			seen[f.Name] = true
		}
		for n, r := range rets {
			rc := refCols[len(joins)+n]
			switch {
			case rc < 0:
			case seen[r.as]:
				s.Errorf(fmt.Sprintf("return[%d]", n), "the output has a column %q already: name the returned one otherwise with `as`", r.as)
			default:
				seen[r.as] = true
				fields = append(fields, arrow.Field{Name: r.as, Type: ref.Field(rc).Type, Nullable: true})
			}
		}
		match = arrow.NewSchema(fields, nil)
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	plan := &dataflow.Plan{Outputs: []dataflow.OutputSpec{
		{Name: MatchOutput, Schema: match},
		{Name: NoMatchOutput, Schema: in},
	}}
	if !pc.Checking() {
		kept := make([]arrow.Field, len(refCols))
		for n, c := range refCols {
			kept[n] = ref.Field(c)
			kept[n].Nullable = true
		}
		plan.Runner = &lookupRunner{
			src: src, ref: ref, refCols: refCols, kept: arrow.NewSchema(kept, nil),
			joins: joins, nReturned: len(rets), noMatch: noMatch, match: match, in: in,
		}
	}
	return plan, nil
}

// planJoin reads the join conditions.
func planJoin(s *dataflow.Settings) []joinPair {
	objs, ok := s.Objects("join")
	if !s.Has("join") {
		s.Missing("join", "the key columns, e.g. [{input: customer_id, reference: id}]")
	} else if ok && len(objs) == 0 {
		s.Errorf("join", "list at least one key column, e.g. [{input: customer_id, reference: id}]")
	}
	var out []joinPair
	for _, o := range objs {
		in, ok1 := o.RequiredString("input", "customer_id")
		ref, ok2 := o.RequiredString("reference", "id")
		if ok1 && ok2 {
			out = append(out, joinPair{input: in, reference: ref})
		}
	}
	return out
}

// planReturn reads the returned columns (none: the lookup only checks
// that a match exists).
func planReturn(s *dataflow.Settings) []returned {
	objs, _ := s.Objects("return")
	var out []returned
	for _, o := range objs {
		col, ok := o.RequiredString("column", "name")
		as, hasAs := o.String("as")
		if !hasAs || strings.TrimSpace(as) == "" {
			as = col
		}
		if ok {
			out = append(out, returned{column: col, as: as})
		}
	}
	return out
}

// lookupRunner is one planned lookup.
type lookupRunner struct {
	src       *referenceSource
	ref       *arrow.Schema // the reference's columns
	refCols   []int         // of ref: the join's, then the returned ones
	kept      *arrow.Schema // ref's refCols
	joins     []joinPair
	nReturned int
	noMatch   string
	match, in *arrow.Schema
}

// Run loads the reference, then streams the input through it.
func (r *lookupRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	tbl := &refTable{held: &holding{budget: rt.Memory(), what: "the reference table"}, index: map[string]refRow{}}
	defer tbl.release()
	if err := r.load(ctx, rt, tbl); err != nil {
		return err
	}
	if tbl.duplicates > 0 {
		rt.Warn(fmt.Sprintf("%d reference rows have a key an earlier row has: the first row of each key is used", tbl.duplicates))
	}
	rt.Log().Info("lookup reference loaded", "rows", tbl.rows, "keys", len(tbl.index), "bytes", tbl.held.used)
	matchOut, noMatchOut := rt.Output(MatchOutput), rt.Output(NoMatchOutput)
	mb := array.NewRecordBuilder(rt.Allocator(), r.match)
	defer mb.Release()
	nb := newBatchBuilder(rt.Allocator(), r.in)
	defer nb.release()
	inAppend := make([]appendFunc, r.in.NumFields())
	for c, f := range r.in.Fields() {
		inAppend[c] = appendFor(f.Type)
	}
	retAppend := make([]appendFunc, r.nReturned)
	for n := range retAppend {
		retAppend[n] = appendFor(r.kept.Field(len(r.joins) + n).Type)
	}
	var key []byte
	input := rt.Inputs()[0]
	for {
		batch, err := input.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		err = r.pass(ctx, rt, batch, tbl, &key, mb, nb, inAppend, retAppend)
		if err == nil {
			err = sendBuilt(ctx, matchOut, mb.NewRecordBatch())
		}
		if err == nil {
			err = sendBuilt(ctx, noMatchOut, nb.flush())
		}
		batch.Release()
		if err != nil {
			return err
		}
	}
}

// pass looks up every row of batch, adding it to mb (match) or nb
// (no_match) or rejecting it.
func (r *lookupRunner) pass(ctx context.Context, rt dataflow.Runtime, batch arrow.RecordBatch, tbl *refTable, key *[]byte,
	mb *array.RecordBuilder, nb *batchBuilder, inAppend, retAppend []appendFunc) error {
	nIn := len(inAppend)
	for i := range int(batch.NumRows()) {
		k, null := (*key)[:0], false
		for _, j := range r.joins {
			col := batch.Column(j.inCol)
			null = null || col.IsNull(i)
			k = appendKey(k, col, i)
		}
		*key = k
		row, found := refRow{}, false
		if !null {
			row, found = tbl.index[string(k)]
		}
		if !found {
			switch r.noMatch {
			case "redirect":
				nb.add(batch, i)
				continue
			case "fail":
				if err := rt.RejectRow(ctx, batch, i, "no reference row matches "+r.describeKey(batch, i)); err != nil {
					return err
				}
				continue
			}
		}
		for c, f := range inAppend {
			f(mb.Field(c), batch.Column(c), i)
		}
		for n, f := range retAppend {
			if !found {
				mb.Field(nIn + n).AppendNull()
				continue
			}
			f(mb.Field(nIn+n), tbl.batches[row.batch].Column(len(r.joins)+n), int(row.row))
		}
	}
	return nil
}

// describeKey writes row i's join key for messages: customer_id=42.
func (r *lookupRunner) describeKey(batch arrow.RecordBatch, i int) string {
	parts := make([]string, len(r.joins))
	for n, j := range r.joins {
		v := "null"
		if col := batch.Column(j.inCol); !col.IsNull(i) {
			v = col.ValueStr(i)
		}
		parts[n] = j.input + "=" + v
	}
	return strings.Join(parts, ", ")
}

// sendBuilt sends batch unless it has no rows.
func sendBuilt(ctx context.Context, out dataflow.Output, batch arrow.RecordBatch) error {
	if batch == nil {
		return nil
	}
	if batch.NumRows() == 0 {
		batch.Release()
		return nil
	}
	return out.Send(ctx, batch)
}
