package transform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/util"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// Sort is the sort component type: it orders its input's rows by one or
// more columns, as SSIS's Sort transformation.
//
//	components:
//	  - name: sorted
//	    type: sort
//	    input: read
//	    settings:
//	      columns:                       # the sort keys, most significant first
//	        - {column: region}           # order: asc (default) | desc
//	        - {column: amount, order: desc, nulls: last}   # nulls: last for asc, first for desc by default
//	      remove_duplicates: true        # keep the first row of each distinct key (default false)
//
// Its one output, "out", has the input's columns; rows leave in BatchRows
// batches once the whole input has arrived. The sort is stable: rows with
// equal keys keep their input order.
//
// What it holds: every input batch, and an index of 8 bytes a row, until
// the input ends, each batch's bytes reserved from the flow's budget
// (memory_limit) first. When the budget has no room left, the rows held
// are sorted and written as one run (an Arrow IPC file) to a temporary
// folder of the scratch directory and their memory is given back; at the
// end the runs are merged (at most 64 at once, one batch of each in
// memory), so an input far larger than memory_limit sorts in about
// memory_limit plus 64 batches. The folder is removed when the component
// ends, whatever the outcome.
type Sort struct{}

// sortKey is one planned sort key.
type sortKey struct {
	col        int
	desc       bool
	nullsFirst bool
	cmp        compareFunc
}

// Info describes sort.
func (Sort) Info() dataflow.Info {
	return dataflow.Info{Doc: "orders rows by columns (asc/desc, nulls first/last), spilling to the scratch directory past memory_limit", MinInputs: 1, MaxInputs: 1}
}

// Plan reads the sort keys and checks them against the input.
func (Sort) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	var schema *arrow.Schema
	if len(pc.Inputs) > 0 {
		schema = pc.Inputs[0].Schema
	}
	objs, ok := s.Objects("columns")
	if !s.Has("columns") {
		s.Missing("columns", "the sort keys, e.g. [{column: id}, {column: amount, order: desc}]")
	} else if ok && len(objs) == 0 {
		s.Errorf("columns", "list at least one sort key, e.g. [{column: id}]")
	}
	dedupe := s.Bool("remove_duplicates", false)
	var keys []sortKey
	for _, o := range objs {
		name, okName := o.RequiredString("column", "id")
		desc := o.Enum("order", "asc", "asc", "desc") == "desc"
		nullsFirst := o.Enum("nulls", map[bool]string{true: "first", false: "last"}[desc], "first", "last") == "first"
		if !okName || schema == nil {
			continue
		}
		col := findColumn(o, "column", schema, name, "the input")
		if col < 0 {
			continue
		}
		cmp, ok := compareFor(schema.Field(col).Type)
		if !ok {
			o.Errorf("column", "column %q is of type %s, which cannot be sorted", name, dataflow.TypeName(schema.Field(col).Type))
			continue
		}
		keys = append(keys, sortKey{col: col, desc: desc, nullsFirst: nullsFirst, cmp: cmp})
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	plan := &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: schema}}}
	if !pc.Checking() {
		plan.Runner = &sortRunner{keys: keys, dedupe: dedupe, schema: schema}
	}
	return plan, nil
}

// sortRunner is one planned sort.
type sortRunner struct {
	keys   []sortKey
	dedupe bool
	schema *arrow.Schema
}

