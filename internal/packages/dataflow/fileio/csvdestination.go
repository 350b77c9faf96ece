package fileio

import (
	"encoding/csv"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
)

// CSVDestination is csv_destination: its input's rows into one CSV file.
//
//	settings:
//	  file: out/sales.csv    # or connection: files, key: out/sales.csv
//	  overwrite: false       # replace an existing file (default: fail)
//	  header: true           # a first line of column names (default true)
//	  delimiter: ","
//	  null_value: ""         # what a null is written as
//	  columns: [id, amount]  # optional: the input columns written, in order
//
// Dates are written 2006-01-02, timestamps 2006-01-02 15:04:05.999999999
// (as csv_source reads them back), binary values in base64.
type CSVDestination struct {
	Clients *s3client.Clients
}

// Info implements dataflow.Type.
func (*CSVDestination) Info() dataflow.Info {
	return destinationInfo("writes its input to a CSV file in the scratch directory or S3")
}

// Plan implements dataflow.Type.
func (t *CSVDestination) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	d := planDestination(pc, t.Clients)
	header := s.Bool("header", true)
	delim := readDelimiter(s, "delimiter")
	null, _ := s.String("null_value")
	if d.schema != nil {
		for _, f := range d.schema.Fields() {
			if !flatType(f.Type) {
				s.Errorf("columns", "column %q is a %s: CSV holds only flat values (convert it, or leave it out with columns)", f.Name, f.Type)
			}
		}
	}
	d.gz = true
	d.encode = func(w io.Writer, _ dataflow.Runtime) (encoder, error) {
		cw := arrowcsv.NewWriter(w, d.schema, arrowcsv.WithComma(delim), arrowcsv.WithHeader(header), arrowcsv.WithNullWriter(null))
		return &csvEncoder{w: w, cw: cw, header: header, delim: delim, schema: d.schema}, nil
	}
	return d.finish(pc)
}

// flatType tells the types a CSV field can hold.
func flatType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW,
		arrow.STRUCT, arrow.MAP, arrow.SPARSE_UNION, arrow.DENSE_UNION, arrow.DICTIONARY, arrow.RUN_END_ENCODED:
		return false
	}
	return true
}

// csvEncoder writes through Arrow's CSV writer, which formats each
// column at once from its array.
type csvEncoder struct {
	w      io.Writer
	cw     *arrowcsv.Writer
	header bool
	delim  rune
	schema *arrow.Schema
	rows   int64
}

func (e *csvEncoder) write(rec arrow.RecordBatch) error {
	e.rows += rec.NumRows()
	return e.cw.Write(rec)
}

func (e *csvEncoder) close() error {
	if e.rows == 0 && e.header {
		// Arrow's writer writes the header with the first rows: an
		// empty input still gets one.
		w := csv.NewWriter(e.w)
		w.Comma = e.delim
		names := make([]string, e.schema.NumFields())
		for i, f := range e.schema.Fields() {
			names[i] = f.Name
		}
		if err := w.Write(names); err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	}
	return e.cw.Flush()
}
