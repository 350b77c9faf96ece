package fileio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	pqfile "github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
	"github.com/scaleout/scaleout/internal/suggest"
)

// ParquetSource is parquet_source: rows of Parquet files, with the
// schema the first file has.
//
//	settings:
//	  file: sales/*.parquet  # or connection + key/prefix, as csv_source
//	  columns: [id, amount]  # optional: read only these columns, in this order
//
// Every file must have the first file's columns (those read) with the
// same types. Files are read row group by row group, in batches of
// batch_rows; an S3 object is read with ranged requests, never
// downloaded whole.
type ParquetSource struct {
	Clients *s3client.Clients
}

// Info implements dataflow.Type.
func (*ParquetSource) Info() dataflow.Info {
	return dataflow.Info{Doc: "reads rows from Parquet files in the scratch directory or S3"}
}

// Plan implements dataflow.Type.
func (t *ParquetSource) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	src := readSources(s)
	cols, hasCols := s.Strings("columns")
	if hasCols && len(cols) == 0 {
		s.Errorf("columns", "the list is empty: name the columns to read, or leave columns out to read them all")
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if pc.Checking() {
		return &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName}}}, nil
	}
	files, err := src.resolve(pc.Context(), env{pc.Dir(), pc.Connections()}, t.Clients)
	if err != nil {
		return nil, err
	}
	pf, err := openParquet(pc.Context(), files[0], memory.DefaultAllocator, 0)
	if err != nil {
		return nil, err
	}
	defer pf.close()
	sel, schema, err := pf.selection(cols)
	if err != nil {
		return nil, err
	}
	return &dataflow.Plan{
		Outputs: []dataflow.OutputSpec{{Name: dataflow.DefaultOutputName, Schema: schema}},
		Runner:  &parquetRunner{files: files, cols: cols, schema: schema, first: sel},
	}, nil
}

// parquetFile is one open Parquet file.
type parquetFile struct {
	f      file
	closer io.Closer
	fr     *pqarrow.FileReader
}

