package scaleouttype

import "encoding/json"

// CreateExecutionRequest is the body of POST /v1/executions.
type CreateExecutionRequest struct {
	Folder  string `json:"folder"`
	Project string `json:"project"`
	Package string `json:"package"`
	Pool    string `json:"pool"`
	// Definition is the package to run: a JSON object, or a string
	// holding the package file's YAML or JSON text.
	Definition json.RawMessage `json:"definition,omitempty"`
	// Parameters are values for the package's parameters.
	Parameters map[string]any `json:"parameters"`
	// Command runs one program instead of a package (a one-task package).
	Command []string `json:"command"`
	// Environment names the environment whose variables bind the deployed
	// project's parameters (one of the project's references).
	Environment *EnvRef `json:"environment"`
	// Retries is how many more attempts an execution whose package failed
	// may get (0-10, default 0).
	Retries int `json:"retries"`
	// LostRetries is how many more attempts an execution may get when an
	// attempt is lost (its worker died): 0-10, default the server's
	// (SCALEOUT_LOST_RETRIES, 2).
	LostRetries *int `json:"lost_retries"`
	// Timeout bounds each attempt, as "30m" or "2h" (default: the
	// package's own timeout only).
	Timeout string `json:"timeout"`
	// CallbackURL receives a signed webhook when the execution ends: an
	// http or https URL of at most 2048 characters (see pkg/notify).
	CallbackURL string `json:"callback_url"`
}

// CreateFolderRequest is the body of POST /v1/folders.
type CreateFolderRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ProjectList is the body of GET /v1/folders/{folder}/projects.
type ProjectList struct {
	Projects []ProjectSummary `json:"projects"`
}

// VersionList is the body of GET .../versions, newest first.
type VersionList struct {
	Versions []Version `json:"versions"`
}

// RestoreRequest is the body of POST .../restore.
type RestoreRequest struct {
	Version int `json:"version"`
}

// ReferencesRequest is the body of PUT .../references.
type ReferencesRequest struct {
	References []EnvRef `json:"references"`
}

// BindingsRequest is the body of PUT .../bindings: parameter name to
// environment variable name, replacing every binding.
type BindingsRequest struct {
	Bindings map[string]string `json:"bindings"`
}

// BindingsPatch is the body of PATCH .../bindings: parameter name to
// environment variable name to bind it, or to null to unbind it; the
// other bindings are kept.
type BindingsPatch struct {
	Bindings map[string]*string `json:"bindings"`
}

// BindingsResponse is the answer of PUT and PATCH .../bindings: the
// project as GET shows it, and what the change did.
type BindingsResponse struct {
	Project
	Changes BindingChanges `json:"changes"`
}

// EnvironmentList is the body of GET .../environments.
type EnvironmentList struct {
	Environments []Environment `json:"environments"`
}

// CreateEnvironmentRequest is the body of POST .../environments.
type CreateEnvironmentRequest struct {
	Name string `json:"name"`
	EnvironmentInput
}

// PoolView is one pool in GET /v1/pools: its queue, its workers, its
// executions, and why pending work does not start.
type PoolView struct {
	Pool  string `json:"pool"`
	Queue struct {
		Visible  int `json:"visible"`
		InFlight int `json:"in_flight"`
	} `json:"queue"`
	Workers struct {
		Online   int `json:"online"`
		Enabled  int `json:"enabled"`
		Capacity int `json:"capacity"`
		Running  int `json:"running"`
	} `json:"workers"`
	// QueueError says the queue's figures are unknown, when they are.
	QueueError string `json:"queue_error,omitempty"`
	Counts     Counts `json:"counts"`
	Running    int64  `json:"running"`
	// OldestPendingSeconds is the age of the pool's oldest pending
	// execution, looked for among the OldestScan oldest pending ones.
	OldestPendingSeconds float64 `json:"oldest_pending_seconds,omitempty"`
	// Waiting says why queued work does not start, when it does not.
	Waiting string `json:"waiting,omitempty"`
}

// PoolList is the body of GET /v1/pools.
type PoolList struct {
	Pools []PoolView `json:"pools"`
}

// WorkerList is the body of GET /v1/
type WorkerList struct {
	Workers []Worker `json:"workers"`
}

// UpdateWorkerRequest is the body of PATCH /v1/workers/{id}: fields left
// out stay as they are; "tags" replaces every tag.
type UpdateWorkerRequest struct {
	DisplayName *string           `json:"display_name"`
	Description *string           `json:"description"`
	Tags        map[string]string `json:"tags"`
}
