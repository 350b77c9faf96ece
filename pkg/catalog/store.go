package catalog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/pkg/resources"
	"github.com/scaleout/scaleout/pkg/secrets"
	"github.com/scaleout/scaleout/pkg/task"
	"github.com/scaleout/scaleout/pkg/wait"
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
	// deployAttempts bounds how often a deploy re-reads and retries after
	// losing a race to a concurrent deploy.
	deployAttempts = 25
)

// Config configures a Store.
type Config struct {
	// DB is the DynamoDB client; Table the catalog table's name.
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
	if c.DB == nil {
		errs = append(errs, errors.New("catalog: no DynamoDB client"))
	}
	if c.Table == "" {
		errs = append(errs, errors.New("catalog: no table name"))
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

// Store is the catalog: folders, projects and their versions,
// environments, and the resolution of an execution's package and
// parameters. It is safe for concurrent use, by many processes at once.
type Store struct {
	db     *dynamodb.Client
	table  string
	types  *task.Registry
	sealer secrets.Sealer
	keep   int
	now    func() time.Time
	log    *slog.Logger
}

// New returns a store on the catalog table.
func New(c Config) (*Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Store{db: c.DB, table: c.Table, types: c.Types, sealer: c.Sealer, keep: c.Keep, now: c.Now, log: c.Logger}
	if s.keep == 0 {
		s.keep = DefaultKeep
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Keys of the single-table layout (see the package documentation).
const (
	foldersPK     = resources.CatalogFolders
	folderPrefix  = resources.CatalogFolderPrefix
	projectPrefix = resources.CatalogProjectPrefix
	envPrefix     = resources.CatalogEnvPrefix
	versionPrefix = resources.CatalogVersionPrefix
)

func folderKey(f string) map[string]types.AttributeValue {
	return keyOf(foldersPK, folderPrefix+f)
}

func projectKey(f, p string) map[string]types.AttributeValue {
	return keyOf(folderPrefix+f, projectPrefix+p)
}

func envKey(f, e string) map[string]types.AttributeValue {
	return keyOf(folderPrefix+f, envPrefix+e)
}

// versionsPK is the partition of one incarnation of a project: a project
// deleted and created again gets a new uid, so a late clean-up of the old
// one can never touch the new one's versions.
func versionsPK(f, p, uid string) string { return projectPrefix + f + "/" + p + "#" + uid }

func versionSK(n int) string { return fmt.Sprintf("%s%010d", versionPrefix, n) }

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{resources.CatalogPK: str(pk), resources.CatalogSK: str(sk)}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// canceled returns the cancellation reason codes of a failed transaction
// ("None", "ConditionalCheckFailed", "TransactionConflict", ...).
func canceled(err error) ([]string, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	codes := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes, true
}

// failedAt reports whether the transaction item at i failed its condition.
func failedAt(codes []string, i int) bool {
	return i < len(codes) && codes[i] == "ConditionalCheckFailed"
}

// contended reports whether err is a lost race that a retry may win.
func contended(err error) bool {
	if codes, ok := canceled(err); ok {
		for _, c := range codes {
			if c == "ConditionalCheckFailed" || c == "TransactionConflict" {
				return true
			}
		}
		return false
	}
	var tc *types.TransactionConflictException
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &tc) || errors.As(err, &ccf)
}

// backoff waits a little, more on each attempt, with jitter.
func backoff(ctx context.Context, attempt int) error {
	return wait.For(ctx, time.Duration(rand.Int64N(int64(min(attempt+1, 10))*int64(4*time.Millisecond))))
}

func (s *Store) get(ctx context.Context, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	in := &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key, ConsistentRead: aws.Bool(true)}
	out, err := s.db.GetItem(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// queryAll reads every item of a partition whose sort key starts with
// prefix, only the attributes named (all when none are).
func (s *Store) queryAll(ctx context.Context, pk, prefix string, attrs ...string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.CatalogPK, "#sk": resources.CatalogSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pk), ":prefix": str(prefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	if len(attrs) > 0 {
		proj := make([]string, len(attrs))
		for i, a := range attrs {
			proj[i] = fmt.Sprintf("#a%d", i)
			in.ExpressionAttributeNames[proj[i]] = a
		}
		in.ProjectionExpression = aws.String(strings.Join(proj, ", "))
	}
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
	}
	return items, nil
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
