package tasktypes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/sync/errgroup"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/s3client"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// Defaults of the s3 type.
const (
	// DefaultS3PartSize is the part size of multipart uploads and
	// downloads, and the size from which an object goes in parts.
	DefaultS3PartSize = s3client.DefaultPartSize
	// DefaultS3Concurrency is how many objects one task transfers at once
	// (each large one in parts, several parts at once).
	DefaultS3Concurrency = 4
)

// S3 is the s3 task type: it lists, gets, puts, copies, moves and deletes
// objects of the bucket of an s3 connection, as SSIS's File System Task
// does files. get and put move files between the bucket and the run's
// scratch directory (task.Input.Dir), through the SDK's transfer manager,
// in parts for large objects.
//
// Settings (with):
//
//	connection     required  the package's s3 connection (its bucket, region, endpoint, path_style)
//	op             required  list, get, put, copy, move or delete
//
// Which objects (list, get, copy, move, delete):
//
//	key            one object (get, copy, move, delete); not with the three below
//	prefix         the objects whose keys start with it
//	glob           the objects whose whole key matches it: * within one "/" part, ** across
//	               parts, ? one character, [abc] one of a set; e.g. "incoming/**.csv"
//	newer_than     the objects modified in the last "24h" (back from the task's start), or
//	               after a time, "2026-11-01T00:00:00Z"
//	limit          list only: at most this many objects (default 1000, at most 100000)
//
// delete takes a key, a glob, or a non-empty prefix: an empty prefix
// alone would be the whole bucket (give glob "**" to mean that).
//
// Where they go:
//
//	to             get: the file (for a key) or directory (default: the scratch directory's
//	               top) they are written to; many objects keep their keys below the
//	               prefix's (or glob's) last "/" as paths; a directory exists already or
//	               ends with "/"
//	from           put: a file, a directory (all of it) or a glob (e.g. "out/*.csv") in
//	               the scratch directory
//	key, prefix    put: the key of the one file, or the prefix its files' paths are put
//	               after (paths below the directory or the glob's fixed part); default: ""
//	to_key         copy, move: the new key of the one key
//	to_prefix      copy, move: the prefix that replaces the source's folder (the prefix's
//	               or glob's part up to its last "/") in each key
//	to_connection  copy, move: another s3 connection, for another bucket on the same endpoint
//
// Paths (to, from) are relative to the scratch directory and cannot leave
// it, through ".." or a symbolic link; an object whose key would land
// outside it fails the task.
//
// Output:
//
//	list:   keys (a list for foreach), objects ([{key, size, last_modified, etag}]),
//	        count, truncated (more matched than limit)
//	get:    files (paths in the scratch directory), count, bytes
//	put:    keys, count, bytes
//	copy:   keys (the new keys), count
//	move:   keys (the new keys), count
//	delete: keys, count
//
// get, put, copy, move and delete list at most MaxS3OutputKeys keys or
// files; count has them all. Deleting a key that does not exist succeeds,
// as S3 does, so that a retry after a partial failure can finish.
//
// Clients are built from the connection with the worker's AWS credentials
// (its default chain: the task role on AWS) and kept for the next tasks
// and runs on the same region and endpoint. A missing bucket, an access
// denied and settings that resolve to wrong values are task.ErrPermanent;
// a missing key is not (it may be there on a retry).
type S3 struct {
	// LoadConfig loads the AWS configuration clients start from
	// (credentials, retries, AWS_ENDPOINT_URL_S3); nil is
	// config.LoadDefaultConfig. It runs once, and again only after it
	// failed.
	LoadConfig func(ctx context.Context) (aws.Config, error)
	// Now is the clock newer_than ages count back from; nil is time.Now.
	Now func() time.Time
	// PartSize is the multipart part size and threshold, at least 5 MiB;
	// 0 is DefaultS3PartSize.
	PartSize int64
	// Concurrency is how many objects one task transfers at once; 0 is
	// DefaultS3Concurrency.
	Concurrency int

	// Clients are the S3 clients, shared with other types that reach S3;
	// nil: the type builds its own, from LoadConfig and PartSize, on first
	// use.
	Clients *s3client.Clients

	mu sync.Mutex
}

