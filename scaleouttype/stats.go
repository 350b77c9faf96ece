package scaleouttype

import (
	"encoding/json"
	"time"
)

// Stats are the aggregates of one item: executions by status now, the
// durations of the finished ones, and, for a package, its last execution
// and last failure.
type Stats struct {
	Folder      string    `json:"folder,omitempty"`
	Project     string    `json:"project,omitempty"`
	Package     string    `json:"package,omitempty"`
	Pool        string    `json:"pool,omitempty"`
	Worker      string    `json:"worker_id,omitempty"`
	Counts      Counts    `json:"counts"`
	Running     int64     `json:"running"`
	Durations   Durations `json:"durations"`
	Last        *Last     `json:"last,omitempty"`
	LastFailure *Last     `json:"last_failure,omitempty"`
}

// StatsFilter selects the Stats of everything (zero Filter), a folder, a
// project of a folder, or a package of a project.
type StatsFilter struct {
	Folder, Project, Package string
}

// Dashboard is the SSIS Integration Services Dashboard: what ended since a
// time (counted in whole hours), what runs now.
type Dashboard struct {
	Since time.Time `json:"since"` // rounded up to the hour
	Until time.Time `json:"until"`
	// Counts are the executions that ended in the window, by final status.
	Counts   Counts `json:"counts"`
	Failures int64  `json:"failures"`
	// Running and Pending are now.
	Running  int64            `json:"running"`
	Pending  int64            `json:"pending"`
	Packages []PackageFigures `json:"packages"`
	Hourly   []HourFigures    `json:"hourly"`
}

// PackageFigures are one package's executions that ended in the window.
type PackageFigures struct {
	PackageRef
	Counts      Counts    `json:"counts"`
	Durations   Durations `json:"durations"`
	LastFailure *Last     `json:"last_failure,omitempty"`
}

// HourFigures are the executions that ended in one hour.
type HourFigures struct {
	Hour      time.Time `json:"hour"`
	Counts    Counts    `json:"counts"`
	Durations Durations `json:"durations"`
}

// PackageRef names one package.
type PackageRef struct {
	Folder  string `json:"folder"`
	Project string `json:"project"`
	Package string `json:"package"`
}

// Counts are executions by status.
type Counts map[Status]int64

// Durations summarize how long finished executions ran (ended_at minus
// started_at), in milliseconds.
type Durations struct {
	Count int64 `json:"count"`
	SumMS int64 `json:"sum_ms"`
	MinMS int64 `json:"min_ms"`
	MaxMS int64 `json:"max_ms"`
	P50MS int64 `json:"p50_ms"`
	P95MS int64 `json:"p95_ms"`
	// Buckets is the sketch: counts by log bucket.
	Buckets map[int]int64 `json:"-"`
}

// String is "folder/project/package".
func (r PackageRef) String() string { return r.Folder + "/" + r.Project + "/" + r.Package }

// Last names an execution and when it changed.
type Last struct {
	ExecutionID string    `json:"execution_id"`
	Status      Status    `json:"status"`
	At          time.Time `json:"at"`
	Error       string    `json:"error,omitempty"`
}

// MarshalJSON writes every status, zero ones included, as the API's
// Counts schema requires (a dashboard's counts hold only the statuses that
// occurred).
func (c Counts) MarshalJSON() ([]byte, error) {
	all := make(map[Status]int64, len(Statuses))
	for _, s := range Statuses {
		all[s] = c[s]
	}
	for s, n := range c {
		all[s] = n
	}
	return json.Marshal(all)
}
