package fileio

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// env is where a component finds files: the run's scratch directory and
// connections, from its PlanContext or Runtime.
type env struct {
	dir   string
	conns task.Connections
}

// sources is where a source reads: local files or S3 objects.
type sources struct {
	files  []string // patterns relative to the scratch directory
	conn   string   // an s3 connection
	keys   []string // keys or globs
	prefix string
}

// readSources reads file, connection, key and prefix.
func readSources(s *dataflow.Settings) sources {
	var src sources
	hasFile, hasConn, hasKey, hasPrefix := s.Has("file"), s.Has("connection"), s.Has("key"), s.Has("prefix")
	src.files, _ = s.Strings("file")
	src.conn, _ = s.String("connection")
	src.keys, _ = s.Strings("key")
	src.prefix, _ = s.String("prefix")
	switch {
	case hasFile && hasConn:
		s.Errorf("file", "give file (in the scratch directory) or connection with key or prefix (in S3), not both")
	case !hasFile && !hasConn:
		s.Missing("file", `a file in the scratch directory ("sales.csv", a list, or a glob "in/*.csv"), `+
			`or connection (an s3 connection) with key or prefix`)
	case hasFile && (hasKey || hasPrefix):
		s.Errorf("file", "key and prefix name S3 objects: give them with connection, not with file")
	case hasConn && hasKey && hasPrefix:
		s.Errorf("key", "give key (keys or globs) or prefix (every object under it), not both")
	case hasConn && !hasKey && !hasPrefix:
		s.Missing("key", `the object key, a list, or a glob ("in/*.csv"), or prefix ("in/")`)
	}
	if hasFile && len(src.files) == 0 && !s.Checking() {
		s.Errorf("file", "the list is empty: name at least one file")
	}
	return src
}

// file is one file a source reads.
type file struct {
	name   string // for messages: the path in the scratch directory or s3://bucket/key
	path   string // local: the absolute path
	cl     *s3client.Client
	bucket string
	key    string
}

func (f file) String() string { return f.name }

// open opens the file as a stream, gunzipped when its name ends in .gz
// and gz is true.
func (f file) open(ctx context.Context, gz bool) (io.ReadCloser, error) {
	var r io.ReadCloser
	if f.cl != nil {
		body, err := f.cl.Open(ctx, f.bucket, f.key)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f.name, err)
		}
		r = body
	} else {
		fh, err := os.Open(f.path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f.name, err)
		}
		r = fh
	}
	if !gz || !strings.HasSuffix(strings.ToLower(f.name), ".gz") {
		return r, nil
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("reading %s: it ends in .gz but is not gzip: %w", f.name, err)
	}
	return gzipReadCloser{zr, r}, nil
}

type gzipReadCloser struct {
	*gzip.Reader
	under io.Closer
}

func (g gzipReadCloser) Close() error { return errors.Join(g.Reader.Close(), g.under.Close()) }

// resolve lists the files src names, in order; an S3 glob or prefix that
// matches nothing is an error (a local glob's is ResolveFiles').
func (src sources) resolve(ctx context.Context, e env, clients *s3client.Clients) ([]file, error) {
	if src.conn == "" {
		paths, err := dataflow.ResolveFiles(e.dir, src.files)
		if err != nil {
			return nil, fmt.Errorf("settings.file: %w", err)
		}
		out := make([]file, len(paths))
		for i, p := range paths {
			name := p
			if rel, err := filepath.Rel(e.dir, p); err == nil {
				name = rel
			}
			out[i] = file{name: name, path: p}
		}
		return out, nil
	}
	c, cl, err := s3Conn(ctx, e, clients, src.conn)
	if err != nil {
		return nil, err
	}
	var out []file
	add := func(key string) {
		out = append(out, file{name: "s3://" + c.Bucket + "/" + key, cl: cl, bucket: c.Bucket, key: key})
	}
	if src.prefix != "" || len(src.keys) == 0 {
		keys, err := cl.Matching(ctx, c.Bucket, escapeGlob(src.prefix)+"**")
		if err != nil {
			return nil, fmt.Errorf("settings.prefix: listing s3://%s/%s: %w", c.Bucket, src.prefix, err)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("settings.prefix %q: no object in s3://%s under it", src.prefix, c.Bucket)
		}
		for _, k := range keys {
			add(k)
		}
		return out, nil
	}
	for _, k := range src.keys {
		if !s3client.IsGlob(k) {
			add(k)
			continue
		}
		keys, err := cl.Matching(ctx, c.Bucket, k)
		if err != nil {
			return nil, fmt.Errorf("settings.key %q: listing s3://%s: %w", k, c.Bucket, err)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("settings.key %q: no object in s3://%s matches it", k, c.Bucket)
		}
		for _, key := range keys {
			add(key)
		}
	}
	return out, nil
}