// ConnectionKinds implements task.ConnectionUser: validation checks that
// the package defines the connection a task names, and that it is an s3
// one.
func (*S3) ConnectionKinds() []connection.Kind { return []connection.Kind{connection.S3} }

// Check implements task.Type.
func (*S3) Check(with map[string]any) error {
	_, s := readS3(with, true)
	return s.err()
}

// Run implements task.Type.
func (t *S3) Run(ctx context.Context, in task.Input) (task.Output, error) {
	x, s := readS3(in.With, false)
	if err := s.runErr(); err != nil {
		return nil, err
	}
	src, err := t.bucket(ctx, in, x.conn)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	r := &s3Run{t: t, x: x, src: src, in: in, now: now()}
	switch x.op {
	case "list":
		return r.list(ctx)
	case "get":
		return r.get(ctx)
	case "put":
		return r.put(ctx)
	case "copy", "move":
		return r.copy(ctx, x.op == "move")
	default: // "delete"; readS3 allows no other
		return r.delete(ctx)
	}
}

// bucket is the named s3 connection and a client of it.
type bucket struct {
	conn connection.Connection
	*s3client.Client
}

func (t *S3) bucket(ctx context.Context, in task.Input, name string) (bucket, error) {
	if in.Connections == nil {
		return bucket{}, permanent(fmt.Errorf("with.connection %q: the package defines no connections; "+
			"add an s3 connection named %q", name, name))
	}
	c, err := in.Connections.Connection(name)
	if err != nil {
		return bucket{}, permanent(fmt.Errorf("with.connection: %w", err))
	}
	if c.Kind != connection.S3 {
		return bucket{}, permanent(fmt.Errorf("with.connection %q is a %s connection: an s3 task needs an s3 connection", name, c.Kind))
	}
	cl, err := t.client(ctx, c)
	if err != nil {
		return bucket{}, err
	}
	return bucket{conn: c, Client: cl}, nil
}

// client returns the client of c's region, endpoint and style, from the
// shared Clients when the type has them, else from its own.
func (t *S3) client(ctx context.Context, c connection.Connection) (*s3client.Client, error) {
	t.mu.Lock()
	if t.Clients == nil {
		t.Clients = &s3client.Clients{LoadConfig: t.LoadConfig, PartSize: t.PartSize}
	}
	cs := t.Clients
	t.mu.Unlock()
	return cs.For(ctx, c)
}

// s3Run is one attempt of an s3 task.
type s3Run struct {
	t   *S3
	x   s3Settings
	src bucket
	in  task.Input
	now time.Time
}

func (r *s3Run) concurrency() int {
	if r.t.Concurrency > 0 {
		return r.t.Concurrency
	}
	return DefaultS3Concurrency
}

