package fileio

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
	"github.com/scaleout/scaleout/internal/suggest"
)

// writeBufferSize is the write buffer of destinations.
const writeBufferSize = 1 << 20

// encoder writes batches in one file format.
type encoder interface {
	write(rec arrow.RecordBatch) error
	// close ends the file (a footer, a header of an empty CSV).
	close() error
}

// destination is what every file destination shares: where it writes,
// the columns it writes, and how it encodes them.
type destination struct {
	clients *s3client.Clients
	target  target
	cols    []int         // the input columns written, in order
	schema  *arrow.Schema // the schema written
	gz      bool          // gzip when the name ends in .gz
	encode  func(w io.Writer, rt dataflow.Runtime) (encoder, error)
}

// readColumns reads the optional `columns` a destination writes (names
// of its input's columns, in the order written): all when absent.
func readColumns(s *dataflow.Settings, in *arrow.Schema) ([]int, *arrow.Schema) {
	names, has := s.Strings("columns")
	if has && len(names) == 0 {
		s.Errorf("columns", "the list is empty: name the columns to write, or leave columns out to write them all")
	}
	if in == nil {
		return nil, nil
	}
	if !has {
		idx := make([]int, in.NumFields())
		for i := range idx {
			idx[i] = i
		}
		return idx, in
	}
	all := make([]string, in.NumFields())
	for i, f := range in.Fields() {
		all[i] = f.Name
	}
	idx := make([]int, 0, len(names))
	fields := make([]arrow.Field, 0, len(names))
	for _, n := range names {
		is := in.FieldIndices(n)
		if len(is) == 0 {
			msg := fmt.Sprintf("the input has no column %q", n)
			if near := suggest.Closest(n, all); near != "" {
				msg += fmt.Sprintf(": did you mean %q?", near)
			}
			s.Errorf("columns", "%s (input: %s)", msg, clip(strings.Join(all, ", "), 200))
			continue
		}
		idx = append(idx, is[0])
		fields = append(fields, in.Field(is[0]))
	}
	return idx, arrow.NewSchema(fields, nil)
}

// Run implements dataflow.Runner: it writes every input batch, then makes
// the file; on any error (or a stop) it drops what it wrote.
func (d *destination) Run(ctx context.Context, rt dataflow.Runtime) (err error) {
	in := rt.Inputs()[0]
	sk, err := d.target.open(ctx, env{rt.Dir(), rt.Connections()}, d.clients, d.gz)
	if err != nil {
		return err
	}
	var enc encoder
	defer func() {
		if err != nil {
			if enc != nil {
				// Frees what the encoder holds (a row group's pages);
				// what it writes goes nowhere.
				_ = enc.close()
			}
			sk.abort(err)
		}
	}()
	bw := bufio.NewWriterSize(sk.w, writeBufferSize)
	if enc, err = d.encode(bw, rt); err != nil {
		return err
	}
	for {
		rec, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		err = d.write(enc, rec)
		rec.Release()
		if err != nil {
			return fmt.Errorf("writing %s: %w", sk.name, err)
		}
	}
	err = enc.close()
	enc = nil
	if err != nil {
		return fmt.Errorf("writing %s: %w", sk.name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", sk.name, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := sk.commit(); err != nil {
		return fmt.Errorf("writing %s: %w", sk.name, err)
	}
	return nil
}

// write writes rec's chosen columns.
func (d *destination) write(enc encoder, rec arrow.RecordBatch) error {
	if len(d.cols) == int(rec.NumCols()) && isIdentity(d.cols) {
		if rec.Schema().Equal(d.schema) {
			return enc.write(rec)
		}
	}
	cols := make([]arrow.Array, len(d.cols))
	for i, c := range d.cols {
		cols[i] = rec.Column(c)
	}
	sub := array.NewRecordBatch(d.schema, cols, rec.NumRows())
	defer sub.Release()
	return enc.write(sub)
}

func isIdentity(idx []int) bool {
	for i, c := range idx {
		if i != c {
			return false
		}
	}
	return true
}

// destinationInfo is the Info of every file destination.
func destinationInfo(doc string) dataflow.Info {
	return dataflow.Info{Doc: doc, MinInputs: 1, MaxInputs: 1}
}

// planDestination reads the settings every file destination has; the
// caller reads its own, then calls finish.
func planDestination(pc *dataflow.PlanContext, clients *s3client.Clients) *destination {
	s := pc.Settings
	d := &destination{clients: clients, target: readTarget(s)}
	var in *arrow.Schema
	if len(pc.Inputs) > 0 {
		in = pc.Inputs[0].Schema
	}
	d.cols, d.schema = readColumns(s, in)
	return d
}

// finish ends a destination's Plan: settings errors, or its plan.
func (d *destination) finish(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	if err := pc.Settings.Err(); err != nil {
		return nil, err
	}
	if pc.Checking() {
		return &dataflow.Plan{}, nil
	}
	return &dataflow.Plan{Runner: d}, nil
}
