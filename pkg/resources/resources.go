package resources

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strconv"
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

// The executions table's indexes, for listing executions newest first and
// for the reconciler. Each is sorted by CreatedKey ("<created ms, 13
// digits>#<id>", unique because it ends with the id).
//
// An index's partition key must stay under about 1,000 writes/s. At
// 10,000 executions started per second, one key per package, folder or day
// (or one per status) would take them all, so every partition key carries a
// shard suffix, "#<shard>", with shard = Shard(id, n): the executions of one
// package, folder, day or status spread evenly over n keys, and a listing
// queries the n keys and merges them by CreatedKey.
//
// by_package, by_folder and by_day are KEYS_ONLY: their keys never change
// after an execution is created, so each is written once per execution (at
// create) and no status change touches them; a listing reads the items
// themselves from the table. by_status is sparse: StatusKey is present only
// while an execution is not final (pending, running, stopping), so the
// index holds only the executions the reconciler looks at, and it projects
// only what the reconciler reads (StatusAttributes). Its key does not name
// the status (ActiveKey, sharded): a claim then rewrites the entry once
// (the projected status changes) instead of deleting it under "pending"
// and writing it under "running"; readers filter on the projected status.
const (
	ByPackage  = "by_package" // partition: PackageKey ("folder/project/package#<shard>")
	ByFolder   = "by_folder"  // partition: FolderKey ("folder#<shard>")
	ByStatus   = "by_status"  // partition: StatusKey ("active#<shard>"), not-final executions only
	ByDay      = "by_day"     // partition: DayKey ("2026-11-25#<shard>", UTC)
	CreatedKey = "created_key"
	PackageKey = "package_key"
	FolderKey  = "folder_key"
	DayKey     = "day_key"
	StatusKey  = "status_key"
	// ActiveKey is the value StatusKey is sharded from.
	ActiveKey = "active"
)

// ListShards is how many shards by_package, by_folder and by_day spread
// one package, folder or day over: 10,000 starts/s / 16 = 625 writes/s per
// partition key at most (each execution writes these indexes once, at
// create), under DynamoDB's ~1,000 writes/s per partition key.
const ListShards = 16

// StatusShards is how many shards by_status spreads the executions that
// are not final over. Every execution writes its entry three times (enters
// pending, is claimed, leaves at its end; nothing while it runs): at 10,000
// starts/s that is 30,000 writes/s; / 64 = 469 per key.
const StatusShards = 64

// StatusAttributes are the attributes by_status projects besides the keys:
// what the reconciler and the pools' oldest-pending figure read, and what
// recovering a lost attempt needs (retries, attempts and started_at decide
// between a retry and ended_unexpectedly). None changes while an execution
// runs: the session that holds it is named at claim.
var StatusAttributes = []string{
	"status", "pool", "created_at", "enqueued_at", "not_before", "requeues",
	"attempt", "worker_id", "session", "started_at", "retries", "lost_retries", "attempts",
}

// Shard is the shard, 0 to n-1, of the execution with this id: a stable
// hash (32-bit FNV-1a) of the id modulo n.
func Shard(id string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// ShardKey is the sharded partition key value of shard: "<value>#<shard>".
func ShardKey(value string, shard int) string {
	return value + "#" + strconv.Itoa(shard)
}

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

// ProjectionType says which attributes an index copies from the table.
type ProjectionType string

// Projection types.
const (
	// ProjectAll copies every attribute: every write of the item rewrites
	// it in the index.
	ProjectAll ProjectionType = "ALL"
	// ProjectKeysOnly copies the table's and the index's keys only: a
	// write that changes neither leaves the index alone.
	ProjectKeysOnly ProjectionType = "KEYS_ONLY"
	// ProjectInclude copies the keys and NonKeyAttributes.
	ProjectInclude ProjectionType = "INCLUDE"
)

// Projection is what an index copies from the table.
type Projection struct {
	Type ProjectionType
	// NonKeyAttributes are the attributes ProjectInclude copies.
	NonKeyAttributes []string
}

// Index is a global secondary index.
type Index struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
	Projection   Projection
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
	// Webhooks holds one message per webhook delivery: the stream
	// function enqueues, the webhook sender delivers (see WebhookQueue).
	Webhooks Queue
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)

