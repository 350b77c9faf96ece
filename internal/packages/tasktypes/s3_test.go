package tasktypes

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/localstack/s3standin"
)

func TestS3Check(t *testing.T) {
	t.Parallel()
	runCheckCases(t, &S3{}, []checkCase{
		{name: "list", with: obj{"connection": "files", "op": "list", "prefix": "in/", "glob": "in/**.csv", "newer_than": "24h", "limit": 10}},
		{name: "get one", with: obj{"connection": "files", "op": "get", "key": "in/a.csv", "to": "data/"}},
		{name: "put a glob", with: obj{"connection": "files", "op": "put", "from": "out/*.csv", "prefix": "done/"}},
		{name: "move", with: obj{"connection": "files", "op": "move", "glob": "in/*.csv", "to_prefix": "archive/", "to_connection": "other"}},
		{name: "delete all, said so", with: obj{"connection": "files", "op": "delete", "glob": "**"}},
		{name: "newer than a time", with: obj{"connection": "files", "op": "list", "newer_than": "2026-11-01T00:00:00Z"}},
		{name: "interpolations", with: obj{"connection": "${params.conn}", "op": "get", "key": "${item}", "to": "${params.dir}"}},
		{name: "op known at run time", with: obj{"connection": "files", "op": "${params.op}", "key": "k"}},
		{name: "nothing", with: obj{}, errs: []string{"with.connection: required", "with.op: required: one of list, get, put, copy, move, delete"}},
		{name: "op misspelt", with: obj{"connection": "files", "op": "lsit"},
			errs: []string{`with.op "lsit": unknown operation (known: list, get, put, copy, move, delete); did you mean "list"?`}},
		{name: "setting misspelt", with: obj{"connection": "files", "op": "list", "prefx": "x"},
			errs: []string{`with.prefx: unknown setting: did you mean "prefix"?`}},
		{name: "to is get's", with: obj{"connection": "files", "op": "list", "to": "x"},
			errs: []string{"with.to: unknown setting (known: connection, glob, limit, newer_than, op, prefix)"}},
		{name: "key and prefix", with: obj{"connection": "files", "op": "get", "key": "a", "prefix": "b/"},
			errs: []string{"with.key names one object: leave out with.prefix"}},
		{name: "get what", with: obj{"connection": "files", "op": "get"}, errs: []string{"with.key: required: one object's key"}},
		{name: "delete the bucket by mistake", with: obj{"connection": "files", "op": "delete", "prefix": ""},
			errs: []string{`with.prefix "": an empty prefix is the whole bucket`}},
		{name: "put nothing", with: obj{"connection": "files", "op": "put"}, errs: []string{"with.from: required"}},
		{name: "absolute", with: obj{"connection": "files", "op": "put", "from": "/etc/passwd"},
			errs: []string{`with.from "/etc/passwd": must be relative to the run's scratch directory`}},
		{name: "out of the directory", with: obj{"connection": "files", "op": "get", "key": "a", "to": "data/../../x"},
			errs: []string{`with.to "data/../../x": must stay inside the run's scratch directory`}},
		{name: "bad glob", with: obj{"connection": "files", "op": "list", "glob": "in/[abc"},
			errs: []string{`with.glob "in/[abc": a [ is not closed with ]`}},
		{name: "bad age", with: obj{"connection": "files", "op": "list", "newer_than": "yesterday"},
			errs: []string{`with.newer_than "yesterday": write an age such as "24h"`}},
		{name: "limit", with: obj{"connection": "files", "op": "list", "limit": 0},
			errs: []string{"with.limit 0: want a whole number from 1 to 100000"}},
		{name: "copy where", with: obj{"connection": "files", "op": "copy", "prefix": "in/"},
			errs: []string{"with.to_prefix: required: where the objects go"}},
		{name: "to_key for many", with: obj{"connection": "files", "op": "copy", "prefix": "in/", "to_key": "x"},
			errs: []string{"with.to_key is for one object (with.key)"}},
		{name: "key and prefix for put", with: obj{"connection": "files", "op": "put", "from": "a", "key": "k", "prefix": "p/"},
			errs: []string{"give one of them"}},
		{name: "connection not a name", with: obj{"connection": list("a"), "op": "list"},
			errs: []string{`with.connection ["a"]: want a connection name, not a list`}},
	})
}

