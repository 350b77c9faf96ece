package resources

import (
	"fmt"
	"regexp"
	"time"
)

// DefaultPrefix is the name prefix of every table and queue when none is configured.
const DefaultPrefix = "scaleout"

// DefaultPool is the pool an execution runs in when it names none.
const DefaultPool = "default"

// Attribute names shared by the adapters that read and write the tables.
const (
	// ExecutionKey is the executions table's partition key.
	ExecutionKey = "id"
	// CatalogPK and CatalogSK are the catalog table's partition and sort keys.
	CatalogPK = "pk"
	CatalogSK = "sk"
	// TTLAttribute holds an item's expiry in epoch seconds, in every table.
	TTLAttribute = "expires_at"
)

// The executions table's indexes, for listing executions newest first.
// Each is keyed by a filter value and sorted by CreatedKey
// ("<created ms, 13 digits>#<id>").
const (
	ByPackage  = "by_package" // partition: PackageKey ("folder/project/package")
	ByFolder   = "by_folder"  // partition: "folder"
	ByStatus   = "by_status"  // partition: "status"
	ByDay      = "by_day"     // partition: DayKey ("2026-11-25", UTC)
	CreatedKey = "created_key"
	PackageKey = "package_key"
	DayKey     = "day"
)

// KeyType is a DynamoDB scalar key type.
type KeyType string

// Key types.
const (
	String KeyType = "S"
	Number KeyType = "N"
)

// Key is one key attribute.
type Key struct {
	Name string
	Type KeyType
}

// Index is a global secondary index projecting all attributes.
type Index struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
}

// Table is one DynamoDB table, billed on demand.
type Table struct {
	// Name is the full table name (prefix included).
	Name         string
	PartitionKey Key
	SortKey      *Key
	// Stream is true when the table has a NEW_AND_OLD_IMAGES stream.
	Stream       bool
	TTLAttribute string
	Indexes      []Index
}

// Queue is one standard SQS queue and, when DeadLetter is set, its
// dead-letter queue.
type Queue struct {
	// Name is the full queue name (prefix included).
	Name              string
	VisibilityTimeout time.Duration
	ReceiveWait       time.Duration
	Retention         time.Duration
	// MaxReceiveCount is how many receives a message gets before it moves to
	// DeadLetter.
	MaxReceiveCount int
	DeadLetter      *Queue
}

// Set is every resource of one Scaleout installation.
type Set struct {
	Prefix     string
	Executions Table
	Catalog    Table
	// Pools maps a pool name to its work queue.
	Pools map[string]Queue
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

// New returns the resources of the installation named by prefix, with one
// work queue per pool. It fails when a name would not be valid in AWS.
func New(prefix string, pools ...string) (Set, error) {
	if !namePattern.MatchString(prefix) {
		return Set{}, fmt.Errorf("resource prefix %q: use 1-40 letters, digits, '-' or '_'", prefix)
	}
	if len(pools) == 0 {
		pools = []string{DefaultPool}
	}
	s := Set{
		Prefix: prefix,
		Executions: Table{
			Name:         prefix + "-executions",
			PartitionKey: Key{Name: ExecutionKey, Type: String},
			Stream:       true,
			TTLAttribute: TTLAttribute,
			Indexes: []Index{
				{Name: ByPackage, PartitionKey: Key{Name: PackageKey, Type: String}, SortKey: &Key{Name: CreatedKey, Type: String}},
				{Name: ByFolder, PartitionKey: Key{Name: "folder", Type: String}, SortKey: &Key{Name: CreatedKey, Type: String}},
				{Name: ByStatus, PartitionKey: Key{Name: "status", Type: String}, SortKey: &Key{Name: CreatedKey, Type: String}},
				{Name: ByDay, PartitionKey: Key{Name: DayKey, Type: String}, SortKey: &Key{Name: CreatedKey, Type: String}},
			},
		},
		Catalog: Table{
			Name:         prefix + "-catalog",
			PartitionKey: Key{Name: CatalogPK, Type: String},
			SortKey:      &Key{Name: CatalogSK, Type: String},
			TTLAttribute: TTLAttribute,
		},
		Pools: map[string]Queue{},
	}
	for _, p := range pools {
		if !namePattern.MatchString(p) {
			return Set{}, fmt.Errorf("pool %q: use 1-40 letters, digits, '-' or '_'", p)
		}
		name := prefix + "-pool-" + p
		s.Pools[p] = Queue{
			Name:              name,
			VisibilityTimeout: 60 * time.Second,
			ReceiveWait:       20 * time.Second,
			Retention:         4 * 24 * time.Hour,
			MaxReceiveCount:   5,
			DeadLetter: &Queue{
				Name:      name + "-dlq",
				Retention: 14 * 24 * time.Hour,
			},
		}
	}
	return s, nil
}

// Tables lists the set's tables.
func (s Set) Tables() []Table { return []Table{s.Executions, s.Catalog} }