// MaxQueueName is the longest queue name SQS accepts (a FIFO queue's
// ".fifo" counts too; Scaleout's queues are standard queues).
const MaxQueueName = 80

// checkQueueName fails when SQS would refuse name: prefix and pool may each
// be 40 characters, and "<prefix>-pool-<pool>-dlq" then reaches 90.
func checkQueueName(pool, name string) error {
	if len(name) <= MaxQueueName {
		return nil
	}
	return fmt.Errorf("pool %q: its queue name %q is %d characters, over SQS's limit of %d; "+
		"shorten the prefix or the pool name (together at most %d characters)",
		pool, name, len(name), MaxQueueName, MaxQueueName-len("-pool-")-len(deadLetterSuffix))
}

const deadLetterSuffix = "-dlq"

// New returns the resources of the installation named by prefix, with one
// work queue per pool. It fails when a name would not be valid in AWS.
func New(prefix string, pools ...string) (Set, error) {
	if !namePattern.MatchString(prefix) {
		return Set{}, fmt.Errorf("resource prefix %q: use 1-40 letters, digits, '-' or '_'", prefix)
	}
	if len(pools) == 0 {
		pools = []string{DefaultPool}
	}
	created := &Key{Name: CreatedKey, Type: String}
	keysOnly := Projection{Type: ProjectKeysOnly}
	s := Set{
		Prefix: prefix,
		Executions: Table{
			Name:         prefix + "-executions",
			PartitionKey: Key{Name: ExecutionKey, Type: String},
			Stream:       true,
			TTLAttribute: TTLAttribute,
			Indexes: []Index{
				{Name: ByPackage, PartitionKey: Key{Name: PackageKey, Type: String}, SortKey: created, Projection: keysOnly},
				{Name: ByFolder, PartitionKey: Key{Name: FolderKey, Type: String}, SortKey: created, Projection: keysOnly},
				{Name: ByStatus, PartitionKey: Key{Name: StatusKey, Type: String}, SortKey: created,
					Projection: Projection{Type: ProjectInclude, NonKeyAttributes: slices.Clone(StatusAttributes)}},
				{Name: ByDay, PartitionKey: Key{Name: DayKey, Type: String}, SortKey: created, Projection: keysOnly},
			},
		},
		Catalog: Table{
			Name:         prefix + "-catalog",
			PartitionKey: Key{Name: CatalogPK, Type: String},
			SortKey:      &Key{Name: CatalogSK, Type: String},
			TTLAttribute: TTLAttribute,
		},
		Pools:    map[string]Queue{},
		Webhooks: WebhookQueue(prefix),
	}
	for _, p := range pools {
		if !namePattern.MatchString(p) {
			return Set{}, fmt.Errorf("pool %q: use 1-40 letters, digits, '-' or '_'", p)
		}
		name := prefix + "-pool-" + p
		// The dead-letter queue's is the longer name.
		if err := checkQueueName(p, name+deadLetterSuffix); err != nil {
			return Set{}, err
		}
		s.Pools[p] = Queue{
			Name:              name,
			VisibilityTimeout: 60 * time.Second,
			ReceiveWait:       20 * time.Second,
			Retention:         4 * 24 * time.Hour,
			MaxReceiveCount:   5,
			DeadLetter: &Queue{
				Name:      name + deadLetterSuffix,
				Retention: 14 * 24 * time.Hour,
			},
		}
	}
	return s, nil
}

// Tables lists the set's tables.
func (s Set) Tables() []Table { return []Table{s.Executions, s.Catalog} }