// matching lists the objects the settings select, at most limit of them
// (0: all); truncated tells that more matched.
func (r *s3Run) matching(ctx context.Context, limit int) (objs []types.Object, truncated bool, err error) {
	x := r.x
	prefix := x.prefix
	if x.glob != nil {
		if lit := globLiteral(x.globText); len(lit) > len(prefix) {
			if !strings.HasPrefix(lit, prefix) {
				return nil, false, nil // no key starts with both
			}
			prefix = lit
		}
	}
	var cutoff time.Time
	if x.newer.set() {
		cutoff = x.newer.cutoff(r.now)
	}
	pages := s3.NewListObjectsV2Paginator(r.src.API, &s3.ListObjectsV2Input{
		Bucket: aws.String(r.src.conn.Bucket), Prefix: aws.String(prefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, false, r.s3Error(ctx, err, "list", prefix+"*")
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if x.glob != nil && !x.glob.MatchString(key) {
				continue
			}
			if !cutoff.IsZero() && !aws.ToTime(o.LastModified).After(cutoff) {
				continue
			}
			if limit > 0 && len(objs) == limit {
				return objs, true, nil
			}
			objs = append(objs, o)
		}
	}
	return objs, false, nil
}

// selected is the objects get, copy, move and delete act on: the one key,
// or every match. A missing key is an error only when must is set.
func (r *s3Run) selected(ctx context.Context) ([]types.Object, error) {
	if !r.x.hasKey {
		objs, _, err := r.matching(ctx, 0)
		return objs, err
	}
	return []types.Object{{Key: aws.String(r.x.key)}}, nil
}

func (r *s3Run) list(ctx context.Context) (task.Output, error) {
	objs, truncated, err := r.matching(ctx, r.x.limit)
	if err != nil {
		return nil, err
	}
	keys := make([]any, len(objs))
	list := make([]any, len(objs))
	for i, o := range objs {
		keys[i] = aws.ToString(o.Key)
		list[i] = map[string]any{
			"key":           aws.ToString(o.Key),
			"size":          aws.ToInt64(o.Size),
			"last_modified": aws.ToTime(o.LastModified).UTC().Format(time.RFC3339),
			"etag":          strings.Trim(aws.ToString(o.ETag), `"`),
		}
	}
	if truncated {
		logOf(r.in).Warn(fmt.Sprintf("more than %d objects match: the list holds the first %d in key order (with.limit)", r.x.limit, r.x.limit))
	}
	return task.Output{"keys": keys, "objects": list, "count": len(objs), "truncated": truncated}, nil
}

// scratch opens the run's scratch directory; names cannot leave it.
func (r *s3Run) scratch() (*os.Root, error) {
	if r.in.Dir == "" {
		return nil, permanent(errors.New("this run has no scratch directory for get and put (the runner gives none)"))
	}
	root, err := os.OpenRoot(r.in.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening the run's scratch directory: %w", err)
	}
	return root, nil
}

func (r *s3Run) get(ctx context.Context) (task.Output, error) {
	root, err := r.scratch()
	if err != nil {
		return nil, err
	}
	defer root.Close() //nolint:errcheck // a directory opened to read
	objs, err := r.selected(ctx)
	if err != nil {
		return nil, err
	}
	type job struct{ key, file string }
	var jobs []job
	if r.x.hasKey {
		file := r.x.to
		if file == "" {
			file = path.Base(r.x.key)
		} else if strings.HasSuffix(file, "/") || isDir(root, file) {
			file = path.Join(file, path.Base(r.x.key))
		}
		jobs = append(jobs, job{r.x.key, filepath.Clean(file)})
	} else {
		base := folderOf(r.x.prefix)
		if r.x.glob != nil && !r.x.hasPrefix {
			base = folderOf(globLiteral(r.x.globText))
		}
		for _, o := range objs {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") {
				continue // a "folder" marker, no file
			}
			rel := strings.TrimPrefix(key, base)
			if !filepath.IsLocal(filepath.FromSlash(rel)) {
				return nil, permanent(fmt.Errorf("object %q would be written outside the run's scratch directory: "+
					"narrow with.prefix or with.glob to leave it out", key))
			}
			jobs = append(jobs, job{key, filepath.Join(filepath.FromSlash(r.x.to), filepath.FromSlash(rel))})
		}
	}
	files := make([]string, len(jobs))
	sizes := make([]int64, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency())
	for i, j := range jobs {
		g.Go(func() error {
			n, err := r.download(gctx, root, j.key, j.file)
			files[i], sizes[i] = j.file, n
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var total int64
	for _, n := range sizes {
		total += n
	}
	return task.Output{"files": firstKeys(files), "count": len(files), "bytes": total}, nil
}

func isDir(root *os.Root, name string) bool {
	fi, err := root.Stat(name)
	return err == nil && fi.IsDir()
}

// download writes one object to file, in parts when it is large; a file
// left half written is removed.
func (r *s3Run) download(ctx context.Context, root *os.Root, key, file string) (int64, error) {
	if !filepath.IsLocal(file) {
		return 0, permanent(fmt.Errorf("%q is outside the run's scratch directory", file))
	}
	if dir := filepath.Dir(file); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return 0, permanent(fmt.Errorf("getting %q: %w", key, err))
		}
	}
	f, err := root.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, permanent(fmt.Errorf("getting %q: %w", key, err))
	}
	out, err := r.src.Transfer.DownloadObject(ctx, &transfermanager.DownloadObjectInput{
		Bucket: aws.String(r.src.conn.Bucket), Key: aws.String(key), WriterAt: f,
	})
	err = errors.Join(err, f.Close())
	if err != nil {
		_ = root.Remove(file)
		return 0, r.s3Error(ctx, err, "get", key)
	}
	return aws.ToInt64(out.ContentLength), nil
}

