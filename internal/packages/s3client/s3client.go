package s3client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scaleout/scaleout/internal/packages/connection"
)

// DefaultPartSize is the part size of multipart uploads and downloads,
// and the size from which an object goes in parts.
const DefaultPartSize = 8 << 20

// maxClients bounds the clients kept (one per region, endpoint and
// addressing style): past it they are built again.
const maxClients = 64

// Clients builds S3 clients from connections and keeps them for the next
// tasks and runs. The zero value is ready to use; a Clients is safe for
// concurrent use.
type Clients struct {
	// LoadConfig loads the AWS configuration clients start from
	// (credentials, retries, AWS_ENDPOINT_URL_S3); nil is
	// config.LoadDefaultConfig. It runs once, and again only after it
	// failed.
	LoadConfig func(ctx context.Context) (aws.Config, error)
	// PartSize is the multipart part size and threshold, at least 5 MiB;
	// 0 is DefaultPartSize.
	PartSize int64

	mu      sync.Mutex
	cfg     *aws.Config
	clients map[key]*Client
}

type key struct {
	region, endpoint string
	pathStyle        bool
}

// Client is one region's and endpoint's S3 client and its transfer
// manager (multipart uploads and ranged downloads).
type Client struct {
	API      *s3.Client
	Transfer *transfermanager.Client
}

// For returns the client of c's region, endpoint and style, built the
// first time. c must be an s3 connection.
func (cs *Clients) For(ctx context.Context, c connection.Connection) (*Client, error) {
	if c.Kind != connection.S3 {
		return nil, fmt.Errorf("connection %q is a %s connection, not s3", c.Name, c.Kind)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.cfg == nil {
		load := cs.LoadConfig
		if load == nil {
			load = func(ctx context.Context) (aws.Config, error) { return config.LoadDefaultConfig(ctx) }
		}
		cfg, err := load(ctx)
		if err != nil {
			return nil, fmt.Errorf("loading the worker's AWS configuration for S3: %w", err)
		}
		cs.cfg = &cfg
	}
	k := key{c.Region, c.Endpoint, c.PathStyle}
	if cl := cs.clients[k]; cl != nil {
		return cl, nil
	}
	if cs.clients == nil || len(cs.clients) >= maxClients {
		cs.clients = map[key]*Client{}
	}
	api := s3.NewFromConfig(*cs.cfg, func(o *s3.Options) {
		o.Region = c.Region
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
		// S3-compatible services often send no checksum back: not a
		// problem to log on every download.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	part := cs.PartSize
	if part <= 0 {
		part = DefaultPartSize
	}
	tm := transfermanager.New(api, func(o *transfermanager.Options) {
		o.PartSizeBytes, o.MultipartUploadThreshold = part, part
		// Byte ranges, not part numbers: they split any large object,
		// however it was uploaded, and S3-compatible services serve them.
		o.GetObjectType = tmtypes.GetObjectRanges
	})
	cl := &Client{API: api, Transfer: tm}
	cs.clients[k] = cl
	return cl, nil
}

// Open reads one object as a stream; the caller closes it.
func (cl *Client) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	out, err := cl.API.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// Create writes one object from what is written to the returned writer,
// uploaded in parts as it comes (memory stays at a few parts, however
// large the object). Close finishes the upload and returns its error;
// Abort (or a cancelled ctx) drops it, leaving no object.
func (cl *Client) Create(ctx context.Context, bucket, key string) *Upload {
	pr, pw := io.Pipe()
	u := &Upload{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		_, err := cl.Transfer.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: pr,
		})
		u.err = err
		// Unblock a writer still writing after a failed upload.
		pr.CloseWithError(errors.Join(err, errUploadEnded))
	}()
	return u
}

var errUploadEnded = errors.New("the upload has ended")

// Upload is an object being written: see Client.Create.
type Upload struct {
	pw   *io.PipeWriter
	done chan struct{}
	err  error
}

// Write implements io.Writer.
func (u *Upload) Write(p []byte) (int, error) {
	n, err := u.pw.Write(p)
	if err != nil {
		<-u.done
		if u.err != nil {
			return n, u.err
		}
	}
	return n, err
}

// Close ends the object and waits for its upload.
func (u *Upload) Close() error {
	_ = u.pw.Close()
	<-u.done
	return u.err
}

// Abort drops the upload: no object is written (a multipart upload
// begun is aborted by the transfer manager).
func (u *Upload) Abort(cause error) {
	if cause == nil {
		cause = errors.New("upload aborted")
	}
	_ = u.pw.CloseWithError(cause)
	<-u.done
}

// Matching lists the keys of bucket that glob (see Glob) matches, in key
// order, listing only under its fixed prefix.
func (cl *Client) Matching(ctx context.Context, bucket, glob string) ([]string, error) {
	re, err := Glob(glob)
	if err != nil {
		return nil, err
	}
	pages := s3.NewListObjectsV2Paginator(cl.API, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String(GlobPrefix(glob)),
	})
	var keys []string
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			if k := aws.ToString(o.Key); re.MatchString(k) && !strings.HasSuffix(k, "/") {
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
}

// Glob compiles a glob over whole object keys: * matches within one
// "/"-separated part, ** across parts, ? one character other than "/",
// and [abc], [a-z] and [!abc] one of a set.
func Glob(g string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			if i+1 < len(g) && g[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(g[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("a [ is not closed with ]")
			}
			class := g[i+1 : i+1+end]
			if class == "" || class == "!" {
				return nil, fmt.Errorf("an empty [] matches nothing")
			}
			if class[0] == '!' {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		case '\\':
			if i+1 < len(g) {
				i++
				b.WriteString(regexp.QuoteMeta(string(g[i])))
			} else {
				b.WriteString(`\\`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("not a valid glob: %w", err)
	}
	return re, nil
}

// GlobPrefix is the part of a glob before its first wildcard: listing
// that prefix finds every key the glob can match.
func GlobPrefix(g string) string {
	if i := strings.IndexAny(g, "*?[\\"); i >= 0 {
		return g[:i]
	}
	return g
}

// IsGlob tells a glob from a plain key.
func IsGlob(s string) bool { return strings.ContainsAny(s, "*?[") }
