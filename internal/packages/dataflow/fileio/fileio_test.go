package fileio_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
	"github.com/scaleout/scaleout/internal/packages/dataflow/fileio"
	"github.com/scaleout/scaleout/internal/packages/s3client"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// clients reach the S3 stand-in with its test credentials.
func clients() *s3client.Clients {
	return &s3client.Clients{PartSize: 5 << 20, LoadConfig: func(ctx context.Context) (aws.Config, error) {
		return config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}}
}

func use() dataflowtest.Option {
	cs := clients()
	return dataflowtest.Use(func(r *dataflow.Registry) { fileio.RegisterWith(r, cs) })
}

// scratch is a scratch directory holding files.
func scratch(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	return dir
}

func withDir(dir string) dataflowtest.Option { return dataflowtest.WithEnv(dataflow.Env{Dir: dir}) }

// s3Env is a fresh bucket and the connections naming it "files".
func s3Env(t *testing.T) (testenv.S3, dataflowtest.Option) {
	t.Helper()
	b := testenv.S3Bucket(t)
	set, err := connection.NewSet([]connection.Connection{b.Connection}, connection.Limits{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })
	return b, dataflowtest.WithEnv(dataflow.Env{Dir: t.TempDir(), Connections: set})
}

func putObject(t *testing.T, b testenv.S3, key string, body []byte) {
	t.Helper()
	_, err := b.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	require.NoError(t, err)
}

func getObject(t *testing.T, b testenv.S3, key string) []byte {
	t.Helper()
	out, err := b.Client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer func() { _ = out.Body.Close() }()
	data, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return data
}

func TestCSVSourceTypesAndRedirectsBadRows(t *testing.T) {
	t.Parallel()
	dir := scratch(t, map[string]string{"in/sales.csv": "id,amount,day,ok,note\n" +
		"1,2.5,2024-01-02,true,first\n" +
		"2,x,2024-01-03,false,bad amount\n" +
		"3,4,2024-01-04,true,\n" +
		"4,1.5,2024-01-05\n" +
		"5,7,not a day,true,bad day\n" +
		"6,8,2024-01-07,false,\"quoted, comma\"\n"})
	res := dataflowtest.MustRun(t, `
batch_rows: 2
components:
  - name: read
    type: csv_source
    on_error: redirect
    settings:
      file: in/*.csv
      columns:
        - {name: id, type: int64}
        - {name: amount, type: float64}
        - {name: day, type: date}
        - {name: ok, type: bool}
        - {name: note, type: string}
  - {name: good, type: collect, input: read}
  - {name: bad, type: collect, input: read.error}
`, use(), withDir(dir))
	good := res.Collected("good")
	require.Equal(t, []any{int64(1), int64(3), int64(6)}, good.Column("id"))
	assert.Equal(t, []any{2.5, 4.0, 8.0}, good.Column("amount"))
	assert.Equal(t, []any{"first", nil, "quoted, comma"}, good.Column("note"), "an empty field is null")
	assert.Equal(t, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), good.Column("day")[0])
	assert.GreaterOrEqual(t, good.Batches(), 2, "batches of batch_rows")

	bad := res.Collected("bad").Maps()
	require.Len(t, bad, 3)
	assert.Equal(t, "2", bad[0]["id"])
	assert.Equal(t, "x", bad[0]["amount"], "the rejected row's values, as text")
	assert.Equal(t, "read", bad[0][dataflow.ErrorComponentColumn])
	assert.Contains(t, bad[0][dataflow.ErrorReasonColumn], `in/sales.csv line 3: column "amount": "x" is not a float64`)
	assert.Contains(t, bad[1][dataflow.ErrorReasonColumn], "line 5: 3 fields, want 5")
	assert.Contains(t, bad[2][dataflow.ErrorReasonColumn], `line 6: column "day": "not a day" is not a date`)
}

func TestCSVSourceFailsOnBadRowByDefault(t *testing.T) {
	t.Parallel()
	dir := scratch(t, map[string]string{"a.csv": "id\n1\nnope\n"})
	res := dataflowtest.Run(t, `
components:
  - {name: read, type: csv_source, settings: {file: a.csv, columns: [{name: id, type: int32}]}}
  - {name: out, type: collect, input: read}
`, use(), withDir(dir))
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), `a.csv line 3: column "id": "nope" is not a int32`)
}

