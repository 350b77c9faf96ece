package fileio

import (
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
)

// DefaultRowGroupRows is the rows of a Parquet row group by default.
const DefaultRowGroupRows = 128 * 1024

// compressions are the codecs parquet_destination offers.
var compressions = map[string]compress.Compression{
	"snappy": compress.Codecs.Snappy, "zstd": compress.Codecs.Zstd, "gzip": compress.Codecs.Gzip,
	"none": compress.Codecs.Uncompressed,
}

// ParquetDestination is parquet_destination: its input's rows into one
// Parquet file, with its input's schema.
//
//	settings:
//	  file: out/sales.parquet   # or connection: files, key: out/sales.parquet
//	  overwrite: false
//	  compression: snappy       # snappy (default), zstd, gzip or none
//	  row_group_rows: 131072    # rows per row group
//	  columns: [id, amount]     # optional: the input columns written, in order
//
// Rows are encoded as they come, one row group at a time: memory holds
// one row group's encoded pages, whatever the file's size.
type ParquetDestination struct {
	Clients *s3client.Clients
}

// Info implements dataflow.Type.
func (*ParquetDestination) Info() dataflow.Info {
	return destinationInfo("writes its input to a Parquet file in the scratch directory or S3")
}

// Plan implements dataflow.Type.
func (t *ParquetDestination) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	s := pc.Settings
	d := planDestination(pc, t.Clients)
	codec := compressions[s.Enum("compression", "snappy", "snappy", "zstd", "gzip", "none")]
	rowGroup := s.Int("row_group_rows", DefaultRowGroupRows, 1, math.MaxInt32)
	d.encode = func(w io.Writer, rt dataflow.Runtime) (encoder, error) {
		props := parquet.NewWriterProperties(parquet.WithCompression(codec), parquet.WithAllocator(rt.Allocator()),
			parquet.WithMaxRowGroupLength(int64(rowGroup)))
		fw, err := pqarrow.NewFileWriter(d.schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(),
			pqarrow.WithAllocator(rt.Allocator())))
		if err != nil {
			return nil, err
		}
		return parquetEncoder{fw}, nil
	}
	return d.finish(pc)
}

type parquetEncoder struct{ fw *pqarrow.FileWriter }

func (e parquetEncoder) write(rec arrow.RecordBatch) error { return e.fw.WriteBuffered(rec) }
func (e parquetEncoder) close() error                      { return e.fw.Close() }
