package engine

import "time"

// Status is how a task or a package ended.
type Status string

// Statuses. A package ends succeeded, failed or canceled; a task also
// skipped.
const (
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Skipped   Status = "skipped"
	Canceled  Status = "canceled"
)

// Result is how a run ended. Every string in it, and every string inside
// Vars and Outputs, has been through the run's redactor.
type Result struct {
	Status  Status         `json:"status"`
	Started time.Time      `json:"started"`
	Ended   time.Time      `json:"ended"`
	Tasks   []TaskResult   `json:"tasks"`
	Vars    map[string]any `json:"vars,omitempty"`
	// Error says why the package failed or was canceled: the first
	// unhandled task failure, "package timeout after 30m", or the
	// cancellation.
	Error string `json:"error,omitempty"`
}

// TaskResult is how one task ended. Tasks are listed in package order,
// depth first: a container, then each of its iterations' tasks.
type TaskResult struct {
	// Path is "load", "etl/load" (sequence) or "per-region[eu]/load"
	// (foreach: the item when it is a string, its index otherwise).
	Path string `json:"path"`
	// Type is the task's type, containers included.
	Type   string `json:"type"`
	Status Status `json:"status"`
	// Attempts is how many attempts ran: 0 for a task that was skipped or
	// failed before it could start, 1 for a container that started.
	Attempts int `json:"attempts"`
	// Started and Ended are zero for a skipped task.
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	// Error says why the task failed, was canceled or was skipped.
	Error string `json:"error,omitempty"`
	// Outputs is the Output of the task's last attempt.
	Outputs map[string]any `json:"outputs,omitempty"`
}