func TestCSVSourceWithoutDeclaredColumns(t *testing.T) {
	t.Parallel()
	dir := scratch(t, map[string]string{"h.csv": "\uFEFFname;city\nAda;London\nLin;NULL\n", "n.tsv": "a\tb\n"})
	res := dataflowtest.MustRun(t, `
components:
  - {name: read, type: csv_source, settings: {file: h.csv, delimiter: ";", null_value: "NULL"}}
  - {name: out, type: collect, input: read}
  - {name: raw, type: csv_source, settings: {file: n.tsv, header: false, delimiter: tab}}
  - {name: out2, type: collect, input: raw}
`, use(), withDir(dir))
	assert.Equal(t, []map[string]any{{"name": "Ada", "city": "London"}, {"name": "Lin", "city": nil}}, res.Collected("out").Maps())
	assert.Equal(t, []map[string]any{{"column1": "a", "column2": "b"}}, res.Collected("out2").Maps())
}

func TestCSVSourceHeaderMissingColumn(t *testing.T) {
	t.Parallel()
	dir := scratch(t, map[string]string{"a.csv": "id,amount\n1,2\n"})
	res := dataflowtest.Run(t, `
components:
  - {name: read, type: csv_source, settings: {file: a.csv, columns: [{name: amuont, type: float64}]}}
  - {name: out, type: collect, input: read}
`, use(), withDir(dir))
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), `the header has no column "amuont": did you mean "amount"?`)
}

func TestSettingsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ graph, want string }{
		{`{name: r, type: csv_source, settings: {file: a.csv, delimeter: ";"}}`, `unknown setting: did you mean "delimiter"?`},
		{`{name: r, type: csv_source, settings: {file: a.csv, connection: files, key: a.csv}}`, "not both"},
		{`{name: r, type: csv_source, settings: {}}`, "settings.file: required"},
		{`{name: r, type: csv_source, settings: {file: a.csv, delimiter: ";;"}}`, `settings.delimiter: ";;": want one character`},
		{`{name: r, type: csv_source, settings: {file: a.csv, columns: [{name: id, type: strng}]}}`, `did you mean "string"`},
		{`{name: r, type: jsonl_source, settings: {file: a.jsonl}}`, "settings.columns: required"},
		{`{name: r, type: csv_source, settings: {connection: files}}`, "settings.key: required"},
		{`{name: r, type: parquet_source, settings: {connection: files, key: a, prefix: b}}`, "not both"},
	} {
		err := dataflowtest.Check(t, "components:\n  - "+tc.graph+"\n", use())
		if assert.Error(t, err, tc.graph) {
			assert.Contains(t, err.Error(), tc.want, tc.graph)
		}
	}
	for _, tc := range []struct{ dest, want string }{
		{`{file: "../x.csv"}`, "outside the scratch directory"},
		{`{file: "out/*.csv"}`, "not a glob"},
		{`{connection: files}`, "settings.key: required"},
		{`{connection: files, key: "out/*.csv"}`, "is a glob"},
		{`{file: a.csv, columns: [idd]}`, `the input has no column "idd": did you mean "id"?`},
		{`{file: a.csv, compression: lz5}`, `unknown setting`},
	} {
		g := "components:\n  - {name: v, type: values, settings: {columns: [{name: id, type: int64}], rows: [[1]]}}\n" +
			"  - {name: w, type: csv_destination, input: v, settings: " + tc.dest + "}\n"
		err := dataflowtest.Check(t, g, use())
		if assert.Error(t, err, tc.dest) {
			assert.Contains(t, err.Error(), tc.want, tc.dest)
		}
	}
}

func TestJSONLSource(t *testing.T) {
	t.Parallel()
	dir := scratch(t, map[string]string{"e.jsonl": `{"id": 1, "tags": ["a","b"], "at": "2024-05-01T10:00:00Z", "name": "x"}
{"id": "2", "name": null}

not json
{"id": 3.5, "name": "y"}
{"id": 4, "extra": true}
`})
	res := dataflowtest.MustRun(t, `
components:
  - name: read
    type: jsonl_source
    on_error: redirect
    settings:
      file: e.jsonl
      columns: [{name: id, type: int64}, {name: name, type: string}, {name: tags, type: string}, {name: at, type: timestamp}]
  - {name: good, type: collect, input: read}
  - {name: bad, type: collect, input: read.error}
`, use(), withDir(dir))
	good := res.Collected("good").Maps()
	require.Len(t, good, 3)
	assert.Equal(t, map[string]any{"id": int64(1), "name": "x", "tags": `["a","b"]`,
		"at": time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}, good[0])
	assert.Equal(t, map[string]any{"id": int64(2), "name": nil, "tags": nil, "at": nil}, good[1])
	assert.Equal(t, int64(4), good[2]["id"])
	bad := res.Collected("bad").Maps()
	require.Len(t, bad, 2)
	assert.Contains(t, bad[0][dataflow.ErrorReasonColumn], "e.jsonl line 4: not a JSON object")
	assert.Contains(t, bad[1][dataflow.ErrorReasonColumn], `e.jsonl line 5: column "id": "3.5" is not a int64`)
	assert.Equal(t, "3.5", bad[1]["id"])
}

