package scaleouttype

import "time"

// Worker is one registered worker.
type Worker struct {
	ID string `json:"id"`
	// DisplayName, Description, Tags and Enabled are the administrator's;
	// a worker's registration does not change them once it exists.
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	// Tags are labels as key/value pairs (a map, so that an administrator
	// can set, replace or look up one label by its key, and the JSON is an
	// object). A label without a value has value "".
	Tags    map[string]string `json:"tags"`
	Enabled bool              `json:"enabled"`

	// Machine is the host name the worker runs on.
	Machine string   `json:"machine"`
	Pools   []string `json:"pools"`
	// MaxTasks is how many executions the worker runs at once.
	MaxTasks int    `json:"max_tasks"`
	Version  string `json:"version"`
	// Running is how many executions its session recorded at its last
	// renewal (0 once it is offline).
	Running int `json:"running"`

	RegisteredAt  time.Time `json:"registered_at"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// Online is derived: its session's lease has not run out and it did
	// not sign off.
	Online bool `json:"online"`
}