// escapeGlob makes a literal prefix safe inside a glob.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("*?[]\\", r) {
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// s3Conn is the named s3 connection and its client.
func s3Conn(ctx context.Context, e env, clients *s3client.Clients, name string) (connection.Connection, *s3client.Client, error) {
	if e.conns == nil {
		return connection.Connection{}, nil, fmt.Errorf("settings.connection %q: the package defines no connections; add an s3 connection named %q", name, name)
	}
	c, err := e.conns.Connection(name)
	if err != nil {
		return c, nil, fmt.Errorf("settings.connection: %w", err)
	}
	if c.Kind != connection.S3 {
		return c, nil, fmt.Errorf("settings.connection %q is a %s connection: files are read from and written to an s3 connection", name, c.Kind)
	}
	cl, err := clients.For(ctx, c)
	if err != nil {
		return c, nil, fmt.Errorf("settings.connection %q: %w", name, err)
	}
	return c, cl, nil
}

// target is where a destination writes: one local file or one S3 object.
type target struct {
	file      string
	conn      string
	key       string
	overwrite bool
}

// readTarget reads file, connection, key and overwrite.
func readTarget(s *dataflow.Settings) target {
	var t target
	hasFile, hasConn := s.Has("file"), s.Has("connection")
	t.file, _ = s.String("file")
	t.conn, _ = s.String("connection")
	t.overwrite = s.Bool("overwrite", false)
	switch {
	case hasFile && hasConn:
		s.Errorf("file", "give file (in the scratch directory) or connection with key (in S3), not both")
	case !hasFile && !hasConn:
		s.Missing("file", `a file in the scratch directory ("out/sales.csv"), or connection (an s3 connection) with key`)
	case hasFile:
		if s.Has("key") {
			s.Errorf("key", "key names an S3 object: give it with connection, not with file")
		}
		if t.file != "" {
			if _, err := localPath("/scratch", t.file); err != nil {
				s.Errorf("file", "%v", err)
			}
		}
	case hasConn:
		t.key, _ = s.RequiredString("key", `"out/sales.csv"`)
		if s3client.IsGlob(t.key) {
			s.Errorf("key", "%q is a glob: a destination writes one object, name it", t.key)
		}
	}
	return t
}

// localPath is file inside dir, or an error when it leaves it.
func localPath(dir, name string) (string, error) { return dataflow.ResolveFile(dir, name) }

// sink is an open destination file: written through w, made the named
// file by commit, dropped by abort.
type sink struct {
	name   string
	w      io.Writer
	commit func() error
	abort  func(cause error)
}

// open starts writing t: a temporary file next to the named one, or a
// multipart upload; gz gzips it when the name ends in .gz.
func (t target) open(ctx context.Context, e env, clients *s3client.Clients, gz bool) (*sink, error) {
	var s *sink
	if t.conn != "" {
		c, cl, err := s3Conn(ctx, e, clients, t.conn)
		if err != nil {
			return nil, err
		}
		name := "s3://" + c.Bucket + "/" + t.key
		if !t.overwrite {
			_, err := cl.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(t.key)})
			if err == nil {
				return nil, fmt.Errorf("settings.key: %s exists; set overwrite: true to replace it", name)
			}
		}
		up := cl.Create(ctx, c.Bucket, t.key)
		s = &sink{name: name, w: up, commit: up.Close, abort: up.Abort}
	} else {
		path, err := localPath(e.dir, t.file)
		if err != nil {
			return nil, fmt.Errorf("settings.file: %w", err)
		}
		if _, err := os.Stat(path); err == nil && !t.overwrite {
			return nil, fmt.Errorf("settings.file: %s exists; set overwrite: true to replace it", t.file)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("settings.file: %w", err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
		if err != nil {
			return nil, fmt.Errorf("settings.file: %w", err)
		}
		s = &sink{name: t.file, w: tmp,
			commit: func() error {
				if err := tmp.Close(); err != nil {
					_ = os.Remove(tmp.Name())
					return err
				}
				return os.Rename(tmp.Name(), path)
			},
			abort: func(error) { _ = tmp.Close(); _ = os.Remove(tmp.Name()) },
		}
	}
	if gz && strings.HasSuffix(strings.ToLower(s.name), ".gz") {
		zw := gzip.NewWriter(s.w)
		commit := s.commit
		s.w = zw
		s.commit = func() error {
			if err := zw.Close(); err != nil {
				s.abort(err)
				return err
			}
			return commit()
		}
	}
	return s, nil
}