// bigCSV writes rows lines of id,name,amount.
func bigCSV(rows int) string {
	var b strings.Builder
	b.WriteString("id,name,amount\n")
	for i := range rows {
		fmt.Fprintf(&b, "%d,name-%d,%d.25\n", i, i%97, i%1000)
	}
	return b.String()
}

func TestLargeFileRoundTripsThroughEveryFormat(t *testing.T) {
	t.Parallel()
	const rows = 25_000
	dir := scratch(t, map[string]string{"big.csv": bigCSV(rows)})
	cols := `[{name: id, type: int64}, {name: name, type: string}, {name: amount, type: float64}]`
	dataflowtest.MustRun(t, `
batch_rows: 1000
components:
  - {name: read, type: csv_source, settings: {file: big.csv, columns: `+cols+`}}
  - {name: write, type: parquet_destination, input: read, settings: {file: out/big.parquet, row_group_rows: 7000}}
`, use(), withDir(dir))
	dataflowtest.MustRun(t, `
batch_rows: 1000
components:
  - {name: read, type: parquet_source, settings: {file: out/big.parquet}}
  - {name: write, type: jsonl_destination, input: read, settings: {file: out/big.jsonl.gz}}
`, use(), withDir(dir))
	dataflowtest.MustRun(t, `
batch_rows: 1000
components:
  - {name: read, type: jsonl_source, settings: {file: out/big.jsonl.gz, columns: `+cols+`}}
  - {name: write, type: csv_destination, input: read, settings: {file: out/again.csv}}
`, use(), withDir(dir))
	again, err := os.ReadFile(filepath.Join(dir, "out/again.csv"))
	require.NoError(t, err)
	assert.Equal(t, bigCSV(rows), string(again), "CSV -> Parquet -> JSON Lines (gzip) -> CSV keeps every row")

	res := dataflowtest.MustRun(t, `
batch_rows: 1000
components:
  - {name: read, type: parquet_source, settings: {file: "out/*.parquet", columns: [amount, id]}}
  - {name: out, type: collect, input: read, settings: {keep: false}}
`, use(), withDir(dir))
	c := res.Collected("out")
	assert.Equal(t, int64(rows), c.Count())
	assert.GreaterOrEqual(t, c.Batches(), rows/1000, "read in batches, not whole")
	assert.Equal(t, []string{"amount", "id"}, []string{c.Schema().Field(0).Name, c.Schema().Field(1).Name})
	entries, err := os.ReadDir(filepath.Join(dir, "out"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".partial", "no temporary file left")
	}
}

func TestDestinationOverwrite(t *testing.T) {
	t.Parallel()
	dir := scratch(t, map[string]string{"out.csv": "old\n"})
	g := func(extra string) string {
		return `
components:
  - {name: v, type: values, settings: {columns: [{name: id, type: int64}, {name: s, type: string}], rows: [[1, "a"], [2, null]]}}
  - {name: w, type: csv_destination, input: v, settings: {file: out.csv, null_value: "\\N"` + extra + `}}
`
	}
	res := dataflowtest.Run(t, g(""), use(), withDir(dir))
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "out.csv exists; set overwrite: true")
	dataflowtest.MustRun(t, g(", overwrite: true"), use(), withDir(dir))
	data, err := os.ReadFile(filepath.Join(dir, "out.csv"))
	require.NoError(t, err)
	assert.Equal(t, "id,s\n1,a\n2,\\N\n", string(data))
}

func TestEmptyInputWritesHeader(t *testing.T) {
	t.Parallel()
	dir := scratch(t, map[string]string{"in.csv": "id,name\n"})
	dataflowtest.MustRun(t, `
components:
  - {name: r, type: csv_source, settings: {file: in.csv}}
  - {name: w, type: csv_destination, input: r, settings: {file: out.csv, delimiter: "|"}}
`, use(), withDir(dir))
	data, err := os.ReadFile(filepath.Join(dir, "out.csv"))
	require.NoError(t, err)
	assert.Equal(t, "id|name\n", string(data))
}