// s3Bundle is an s3 task type on a bucket of the test's own.
type s3Bundle struct {
	typ   *S3
	env   testenv.S3
	dir   string
	conns *connection.Set
	loads *atomic.Int32 // LoadConfig calls
}

// setupS3 gives the test a bucket on the shared stand-in, or on endpoint
// when given, a scratch directory and the type.
func setupS3(t *testing.T, endpoint string, now func() time.Time, more ...connection.Connection) s3Bundle {
	t.Helper()
	env := testenv.S3Bucket(t)
	if endpoint != "" {
		env = testenv.NewBucket(t, endpoint)
	}
	loads := &atomic.Int32{}
	typ := &S3{
		LoadConfig: func(ctx context.Context) (aws.Config, error) {
			loads.Add(1)
			return config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
				config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
		},
		Now:      now,
		PartSize: 5 << 20,
	}
	conns, err := connection.NewSet(append([]connection.Connection{env.Connection}, more...), connection.Limits{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conns.Close() })
	return s3Bundle{typ: typ, env: env, dir: t.TempDir(), conns: conns, loads: loads}
}

func (b s3Bundle) run(t *testing.T, with obj) (task.Output, *fakeLog, error) {
	t.Helper()
	log := &fakeLog{}
	if _, ok := with["connection"]; !ok {
		with["connection"] = "files"
	}
	out, err := b.typ.Run(t.Context(), task.Input{Task: "t", Attempt: 1, With: with, Log: log, Connections: b.conns, Dir: b.dir})
	return out, log, err
}

func (b s3Bundle) mustRun(t *testing.T, with obj) task.Output {
	t.Helper()
	out, _, err := b.run(t, with)
	require.NoError(t, err)
	return out
}

func (b s3Bundle) putObject(t *testing.T, key, body string) {
	t.Helper()
	_, err := b.env.Client.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(b.env.Bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	require.NoError(t, err)
}

func (b s3Bundle) keys(t *testing.T) []string {
	t.Helper()
	out, err := b.env.Client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(b.env.Bucket)})
	require.NoError(t, err)
	keys := []string{}
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func (b s3Bundle) object(t *testing.T, key string) []byte {
	t.Helper()
	out, err := b.env.Client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(b.env.Bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return body
}

func (b s3Bundle) writeFile(t *testing.T, name string, body []byte) {
	t.Helper()
	p := filepath.Join(b.dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, body, 0o644))
}

// clock is a time tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestS3List(t *testing.T) {
	t.Parallel()
	// A stand-in of this test's own, whose clock stamps LastModified.
	clk := &clock{t: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)}
	srv, err := s3standin.Start(t.Context(), s3standin.Options{Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	b := setupS3(t, srv.URL, clk.Now)
	for _, k := range []string{"in/a.csv", "in/b.txt", "in/sub/c.csv", "other/e.csv"} {
		b.putObject(t, k, "old "+k)
	}
	clk.Add(2 * time.Hour)
	b.putObject(t, "in/d.csv", "new")
	clk.Add(time.Minute)

	for _, tc := range []struct {
		name string
		with obj
		keys []any
	}{
		{"prefix", obj{"prefix": "in/"}, list("in/a.csv", "in/b.txt", "in/d.csv", "in/sub/c.csv")},
		{"glob within a folder", obj{"glob": "in/*.csv"}, list("in/a.csv", "in/d.csv")},
		{"glob across folders", obj{"glob": "**.csv"}, list("in/a.csv", "in/d.csv", "in/sub/c.csv", "other/e.csv")},
		{"prefix and glob", obj{"prefix": "in/", "glob": "in/*/?.csv"}, list("in/sub/c.csv")},
		{"a glob is on the whole key", obj{"prefix": "in/", "glob": "*.csv"}, list()},
		{"glob with a set", obj{"glob": "in/[ab].*"}, list("in/a.csv", "in/b.txt")},
		{"newer than an age", obj{"prefix": "in/", "newer_than": "1h"}, list("in/d.csv")},
		{"newer than a time", obj{"newer_than": "2026-11-01T09:00:00Z"}, list("in/d.csv")},
		{"an age that takes all", obj{"glob": "**", "newer_than": "3h"}, list("in/a.csv", "in/b.txt", "in/d.csv", "in/sub/c.csv", "other/e.csv")},
		{"nothing", obj{"prefix": "nope/"}, list()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.with["op"] = "list"
			out := b.mustRun(t, tc.with)
			require.Equal(t, tc.keys, out["keys"])
			require.Equal(t, len(tc.keys), out["count"])
			require.Equal(t, false, out["truncated"])
		})
	}

	t.Run("objects", func(t *testing.T) {
		t.Parallel()
		out := b.mustRun(t, obj{"op": "list", "glob": "in/d.*"})
		objs, ok := out["objects"].([]any)
		require.True(t, ok)
		require.Len(t, objs, 1)
		o, ok := objs[0].(map[string]any)
		require.True(t, ok)
		require.Equal(t, "in/d.csv", o["key"])
		require.Equal(t, int64(len("new")), o["size"])
		require.Equal(t, "2026-11-01T10:00:00Z", o["last_modified"])
		require.NotEmpty(t, o["etag"])
	})

	t.Run("limit", func(t *testing.T) {
		t.Parallel()
		out, log, err := b.run(t, obj{"op": "list", "prefix": "in/", "limit": 2})
		require.NoError(t, err)
		require.Equal(t, list("in/a.csv", "in/b.txt"), out["keys"])
		require.Equal(t, true, out["truncated"])
		require.Len(t, log.Warnings(), 1)
		require.Contains(t, log.Warnings()[0], "more than 2 objects match")
	})
}