func openParquet(ctx context.Context, f file, mem memory.Allocator, batchRows int) (*parquetFile, error) {
	var ra parquet.ReaderAtSeeker
	var closer io.Closer
	if f.cl != nil {
		obj, err := newS3ReaderAt(ctx, f)
		if err != nil {
			return nil, err
		}
		ra, closer = obj, io.NopCloser(nil)
	} else {
		fh, err := os.Open(f.path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		ra, closer = fh, fh
	}
	rdr, err := pqfile.NewParquetReader(ra)
	if err != nil {
		_ = closer.Close()
		return nil, fmt.Errorf("reading %s: not a Parquet file: %w", f, err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}, mem)
	if err != nil {
		_ = rdr.Close()
		_ = closer.Close()
		return nil, fmt.Errorf("reading %s: %w", f, err)
	}
	return &parquetFile{f: f, closer: closer, fr: fr}, nil
}

func (p *parquetFile) close() {
	_ = p.fr.ParquetReader().Close()
	_ = p.closer.Close()
}

// selection is the leaf columns to read for the named columns (all when
// names is nil) and the schema they give, without the file's metadata.
func (p *parquetFile) selection(names []string) ([]int, *arrow.Schema, error) {
	full, err := p.fr.Schema()
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: its schema: %w", p.f, err)
	}
	fieldIdx := make([]int, 0, full.NumFields())
	if names == nil {
		for i := range full.NumFields() {
			fieldIdx = append(fieldIdx, i)
		}
	}
	all := make([]string, full.NumFields())
	for i, fld := range full.Fields() {
		all[i] = fld.Name
	}
	var errs []error
	for _, n := range names {
		is := full.FieldIndices(n)
		if len(is) == 0 {
			msg := fmt.Sprintf("settings.columns: %s has no column %q", p.f, n)
			if near := suggest.Closest(n, all); near != "" {
				msg += fmt.Sprintf(": did you mean %q?", near)
			}
			errs = append(errs, errors.New(msg+" (columns: "+clip(strings.Join(all, ", "), 200)+")"))
			continue
		}
		fieldIdx = append(fieldIdx, is[0])
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	var leaves []int
	fields := make([]arrow.Field, len(fieldIdx))
	for i, fi := range fieldIdx {
		leaves = appendLeaves(leaves, &p.fr.Manifest.Fields[fi])
		f := full.Field(fi)
		fields[i] = arrow.Field{Name: f.Name, Type: f.Type, Nullable: f.Nullable}
	}
	return leaves, arrow.NewSchema(fields, nil), nil
}

func appendLeaves(out []int, f *pqarrow.SchemaField) []int {
	if len(f.Children) == 0 {
		return append(out, f.ColIndex)
	}
	for i := range f.Children {
		out = appendLeaves(out, &f.Children[i])
	}
	return out
}

type parquetRunner struct {
	files  []file
	cols   []string
	schema *arrow.Schema
	first  []int
}

// Run implements dataflow.Runner.
func (r *parquetRunner) Run(ctx context.Context, rt dataflow.Runtime) error {
	out := rt.Outputs()[0]
	for _, f := range r.files {
		if err := r.readFile(ctx, rt, out, f); err != nil {
			return err
		}
	}
	return nil
}

func (r *parquetRunner) readFile(ctx context.Context, rt dataflow.Runtime, out dataflow.Output, f file) error {
	pf, err := openParquet(ctx, f, rt.Allocator(), max(rt.BatchRows(), 1))
	if err != nil {
		return err
	}
	defer pf.close()
	leaves, schema, err := pf.selection(r.cols)
	if err != nil {
		return err
	}
	if !schema.Equal(r.schema) {
		return fmt.Errorf("%s has other columns than %s, the first file: %s, not %s",
			f, r.files[0], schemaText(schema), schemaText(r.schema))
	}
	if pf.fr.ParquetReader().NumRowGroups() == 0 {
		return nil
	}
	rr, err := pf.fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", f, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		// The planned schema, without the file's metadata; the columns
		// are retained by the new batch, the reader keeps its own.
		batch := array.NewRecordBatch(r.schema, rec.Columns(), rec.NumRows())
		if err := out.Send(ctx, batch); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s: %w", f, err)
	}
	return nil
}

// schemaText is "name type, ..." for messages.
func schemaText(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + " " + dataflow.TypeName(f.Type)
	}
	return clip(strings.Join(parts, ", "), 300)
}

// s3ReaderAt reads an S3 object by byte ranges: Parquet reads its footer,
// then each column chunk it needs.
type s3ReaderAt struct {
	ctx  context.Context
	f    file
	size int64
	pos  int64
}

func newS3ReaderAt(ctx context.Context, f file) (*s3ReaderAt, error) {
	head, err := f.cl.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(f.key)})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f, err)
	}
	return &s3ReaderAt{ctx: ctx, f: f, size: aws.ToInt64(head.ContentLength)}, nil
}

// ReadAt implements io.ReaderAt.
func (o *s3ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), o.size) - 1
	got, err := o.f.cl.API.GetObject(o.ctx, &s3.GetObjectInput{Bucket: aws.String(o.f.bucket), Key: aws.String(o.f.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end))})
	if err != nil {
		return 0, fmt.Errorf("reading %s at %d: %w", o.f, off, err)
	}
	defer func() { _ = got.Body.Close() }()
	n, err := io.ReadFull(got.Body, p[:end-off+1])
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// Seek implements io.Seeker (Parquet only asks for the size).
func (o *s3ReaderAt) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		o.pos = offset
	case io.SeekCurrent:
		o.pos += offset
	case io.SeekEnd:
		o.pos = o.size + offset
	}
	if o.pos < 0 {
		return 0, fmt.Errorf("seeking %s before its start", o.f)
	}
	return o.pos, nil
}
