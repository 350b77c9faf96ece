package transform

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file holds sort's spilling: sorted runs written to Arrow IPC files
// in a temporary folder of the scratch directory, and the k-way merge that
// reads them back one batch per run at a time.

// mergeFanIn is the most runs merged at once: past it, runs are first
// merged into longer runs, so the merge holds at most this many batches.
const mergeFanIn = 64

// spillDir is the temporary folder of one sort's runs.
type spillDir struct {
	dir  string
	runs []string
	next int
}

// newSpillDir makes a folder for a component's runs in dir (the scratch
// directory; the system's temporary folder when dir is "").
func newSpillDir(dir, component string) (*spillDir, error) {
	d, err := os.MkdirTemp(dir, ".sort-"+component+"-*")
	if err != nil {
		return nil, fmt.Errorf("making a folder for sorted runs: %w", err)
	}
	return &spillDir{dir: d}, nil
}

// remove deletes the folder and every run in it.
func (s *spillDir) remove() error {
	if s == nil {
		return nil
	}
	return os.RemoveAll(s.dir)
}

// runWriter writes one sorted run.
type runWriter struct {
	f    *os.File
	w    *ipc.FileWriter
	path string
}

func (s *spillDir) create(schema *arrow.Schema, mem memory.Allocator) (*runWriter, error) {
	s.next++
	path := filepath.Join(s.dir, fmt.Sprintf("run-%05d.arrow", s.next))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("writing a sorted run: %w", err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("writing a sorted run: %w", err)
	}
	return &runWriter{f: f, w: w, path: path}, nil
}

// write writes batch and releases it.
func (rw *runWriter) write(batch arrow.RecordBatch) error {
	defer batch.Release()
	if err := rw.w.Write(batch); err != nil {
		return fmt.Errorf("writing a sorted run to %s: %w", rw.path, err)
	}
	return nil
}

// close finishes the file; with keep it joins the folder's runs.
func (rw *runWriter) close(s *spillDir, keep bool) error {
	err := errors.Join(rw.w.Close(), rw.f.Close())
	if err != nil {
		err = fmt.Errorf("writing a sorted run to %s: %w", rw.path, err)
	}
	if keep && err == nil {
		s.runs = append(s.runs, rw.path)
	}
	return err
}

// runReader reads one run back, one batch at a time.
type runReader struct {
	order int // the run's place: earlier runs hold earlier input rows
	f     *os.File
	r     *ipc.FileReader
	next  int
	batch arrow.RecordBatch
	row   int
}

func openRun(path string, order int, mem memory.Allocator) (*runReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading a sorted run: %w", err)
	}
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("reading the sorted run %s: %w", path, err)
	}
	return &runReader{order: order, f: f, r: r}, nil
}

// advance moves to the run's next row; false at its end.
func (rr *runReader) advance() (bool, error) {
	rr.row++
	for rr.batch == nil || rr.row >= int(rr.batch.NumRows()) {
		if rr.batch != nil {
			rr.batch.Release()
			rr.batch = nil
		}
		if rr.next >= rr.r.NumRecords() {
			return false, nil
		}
		b, err := rr.r.RecordBatchAt(rr.next)
		if err != nil {
			return false, fmt.Errorf("reading a sorted run: %w", err)
		}
		rr.next++
		rr.batch, rr.row = b, 0
	}
	return true, nil
}

func (rr *runReader) close() error {
	if rr.batch != nil {
		rr.batch.Release()
		rr.batch = nil
	}
	return errors.Join(rr.r.Close(), rr.f.Close())
}

// mergeHeap orders open runs by their current row, then by run order so
// equal rows keep their input order (the sort is stable).
type mergeHeap struct {
	runs []*runReader
	cmp  func(a arrow.RecordBatch, i int, b arrow.RecordBatch, j int) int
}

func (h *mergeHeap) Len() int { return len(h.runs) }
func (h *mergeHeap) Less(i, j int) bool {
	a, b := h.runs[i], h.runs[j]
	if c := h.cmp(a.batch, a.row, b.batch, b.row); c != 0 {
		return c < 0
	}
	return a.order < b.order
}
func (h *mergeHeap) Swap(i, j int) { h.runs[i], h.runs[j] = h.runs[j], h.runs[i] }
func (h *mergeHeap) Push(x any)    { h.runs = append(h.runs, x.(*runReader)) }
func (h *mergeHeap) Pop() any {
	last := h.runs[len(h.runs)-1]
	h.runs = h.runs[:len(h.runs)-1]
	return last
}

// merge reads paths (sorted runs, in input order) and hands every row, in
// order, to emit; the batch it gets is valid during the call only.
func merge(ctx context.Context, paths []string, mem memory.Allocator,
	cmp func(a arrow.RecordBatch, i int, b arrow.RecordBatch, j int) int,
	emit func(batch arrow.RecordBatch, i int) error) (err error) {
	h := &mergeHeap{cmp: cmp}
	var open []*runReader
	defer func() {
		for _, rr := range open {
			err = errors.Join(err, rr.close())
		}
	}()
	for n, p := range paths {
		rr, err := openRun(p, n, mem)
		if err != nil {
			return err
		}
		open = append(open, rr)
		rr.row = -1
		ok, err := rr.advance()
		if err != nil {
			return err
		}
		if ok {
			h.runs = append(h.runs, rr)
		}
	}
	heap.Init(h)
	for n := 0; h.Len() > 0; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		top := h.runs[0]
		if err := emit(top.batch, top.row); err != nil {
			return err
		}
		ok, err := top.advance()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}