// compare orders row i of a and row j of b by the sort keys.
func (r *sortRunner) compare(a arrow.RecordBatch, i int, b arrow.RecordBatch, j int) int {
	for _, k := range r.keys {
		x, y := a.Column(k.col), b.Column(k.col)
		xn, yn := x.IsNull(i), y.IsNull(j)
		switch {
		case xn && yn:
			continue
		case xn || yn:
			if xn == k.nullsFirst {
				return -1
			}
			return 1
		}
		c := k.cmp(x, i, y, j)
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// rowRef is one held row: batch and row index.
type rowRef struct{ batch, row int32 }

// sorter is one run of a sort: what it holds and where it spilled.
type sorter struct {
	*sortRunner
	rt       dataflow.Runtime
	held     []arrow.RecordBatch
	reserved int64 // bytes of held reserved from the budget
	spill    *spillDir
	rows     int64 // rows read
}

// Run reads the whole input, then sends it sorted.
func (r *sortRunner) Run(ctx context.Context, rt dataflow.Runtime) (err error) {
	s := &sorter{sortRunner: r, rt: rt}
	defer func() {
		s.drop()
		if rmErr := s.spill.remove(); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing the sorted runs: %w", rmErr))
		}
	}()
	in := rt.Inputs()[0]
	for {
		batch, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := s.hold(ctx, batch); err != nil {
			return err
		}
	}
	out := rt.Output(dataflow.DefaultOutputName)
	if s.spill == nil {
		rt.Log().Info("sort holds its whole input", "rows", s.rows, "bytes_held", s.reserved, "memory_limit", rt.Memory().Limit())
		return s.emitHeld(ctx, out)
	}
	if err := s.writeRun(ctx); err != nil {
		return err
	}
	rt.Log().Info("sort merges its runs", "rows", s.rows, "runs", len(s.spill.runs), "memory_limit", rt.Memory().Limit())
	return s.mergeRuns(ctx, out)
}

// hold keeps batch (taking over its reference), first making room in
// the budget by spilling what is held when there is none.
func (s *sorter) hold(ctx context.Context, batch arrow.RecordBatch) error {
	if batch.NumRows() == 0 {
		batch.Release()
		return nil
	}
	s.rows += batch.NumRows()
	size := util.TotalRecordSize(batch) + 8*batch.NumRows()
	mem := s.rt.Memory()
	if !mem.TryReserve(size) {
		if len(s.held) > 0 {
			if err := s.writeRun(ctx); err != nil {
				batch.Release()
				return err
			}
		}
		if !mem.TryReserve(size) {
			// Even alone this batch has no room: it becomes a run of its own
			// at once, held only while it is written.
			s.held = append(s.held, batch)
			return s.writeRun(ctx)
		}
	}
	s.reserved += size
	s.held = append(s.held, batch)
	return nil
}

// drop releases the batches held and their reservation.
func (s *sorter) drop() {
	for _, b := range s.held {
		b.Release()
	}
	s.held = s.held[:0]
	if s.reserved > 0 {
		s.rt.Memory().Release(s.reserved)
		s.reserved = 0
	}
}

// sorted is the order of the held rows.
func (s *sorter) sorted() []rowRef {
	var n int
	for _, b := range s.held {
		n += int(b.NumRows())
	}
	refs := make([]rowRef, 0, n)
	for bi, b := range s.held {
		for i := range int(b.NumRows()) {
			refs = append(refs, rowRef{int32(bi), int32(i)})
		}
	}
	slices.SortStableFunc(refs, func(x, y rowRef) int {
		return s.compare(s.held[x.batch], int(x.row), s.held[y.batch], int(y.row))
	})
	return refs
}

// each hands the held rows, sorted (and without duplicate keys when asked),
// to emit.
func (s *sorter) each(ctx context.Context, emit func(b arrow.RecordBatch, i int) error) error {
	var prev arrow.RecordBatch
	prevRow := 0
	for n, ref := range s.sorted() {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b, i := s.held[ref.batch], int(ref.row)
		if s.dedupe && prev != nil && s.compare(prev, prevRow, b, i) == 0 {
			continue
		}
		prev, prevRow = b, i
		if err := emit(b, i); err != nil {
			return err
		}
	}
	return nil
}

// emitHeld sends the held rows, sorted, in BatchRows batches.
func (s *sorter) emitHeld(ctx context.Context, out dataflow.Output) error {
	bb := newBatchBuilder(s.rt.Allocator(), s.schema)
	defer bb.release()
	send := s.sender(ctx, out, bb)
	if err := s.each(ctx, send); err != nil {
		return err
	}
	s.drop()
	return s.flush(ctx, out, bb)
}

// sender adds a row to bb and sends a batch each BatchRows rows.
func (s *sorter) sender(ctx context.Context, out dataflow.Output, bb *batchBuilder) func(b arrow.RecordBatch, i int) error {
	rows := max(s.rt.BatchRows(), 1)
	return func(b arrow.RecordBatch, i int) error {
		bb.add(b, i)
		if bb.rows >= rows {
			return s.flush(ctx, out, bb)
		}
		return nil
	}
}

func (s *sorter) flush(ctx context.Context, out dataflow.Output, bb *batchBuilder) error {
	if batch := bb.flush(); batch != nil {
		return out.Send(ctx, batch)
	}
	return nil
}

// writeRun sorts the held rows into a new run file and lets them go.
func (s *sorter) writeRun(ctx context.Context) error {
	if len(s.held) == 0 {
		return nil
	}
	if s.spill == nil {
		d, err := newSpillDir(s.rt.Dir(), s.rt.Component())
		if err != nil {
			return err
		}
		s.spill = d
		s.rt.Log().Info("sort spills to the scratch directory", "memory_limit", s.rt.Memory().Limit(), "rows_so_far", s.rows)
	}
	rw, err := s.spill.create(s.schema, s.rt.Allocator())
	if err != nil {
		return err
	}
	err = s.writeTo(ctx, rw, s.each)
	err = errors.Join(err, rw.close(s.spill, err == nil))
	s.drop()
	return err
}

// writeTo writes the rows rows gives to rw in BatchRows batches.
func (s *sorter) writeTo(ctx context.Context, rw *runWriter, rows func(context.Context, func(arrow.RecordBatch, int) error) error) error {
	bb := newBatchBuilder(s.rt.Allocator(), s.schema)
	defer bb.release()
	limit := max(s.rt.BatchRows(), 1)
	err := rows(ctx, func(b arrow.RecordBatch, i int) error {
		bb.add(b, i)
		if bb.rows >= limit {
			return rw.write(bb.flush())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if batch := bb.flush(); batch != nil {
		return rw.write(batch)
	}
	return nil
}

// mergeRuns merges the runs, first into fewer runs while there are more
// than mergeFanIn, and sends the rows in BatchRows batches.
func (s *sorter) mergeRuns(ctx context.Context, out dataflow.Output) error {
	mem := s.rt.Allocator()
	for len(s.spill.runs) > mergeFanIn {
		group := s.spill.runs[:mergeFanIn]
		rest := slices.Clone(s.spill.runs[mergeFanIn:])
		s.spill.runs = nil
		rw, err := s.spill.create(s.schema, mem)
		if err != nil {
			return err
		}
		err = s.writeTo(ctx, rw, func(ctx context.Context, emit func(arrow.RecordBatch, int) error) error {
			emit, release := s.dedupeEmit(emit)
			defer release()
			return merge(ctx, group, mem, s.compare, emit)
		})
		if err := errors.Join(err, rw.close(s.spill, err == nil)); err != nil {
			return err
		}
		// The merged run holds the earliest rows: it goes first, before
		// the rest.
		s.spill.runs = append(s.spill.runs, rest...)
		if err := removeFiles(group); err != nil {
			return err
		}
	}
	bb := newBatchBuilder(mem, s.schema)
	defer bb.release()
	emit, release := s.dedupeEmit(s.sender(ctx, out, bb))
	defer release()
	if err := merge(ctx, s.spill.runs, mem, s.compare, emit); err != nil {
		return err
	}
	return s.flush(ctx, out, bb)
}

// dedupeEmit wraps emit to skip rows whose key equals the previous row's
// when duplicates are removed; the previous row is kept as a one-row
// slice of its batch, since merge's batches move on. Call the returned
// release when done.
func (s *sorter) dedupeEmit(emit func(arrow.RecordBatch, int) error) (func(arrow.RecordBatch, int) error, func()) {
	if !s.dedupe {
		return emit, func() {}
	}
	var last arrow.RecordBatch
	release := func() {
		if last != nil {
			last.Release()
			last = nil
		}
	}
	return func(b arrow.RecordBatch, i int) error {
		if last != nil && s.compare(last, 0, b, i) == 0 {
			return nil
		}
		release()
		last = b.NewSlice(int64(i), int64(i)+1)
		return emit(b, i)
	}, release
}

func removeFiles(paths []string) error {
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			errs = append(errs, fmt.Errorf("removing a merged run: %w", err))
		}
	}
	return errors.Join(errs...)
}
