package catalog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/wait"
)

// Defaults and limits.
const (
	// DefaultKeep is how many versions of a project are kept by default.
	DefaultKeep = 10
	// MaxKeep is the most versions a store may keep: a project's versions
	// are deleted with it in one transaction (at most 100 items).
	MaxKeep = 90
	// MaxBundleStored is the most a bundle may take once compressed
	// (gzip): a DynamoDB item holds 400 KB, and the version's other
	// attributes need some of it.
	MaxBundleStored = 350 * 1024
	// MaxFilesSize caps the total size of a bundle's files, uncompressed.
	MaxFilesSize = 256 * 1024
	// MaxPackages caps the packages in one project.
	MaxPackages = 200
	// MaxValueSize caps one environment variable's value (as JSON); 4 KB
	// is also what KMS encrypts at once.
	MaxValueSize = 4096
	// MaxVariables caps the variables of one environment.
	MaxVariables = 50
	// changeAttempts bounds how often a change re-reads and retries after
	// losing a race to a concurrent one.
	changeAttempts = 25
)

// Config configures a Catalog.
type Config struct {
	// Storage keeps the catalog's records. Left nil, New makes the
	// DynamoDB one on DB and Table.
	Storage Storage
	// DB is the DynamoDB client; Table the catalog table's name (only
	// without Storage).
	DB    *dynamodb.Client
	Table string
	// Types validates the tasks of deployed packages.
	Types *task.Registry
	// Sealer seals sensitive environment values at rest.
	Sealer secrets.Sealer
	// Keep is how many versions of each project are kept (default
	// DefaultKeep, at most MaxKeep).
	Keep int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger gets what cannot be returned (a failed clean-up of old
	// versions). Default: discard.
	Logger *slog.Logger
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Storage == nil {
		if c.DB == nil {
			errs = append(errs, errors.New("catalog: no DynamoDB client (or other Storage)"))
		}
		if c.Table == "" {
			errs = append(errs, errors.New("catalog: no table name"))
		}
	}
	if c.Types == nil {
		errs = append(errs, errors.New("catalog: no task type registry to validate packages with"))
	}
	if c.Sealer == nil {
		errs = append(errs, errors.New("catalog: no sealer for sensitive values (see package secrets)"))
	}
	if c.Keep < 0 || c.Keep > MaxKeep {
		errs = append(errs, fmt.Errorf("catalog: keep %d versions: give 1-%d (0 means %d)", c.Keep, MaxKeep, DefaultKeep))
	}
	return errors.Join(errs...)
}

// Catalog is the catalog: folders, projects and their versions,
// environments, and the resolution of an execution's package and
// parameters. It holds the rules; its Storage keeps the records. It is
// safe for concurrent use, by many processes at once when they share a
// DynamoDB table.
type Catalog struct {
	st     Storage
	types  *task.Registry
	sealer secrets.Sealer
	keep   int
	now    func() time.Time
	log    *slog.Logger
}

// New returns a catalog on c.Storage, or on the DynamoDB catalog table.
func New(c Config) (*Catalog, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Catalog{st: c.Storage, types: c.Types, sealer: c.Sealer, keep: c.Keep, now: c.Now, log: c.Logger}
	if s.keep == 0 {
		s.keep = DefaultKeep
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.st == nil {
		s.st = &dynamoStorage{db: c.DB, table: c.Table, log: s.log}
	}
	return s, nil
}

// clock is the time a change records: in milliseconds, as stored.
func (s *Catalog) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// retry waits before attempt (none before the first) of a change that
// lost a race, longer each time, with jitter.
func retry(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	return wait.For(ctx, time.Duration(rand.Int64N(int64(min(attempt+1, 10))*int64(4*time.Millisecond))))
}

// cursor is the opaque position of a listing: the last name returned.
type cursor struct {
	After string `json:"a"`
}

func encodeCursor(after string) string {
	b, _ := json.Marshal(cursor{After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || !ValidName(c.After) {
		return "", invalid("cursor", "not a cursor this API returned: start again without one")
	}
	return c.After, nil
}