func (r *s3Run) put(ctx context.Context) (task.Output, error) {
	root, err := r.scratch()
	if err != nil {
		return nil, err
	}
	defer root.Close() //nolint:errcheck // a directory opened to read
	type job struct{ file, key string }
	var jobs []job
	from := filepath.ToSlash(filepath.Clean(r.x.from))
	// add puts file, named by its path after base.
	add := func(file, base string) {
		key := r.x.prefix + strings.TrimPrefix(file, base)
		if r.x.hasKey {
			key = r.x.key
		}
		jobs = append(jobs, job{file, key})
	}
	// addAll adds file, or every file under it when it is a directory.
	addAll := func(file, base string) error {
		return fs.WalkDir(root.FS(), file, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return scratchErr(err)
			}
			if d.Type().IsRegular() {
				add(p, base)
			}
			return nil
		})
	}
	var matches []string
	base := ""
	if strings.ContainsAny(from, "*?[") {
		var err error
		if matches, err = fs.Glob(root.FS(), from); err != nil {
			return nil, permanent(fmt.Errorf("with.from %q: %w", r.x.from, err))
		}
		base = folderOf(globLiteral(from))
	} else {
		fi, err := root.Stat(from)
		switch {
		case err != nil:
			return nil, permanent(fmt.Errorf("with.from %q: %w", r.x.from, scratchErr(err)))
		case fi.IsDir() && from != ".":
			base = from + "/"
		case !fi.IsDir():
			base = folderOf(from)
		}
		matches = []string{from}
	}
	for _, m := range matches {
		if err := addAll(m, base); err != nil {
			return nil, permanent(fmt.Errorf("with.from %q: %w", r.x.from, err))
		}
	}
	switch {
	case len(jobs) == 0:
		return nil, permanent(fmt.Errorf("with.from %q matches no file in the run's scratch directory", r.x.from))
	case r.x.hasKey && len(jobs) > 1:
		return nil, permanent(fmt.Errorf("with.key names one object, but with.from %q holds %d files: give with.prefix instead", r.x.from, len(jobs)))
	}
	keys := make([]string, len(jobs))
	sizes := make([]int64, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency())
	for i, j := range jobs {
		g.Go(func() error {
			n, err := r.upload(gctx, root, j.file, j.key)
			keys[i], sizes[i] = j.key, n
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var total int64
	for _, n := range sizes {
		total += n
	}
	return task.Output{"keys": firstKeys(keys), "count": len(keys), "bytes": total}, nil
}

// scratchErr says a path that leaves the scratch directory (through a
// symbolic link) in words.
func scratchErr(err error) error {
	if strings.Contains(err.Error(), "escapes from parent") || strings.Contains(err.Error(), "path escapes") {
		return fmt.Errorf("it leads outside the run's scratch directory: %w", err)
	}
	return err
}

func (r *s3Run) upload(ctx context.Context, root *os.Root, file, key string) (int64, error) {
	f, err := root.Open(file)
	if err != nil {
		return 0, permanent(fmt.Errorf("putting %q: %w", file, scratchErr(err)))
	}
	defer f.Close() //nolint:errcheck // read only
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("putting %q: %w", file, err)
	}
	if _, err := r.src.Transfer.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(r.src.conn.Bucket), Key: aws.String(key), Body: f,
	}); err != nil {
		return 0, r.s3Error(ctx, err, "put", key)
	}
	return fi.Size(), nil
}