func TestS3SourcesAndDestinations(t *testing.T) {
	t.Parallel()
	b, env := s3Env(t)
	putObject(t, b, "in/a.csv", []byte("id,name\n1,one\n2,two\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("id,name\n3,three\n"))
	require.NoError(t, zw.Close())
	putObject(t, b, "in/b.csv.gz", gz.Bytes())
	putObject(t, b, "other/c.csv", []byte("id,name\n9,nine\n"))

	dataflowtest.MustRun(t, `
components:
  - {name: read, type: csv_source, settings: {connection: files, key: "in/*", columns: [{name: id, type: int64}, {name: name, type: string}]}}
  - {name: write, type: parquet_destination, input: read, settings: {connection: files, key: out/all.parquet}}
`, use(), env)
	res := dataflowtest.MustRun(t, `
components:
  - {name: read, type: parquet_source, settings: {connection: files, prefix: out/}}
  - {name: write, type: jsonl_destination, input: read, settings: {connection: files, key: out/all.jsonl}}
  - {name: again, type: csv_source, settings: {connection: files, key: [other/c.csv, in/a.csv]}}
  - {name: out, type: collect, input: again}
`, use(), env)
	assert.Equal(t, `{"id":1,"name":"one"}`+"\n"+`{"id":2,"name":"two"}`+"\n"+`{"id":3,"name":"three"}`+"\n",
		string(getObject(t, b, "out/all.jsonl")))
	assert.Equal(t, []any{"9", "1", "2"}, res.Collected("out").Column("id"), "keys in the order listed")

	res = dataflowtest.Run(t, `
components:
  - {name: read, type: csv_source, settings: {connection: files, key: "nothing/*.csv"}}
  - {name: out, type: collect, input: read}
`, use(), env)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), `settings.key "nothing/*.csv": no object in s3://`+b.Bucket+" matches it")

	res = dataflowtest.Run(t, `
components:
  - {name: v, type: values, settings: {columns: [{name: id, type: int64}], rows: [[1]]}}
  - {name: w, type: csv_destination, input: v, settings: {connection: files, key: out/all.jsonl}}
`, use(), env)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "out/all.jsonl exists; set overwrite: true")
}

func TestStopMidFlowLeavesNoFile(t *testing.T) {
	t.Parallel()
	b, env := s3Env(t)
	dir := t.TempDir()
	for _, dest := range []string{`{file: out/endless.csv}`, `{connection: files, key: out/endless.parquet}`} {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(300*time.Millisecond, cancel)
		opt := withDir(dir)
		typ := "csv_destination"
		if strings.Contains(dest, "connection") {
			opt, typ = env, "parquet_destination"
		}
		start := time.Now()
		res := dataflowtest.Run(t, `
batch_rows: 100
components:
  - {name: v, type: values, settings: {columns: [{name: id, type: int64}, {name: s, type: string}], rows: [[1, "a"], [2, "b"]], repeat: -1}}
  - {name: w, type: `+typ+`, input: v, settings: `+dest+`}
`, use(), opt, dataflowtest.WithContext(ctx))
		cancel()
		require.Error(t, res.Err, dest)
		assert.ErrorIs(t, res.Err, context.Canceled, dest)
		assert.Less(t, time.Since(start), 10*time.Second, "a stop ends the flow promptly")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "out"))
	require.NoError(t, err)
	assert.Empty(t, entries, "a stopped flow leaves neither the file nor a temporary one")
	_, err = b.Client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String("out/endless.parquet")})
	assert.Error(t, err, "a stopped flow leaves no object")
}

func TestValidationKnowsTheS3Connection(t *testing.T) {
	t.Parallel()
	reg := dataflowtest.Registry(func(r *dataflow.Registry) { fileio.RegisterWith(r, clients()) })
	refs := dataflow.NamedConnections(reg, dataflowtest.Graph(t, `
components:
  - {name: r, type: csv_source, settings: {connection: files, key: a.csv}}
  - {name: w, type: parquet_destination, input: r, settings: {connection: out, key: b.parquet}}
`))
	require.Len(t, refs, 2)
	for _, r := range refs {
		assert.Equal(t, []connection.Kind{connection.S3}, r.Kinds, r.Name)
	}
}

func TestLargeS3ObjectsStreamInBatches(t *testing.T) {
	t.Parallel()
	const rows = 20_000
	b, env := s3Env(t)
	putObject(t, b, "in/big.csv", []byte(bigCSV(rows)))
	dataflowtest.MustRun(t, `
batch_rows: 1000
components:
  - {name: read, type: csv_source, settings: {connection: files, key: in/big.csv, columns: [{name: id, type: int64}, {name: name, type: string}, {name: amount, type: float64}]}}
  - {name: write, type: parquet_destination, input: read, settings: {connection: files, key: out/big.parquet, row_group_rows: 3000, compression: zstd}}
`, use(), env)
	res := dataflowtest.MustRun(t, `
batch_rows: 1000
tap: {path: read, rows: 3}
components:
  - {name: read, type: parquet_source, settings: {connection: files, key: "out/*.parquet", columns: [id, name]}}
  - {name: out, type: collect, input: read, settings: {keep: false}}
`, use(), env)
	c := res.Collected("out")
	assert.Equal(t, int64(rows), c.Count())
	assert.GreaterOrEqual(t, c.Batches(), rows/1000, "several row groups, read in batches by ranges")
	assert.EqualValues(t, rows, res.Output["rows_read"])
}