// partCounter counts the multipart requests that pass it on their way to
// the S3 stand-in: uploaded parts, and ranged or part downloads.
type partCounter struct{ uploads, downloads atomic.Int32 }

func (c *partCounter) proxy(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPut && q.Has("partNumber") && q.Has("uploadId"):
			c.uploads.Add(1)
		case r.Method == http.MethodGet && (q.Has("partNumber") || r.Header.Get("Range") != ""):
			c.downloads.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestS3PutGetRoundTrip(t *testing.T) {
	t.Parallel()
	parts := &partCounter{}
	base := testenv.S3Bucket(t) // starts the shared stand-in
	b := setupS3(t, parts.proxy(t, base.Endpoint), nil)
	big := make([]byte, 12<<20) // more than the 5 MiB part size: three parts
	_, _ = rand.Read(big)
	b.writeFile(t, "out/big.bin", big)
	b.writeFile(t, "out/a.csv", []byte("a"))
	b.writeFile(t, "out/deep/b.csv", []byte("bb"))
	b.writeFile(t, "out/c.txt", []byte("ccc"))

	out := b.mustRun(t, obj{"op": "put", "from": "out/big.bin", "key": "data/big.bin"})
	require.Equal(t, list("data/big.bin"), out["keys"])
	require.Equal(t, int64(len(big)), out["bytes"])
	require.Equal(t, int32(3), parts.uploads.Load(), "a multipart upload of three parts")

	out = b.mustRun(t, obj{"op": "get", "key": "data/big.bin", "to": "in/copy.bin"})
	require.Equal(t, list(filepath.Join("in", "copy.bin")), out["files"])
	got, err := os.ReadFile(filepath.Join(b.dir, "in", "copy.bin"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(big, got), "the object comes back as it went")
	require.GreaterOrEqual(t, parts.downloads.Load(), int32(3), "a download in parts")

	// A directory goes with its paths, below a prefix.
	out = b.mustRun(t, obj{"op": "put", "from": "out", "prefix": "tree/"})
	keys := out["keys"].([]any)
	sort.Slice(keys, func(i, j int) bool { return keys[i].(string) < keys[j].(string) })
	require.Equal(t, list("tree/a.csv", "tree/big.bin", "tree/c.txt", "tree/deep/b.csv"), keys)
	require.Equal(t, []byte("bb"), b.object(t, "tree/deep/b.csv"))

	// A glob takes what it matches; its fixed folder is left out of the keys.
	out = b.mustRun(t, obj{"op": "put", "from": "out/*.csv", "prefix": "csv/"})
	require.Equal(t, list("csv/a.csv"), out["keys"])
	require.Equal(t, 1, out["count"])

	// A single file without a key keeps its name.
	out = b.mustRun(t, obj{"op": "put", "from": "out/c.txt"})
	require.Equal(t, list("c.txt"), out["keys"])

	// Many objects come down below the prefix's folder, into a directory.
	out = b.mustRun(t, obj{"op": "get", "prefix": "tree/", "glob": "**.csv", "to": "back"})
	require.Equal(t, 2, out["count"])
	require.Equal(t, int64(3), out["bytes"])
	for name, body := range map[string]string{"back/a.csv": "a", "back/deep/b.csv": "bb"} {
		got, err := os.ReadFile(filepath.Join(b.dir, name))
		require.NoError(t, err, name)
		require.Equal(t, body, string(got), name)
	}
	// One key into an existing directory keeps its name.
	b.mustRun(t, obj{"op": "get", "key": "tree/c.txt", "to": "back"})
	got, err = os.ReadFile(filepath.Join(b.dir, "back", "c.txt"))
	require.NoError(t, err)
	require.Equal(t, "ccc", string(got))

	// A key for many files is refused.
	_, _, err = b.run(t, obj{"op": "put", "from": "out/*.csv", "key": "x"})
	require.NoError(t, err, "one file matches out/*.csv")
	_, _, err = b.run(t, obj{"op": "put", "from": "out", "key": "x"})
	require.ErrorContains(t, err, `with.key names one object, but with.from "out" holds 4 files`)
	require.ErrorIs(t, err, task.ErrPermanent)
}

func TestS3CopyMoveDelete(t *testing.T) {
	t.Parallel()
	other := testenv.S3Bucket(t)
	otherConn := other.Connection
	otherConn.Name = "archive"
	b := setupS3(t, "", nil, otherConn)
	for _, k := range []string{"in/a.csv", "in/b.csv", "in/sub/c.csv", "in/x y+ü.txt", "keep.txt"} {
		b.putObject(t, k, "body of "+k)
	}

	out := b.mustRun(t, obj{"op": "copy", "key": "in/x y+ü.txt", "to_key": "copied/odd name.txt"})
	require.Equal(t, list("copied/odd name.txt"), out["keys"])
	require.Equal(t, "body of in/x y+ü.txt", string(b.object(t, "copied/odd name.txt")))

	out = b.mustRun(t, obj{"op": "copy", "prefix": "in/", "glob": "**.csv", "to_prefix": "backup/"})
	require.Equal(t, 3, out["count"])
	require.Equal(t, "body of in/sub/c.csv", string(b.object(t, "backup/sub/c.csv")))

	_, _, err := b.run(t, obj{"op": "copy", "key": "keep.txt", "to_key": "keep.txt"})
	require.ErrorContains(t, err, `"keep.txt" would be copied onto itself`)

	// A move to another bucket leaves nothing behind.
	out = b.mustRun(t, obj{"op": "move", "glob": "in/*.csv", "to_prefix": "2026/", "to_connection": "archive"})
	require.Equal(t, list("2026/a.csv", "2026/b.csv"), out["keys"])
	got, err := other.Client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(other.Bucket), Key: aws.String("2026/a.csv")})
	require.NoError(t, err)
	body, _ := io.ReadAll(got.Body)
	require.Equal(t, "body of in/a.csv", string(body))
	require.NotContains(t, b.keys(t), "in/a.csv")
	require.Contains(t, b.keys(t), "in/sub/c.csv", "* stays within its folder")

	out = b.mustRun(t, obj{"op": "delete", "prefix": "backup/"})
	require.Equal(t, 3, out["count"])
	out = b.mustRun(t, obj{"op": "delete", "glob": "**.txt", "prefix": "copied/"})
	require.Equal(t, list("copied/odd name.txt"), out["keys"])
	out = b.mustRun(t, obj{"op": "delete", "key": "in/sub/c.csv"})
	require.Equal(t, 1, out["count"])
	require.Equal(t, []string{"in/x y+ü.txt", "keep.txt"}, b.keys(t))
	// Deleting what is gone succeeds, so a retry can finish.
	b.mustRun(t, obj{"op": "delete", "key": "in/sub/c.csv"})
}