func (r *s3Run) copy(ctx context.Context, move bool) (task.Output, error) {
	dst := r.src
	if r.x.toConn != "" && r.x.toConn != r.x.conn {
		var err error
		if dst, err = r.t.bucket(ctx, r.in, r.x.toConn); err != nil {
			return nil, err
		}
		if dst.conn.Endpoint != r.src.conn.Endpoint {
			return nil, permanent(fmt.Errorf("with.to_connection %q is on another endpoint than %q: S3 copies within one service; "+
				"get the objects, then put them", r.x.toConn, r.x.conn))
		}
	}
	objs, err := r.selected(ctx)
	if err != nil {
		return nil, err
	}
	base := folderOf(r.x.prefix)
	if r.x.glob != nil && !r.x.hasPrefix {
		base = folderOf(globLiteral(r.x.globText))
	}
	if r.x.hasKey {
		base = folderOf(r.x.key)
	}
	type job struct{ from, to string }
	jobs := make([]job, 0, len(objs))
	for _, o := range objs {
		from := aws.ToString(o.Key)
		to := r.x.toPrefix + strings.TrimPrefix(from, base)
		if r.x.toKey != "" {
			to = r.x.toKey
		}
		if to == from && dst.conn.Bucket == r.src.conn.Bucket {
			return nil, permanent(fmt.Errorf("%q would be copied onto itself: give another with.to_key or with.to_prefix", from))
		}
		jobs = append(jobs, job{from, to})
	}
	keys := make([]string, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency())
	for i, j := range jobs {
		g.Go(func() error {
			keys[i] = j.to
			_, err := dst.API.CopyObject(gctx, &s3.CopyObjectInput{
				Bucket:     aws.String(dst.conn.Bucket),
				Key:        aws.String(j.to),
				CopySource: aws.String(r.src.conn.Bucket + "/" + escapeKey(j.from)),
			})
			if err != nil {
				return r.s3Error(gctx, err, "copy", j.from)
			}
			if !move {
				return nil
			}
			if _, err := r.src.API.DeleteObject(gctx, &s3.DeleteObjectInput{
				Bucket: aws.String(r.src.conn.Bucket), Key: aws.String(j.from),
			}); err != nil {
				return r.s3Error(gctx, err, "delete (the move's second half: the copy is made)", j.from)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return task.Output{"keys": firstKeys(keys), "count": len(keys)}, nil
}

// escapeKey writes a key for CopySource: URL-encoded, its "/" kept ("+"
// too is encoded, or it would read as a space).
func escapeKey(key string) string {
	return strings.NewReplacer("%2F", "/", "+", "%2B").Replace(url.PathEscape(key))
}

func (r *s3Run) delete(ctx context.Context) (task.Output, error) {
	objs, err := r.selected(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(objs))
	for start := 0; start < len(objs); start += 1000 {
		batch := objs[start:min(start+1000, len(objs))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, o := range batch {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		out, err := r.src.API.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(r.src.conn.Bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return nil, r.s3Error(ctx, err, "delete", aws.ToString(batch[0].Key))
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return nil, fmt.Errorf("deleting %d of the objects failed, the first s3://%s/%s: %s (%s)", len(out.Errors),
				r.src.conn.Bucket, aws.ToString(e.Key), aws.ToString(e.Message), aws.ToString(e.Code))
		}
		for _, o := range batch {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return task.Output{"keys": firstKeys(keys), "count": len(keys)}, nil
}

// firstKeys is at most MaxS3OutputKeys of keys, as a list for foreach.
func firstKeys(keys []string) []any {
	out := make([]any, min(len(keys), MaxS3OutputKeys))
	for i := range out {
		out[i] = keys[i]
	}
	return out
}

// s3Error says what went wrong with key in words, marking what a retry
// cannot fix.
func (r *s3Run) s3Error(ctx context.Context, err error, op, key string) error {
	b := r.src.conn.Bucket
	var (
		noBucket *types.NoSuchBucket
		noKey    *types.NoSuchKey
		notFound *types.NotFound
		apiErr   smithy.APIError
		respErr  *smithyhttp.ResponseError
	)
	code := ""
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	status := 0
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("s3 %s s3://%s/%s stopped: %w", op, b, key, ctx.Err())
	case errors.As(err, &noBucket) || code == "NoSuchBucket":
		return permanent(fmt.Errorf("bucket %q of connection %q does not exist (check its bucket and region)", b, r.src.conn.Name))
	case errors.As(err, &noKey) || errors.As(err, &notFound) || code == "NoSuchKey" || (status == http.StatusNotFound && op != "list"):
		return fmt.Errorf("s3 %s: s3://%s/%s does not exist", op, b, key)
	case code == "AccessDenied" || code == "Forbidden" || status == http.StatusForbidden:
		return permanent(fmt.Errorf("s3 %s s3://%s/%s: access denied: the worker's role may use only the buckets its pool lists (the stack's pool setting buckets): %w",
			op, b, key, err))
	}
	return fmt.Errorf("s3 %s s3://%s/%s: %w", op, b, key, err)
}
