package resources

// The catalog table holds the items of several packages, told apart by
// their keys. These are the fixed parts of those keys; every package
// writes its keys with them, and CatalogItems lists each kind of item
// once. A key prefix written anywhere else is refused by a test, so a new
// kind of item must be added here, with its owner, its contents and its
// expiry.
const (
	// package catalog: folders, projects, environments, project versions.
	CatalogFolders       = "FOLDERS"
	CatalogFolderPrefix  = "FOLDER#"
	CatalogProjectPrefix = "PROJECT#"
	CatalogEnvPrefix     = "ENV#"
	CatalogVersionPrefix = "VERSION#"

	// package aggregate: status counters, hourly and daily buckets.
	CatalogStats            = "STATS"
	CatalogStatsPrefix      = "STATS#"
	CatalogStatsPoolInfix   = "POOL#"
	CatalogStatsWorkerInfix = "WORKER#"
	CatalogHourPrefix       = "HOUR#"
	CatalogDayPrefix        = "DAY#"
	CatalogBucketPkgPrefix  = "PKG#"

	// package workers: the worker registry.
	CatalogRegistryPrefix = "REGISTRY#"

	// package messages: an execution's messages.
	CatalogMessagesPrefix = "EXEC#"
	CatalogMessagePrefix  = "MSG#"

	// package notify: webhooks sent.
	CatalogNotifyPrefix = "NOTIFY#"
	CatalogNotifySK     = "WEBHOOK"

	// package execstore: idempotency keys and the days that have executions.
	CatalogIdempotencyPrefix = "IDEM#"
	CatalogIdempotencySK     = "IDEM"
	CatalogExecutionDays     = "EXECUTION_DAYS"
	CatalogExecutionDaysSK   = "SINCE"

	// package streampoll: the local stream poller's positions.
	CatalogStreamPositionPrefix = "STREAMPOS#"
)

// CatalogItem is one kind of item of the catalog table.
type CatalogItem struct {
	// PK and SK show the key, <...> standing for the variable parts.
	PK, SK string
	// Owner is the package that writes the items.
	Owner string
	// Holds says what an item holds.
	Holds string
	// TTL says when an item expires (expires_at); "" when it is kept until
	// deleted.
	TTL string
}

// CatalogItems lists every kind of item of the catalog table. Names
// (folders, projects, packages, pools, workers) have no '/' or '#', so no
// two kinds' keys collide.
var CatalogItems = []CatalogItem{
	{CatalogFolders, CatalogFolderPrefix + "<folder>", "catalog", "a folder: description, created_at, project and environment counts", ""},
	{CatalogFolderPrefix + "<folder>", CatalogProjectPrefix + "<project>", "catalog", "a project: uid, latest version, references, bindings", ""},
	{CatalogFolderPrefix + "<folder>", CatalogEnvPrefix + "<environment>", "catalog", "an environment: its variables (sensitive ones sealed), revision", ""},
	{CatalogProjectPrefix + "<folder>/<project>#<uid>", CatalogVersionPrefix + "<0000000012>", "catalog", "a deployed project version: its packages (gzip JSON bundle)", "none; the oldest beyond the kept number are deleted"},
	{CatalogStats, "ALL", "aggregate", "counts by status (n_running: running now) and durations of all executions", ""},
	{CatalogStatsPrefix + "<folder>", "FOLDER", "aggregate", "a folder's counts and durations", ""},
	{CatalogStatsPrefix + "<folder>/<project>", "PROJECT", "aggregate", "a project's counts and durations", ""},
	{CatalogStatsPrefix + "<folder>/<project>/<package>", "PKG", "aggregate", "a package's counts, durations, last execution and last failure", ""},
	{CatalogStatsPrefix + CatalogStatsPoolInfix + "<pool>", "POOL", "aggregate", "a pool's counts and durations", ""},
	{CatalogStatsPrefix + CatalogStatsWorkerInfix + "<worker>", "WORKER", "aggregate", "a worker's counts and durations", ""},
	{CatalogHourPrefix + "<2006-01-02T15>#<shard>", CatalogBucketPkgPrefix + "<folder>/<project>/<package>", "aggregate", "what a package ended in an hour: counts by final status, durations", "the hour's end + retention (30 days)"},
	{CatalogDayPrefix + "<2006-01-02>#<shard>", CatalogBucketPkgPrefix + "<folder>/<project>/<package>", "aggregate", "what a package ended in a day", "the day's end + retention (30 days)"},
	{CatalogRegistryPrefix + "<shard>", "<worker id>", "registry", "a worker: admin fields, what it says of itself, its session's lease, runs and stop requests", "last heartbeat + retention (7 days)"},
	{CatalogMessagesPrefix + "<execution id>", CatalogMessagePrefix + "<attempt>#<seq>", "messages", "a flush of an execution's messages", "the first message's time + retention (30 days)"},
	{CatalogNotifyPrefix + "<execution id>", CatalogNotifySK, "notify", "that an execution's webhook was sent (sent once)", "sent + retention (30 days)"},
	{CatalogIdempotencyPrefix + "<scope>#<key>", CatalogIdempotencySK, "execstore", "the execution an Idempotency-Key made, and its request's hash", "created + 24 h"},
	{CatalogExecutionDays + "#<shard>", "<2006-01-02>", "execstore", "a day that has executions (for listings by day)", "the day's end + the executions' retention + a day"},
	{CatalogExecutionDays, CatalogExecutionDaysSK, "execstore", "the earliest day marked", ""},
	{CatalogStreamPositionPrefix + "<stream ARN>", "<shard id>", "streampoll", "the local stream poller's position in a stream shard", ""},
}