func TestS3PathsStayInTheScratchDirectory(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "", nil)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(b.dir, "link")))
	b.putObject(t, "in/a.csv", "a")
	b.putObject(t, "in/../../evil", "e")

	for _, tc := range []struct {
		name string
		with obj
		want string
	}{
		{"to resolved out", obj{"op": "get", "key": "in/a.csv", "to": "../x"}, `with.to "../x": must stay inside`},
		{"from resolved absolute", obj{"op": "put", "from": "/etc/hostname"}, `with.from "/etc/hostname": must be relative`},
		{"a key that climbs", obj{"op": "get", "prefix": "in/"}, `object "in/../../evil" would be written outside the run's scratch directory`},
		{"put through a link", obj{"op": "put", "from": "link/secret"}, `with.from "link/secret": it leads outside the run's scratch directory`},
		{"get through a link", obj{"op": "get", "key": "in/a.csv", "to": "link/a.csv"}, `getting "in/a.csv"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := b.run(t, tc.with)
			require.ErrorContains(t, err, tc.want)
			require.ErrorIs(t, err, task.ErrPermanent)
		})
	}
	_, err := os.Stat(filepath.Join(outside, "a.csv"))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing written through the link")

	// No scratch directory at all.
	_, err = b.typ.Run(t.Context(), task.Input{With: obj{"connection": "files", "op": "get", "key": "in/a.csv"}, Connections: b.conns})
	require.ErrorContains(t, err, "this run has no scratch directory")
}

func TestS3ErrorsSayWhat(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "", nil)
	gone := b.env.Connection
	gone.Name, gone.Bucket = "gone", "no-such-bucket-"+strings.ToLower(testenv.Name("x"))
	db := connection.Connection{Name: "db", Kind: connection.Postgres, Host: "localhost", User: "u"}
	conns, err := connection.NewSet([]connection.Connection{b.env.Connection, gone, db}, connection.Limits{})
	require.NoError(t, err)
	b.conns = conns

	_, _, err = b.run(t, obj{"op": "get", "key": "nope.csv"})
	require.ErrorContains(t, err, "s3 get: s3://"+b.env.Bucket+"/nope.csv does not exist")
	require.NotErrorIs(t, err, task.ErrPermanent, "it may be there on a retry")
	_, statErr := os.Stat(filepath.Join(b.dir, "nope.csv"))
	require.ErrorIs(t, statErr, os.ErrNotExist, "no empty file left behind")

	for _, tc := range []struct {
		name string
		with obj
		want string
	}{
		{"missing bucket", obj{"connection": "gone", "op": "list"}, `bucket "` + gone.Bucket + `" of connection "gone" does not exist`},
		{"unknown connection", obj{"connection": "filez", "op": "list"}, `unknown connection "filez" (known: db, files, gone); did you mean "files"?`},
		{"not s3", obj{"connection": "db", "op": "list"}, `with.connection "db" is a postgres connection: an s3 task needs an s3 connection`},
		{"op resolved wrong", obj{"op": "lst"}, `did you mean "list"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := b.run(t, tc.with)
			require.ErrorContains(t, err, tc.want)
			require.ErrorIs(t, err, task.ErrPermanent)
		})
	}
	_, err = b.typ.Run(t.Context(), task.Input{With: obj{"connection": "files", "op": "list"}})
	require.ErrorContains(t, err, `the package defines no connections; add an s3 connection named "files"`)
}

// TestS3ClientsAreKept shows tasks on the same region and endpoint share
// one client, and the AWS configuration is loaded once.
func TestS3ClientsAreKept(t *testing.T) {
	t.Parallel()
	b := setupS3(t, "", nil)
	for range 3 {
		b.mustRun(t, obj{"op": "list"})
	}
	c1, err := b.typ.client(t.Context(), b.env.Connection)
	require.NoError(t, err)
	c2, err := b.typ.client(t.Context(), b.env.Connection)
	require.NoError(t, err)
	require.Same(t, c1, c2)
	elsewhere := b.env.Connection
	elsewhere.Region = "eu-west-1"
	c3, err := b.typ.client(t.Context(), elsewhere)
	require.NoError(t, err)
	require.NotSame(t, c1, c3)
	require.Equal(t, int32(1), b.loads.Load())
}

// TestS3ConnectionIsValidated: a package's s3 task must name an s3
// connection the package defines, before it runs.
func TestS3ConnectionIsValidated(t *testing.T) {
	t.Parallel()
	_, err := pkgfile.Load([]byte(`name: p
connections:
  files: {kind: s3, bucket: b, region: us-east-1}
  db: {kind: postgres, host: h, user: u}
tasks:
  - {name: a, type: s3, with: {connection: db, op: list}}
  - {name: b, type: s3, with: {connection: filez, op: list}}
`), "p.yaml", NewRegistry())
	require.ErrorContains(t, err, `connection "db" is of kind postgres; a s3 task needs one of kind s3`)
	require.ErrorContains(t, err, `unknown connection "filez" (known: db, files); did you mean "files"?`)
}
