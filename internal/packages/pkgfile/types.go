package pkgfile

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Package is one package file: a control flow of tasks joined by precedence
// constraints, with typed parameters and variables.
type Package struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters are given when an execution is created; values override
	// defaults.
	Parameters map[string]Parameter `json:"parameters,omitempty"`
	// Variables are set while the package runs (task outputs, set tasks).
	Variables map[string]Variable `json:"variables,omitempty"`
	// Connections are the package's named connections (SSIS's connection
	// managers), which tasks name in their `connection` setting.
	Connections map[string]Connection `json:"connections,omitempty"`
	// MaxParallel caps how many tasks run at once in the whole package;
	// 0 means the engine's default.
	MaxParallel int `json:"max_parallel,omitempty"`
	// Timeout bounds the whole run; 0 means none.
	Timeout Duration `json:"timeout,omitempty"`
	Tasks   []Task   `json:"tasks"`
}

// Type is the type of a parameter or variable.
type Type = scaleouttype.ParamType

// Types.
const (
	String   = scaleouttype.TypeString
	Int      = scaleouttype.TypeInt
	Float    = scaleouttype.TypeFloat
	Bool     = scaleouttype.TypeBool
	DateTime = scaleouttype.TypeDateTime // RFC 3339
	List     = scaleouttype.TypeList     // a JSON list
)

// Types lists every type.
var Types = scaleouttype.ParamTypes

// Parameter declares one package parameter.
type Parameter = scaleouttype.Parameter

// Variable declares one package variable.
type Variable struct {
	Type        Type   `json:"type"`
	Default     any    `json:"default,omitempty"`
	Description string `json:"description,omitempty"`
}

// Connection declares one named connection: see scaleouttype.Connection,
// which a project's connections share.
type Connection = scaleouttype.Connection

// Scalar is a field written as text, a number or true/false, kept as its
// text: see scaleouttype.Scalar.
type Scalar = scaleouttype.Scalar

// Transaction puts a sequence's sql tasks on one connection in one
// database transaction: committed when the sequence succeeds, rolled back
// when it fails or the run stops.
type Transaction struct {
	// Connection names the package's database connection.
	Connection string `json:"connection"`
}

// Task is one step of the control flow, or a container of steps.
type Task struct {
	Name string `json:"name"`
	// Type names a registered task type (exec, http, sleep, fail, set, ...)
	// or a container: sequence, foreach.
	Type string `json:"type"`
	// With is the task type's settings; strings may hold ${expression}
	// interpolations.
	With map[string]any `json:"with,omitempty"`
	// After are the precedence constraints: the task runs when all of them
	// hold (SSIS's logical AND). A task without constraints starts at once.
	After []Constraint `json:"after,omitempty"`
	// Outputs map variable names to paths in the task's result, for example
	// {"rows": "body.count"}.
	Outputs map[string]string `json:"outputs,omitempty"`
	Retry   *Retry            `json:"retry,omitempty"`
	// Timeout bounds one attempt of the task; 0 means none.
	Timeout  Duration `json:"timeout,omitempty"`
	Disabled bool     `json:"disabled,omitempty"`

	// Containers (sequence, foreach) hold tasks of their own.
	Tasks []Task `json:"tasks,omitempty"`
	// Transaction is a sequence's transaction around its sql tasks on one
	// connection.
	Transaction *Transaction `json:"transaction,omitempty"`
	// Items is foreach's list expression, for example '["eu", "us"]' or
	// 'params.regions'.
	Items string `json:"items,omitempty"`
	// Parallel runs foreach iterations at once (within max_parallel).
	Parallel bool `json:"parallel,omitempty"`
	// As names the loop value; expressions see it as item, the only name
	// allowed (kept for clarity in files: as: item).
	As string `json:"as,omitempty"`
}

// Outcome is what a precedence constraint waits for.
type Outcome string

// Outcomes, as SSIS's precedence constraints have them.
const (
	OnSuccess    Outcome = "success"
	OnFailure    Outcome = "failure"
	OnCompletion Outcome = "completion"
)

// Constraint is one precedence constraint.
type Constraint struct {
	Task string `json:"task"`
	// On defaults to success.
	On Outcome `json:"on,omitempty"`
	// When is an optional boolean expression that must also hold.
	When string `json:"when,omitempty"`
}

// Retry is a task's retry policy.
type Retry struct {
	// Attempts counts every attempt, the first included.
	Attempts int      `json:"attempts"`
	Backoff  Duration `json:"backoff,omitempty"`
}

// Duration is a time.Duration written as "30s", "10m" or "1h30m".
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "30s"-style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: write a string such as \"30s\" or \"10m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: write it as \"30s\", \"10m\" or \"1h30m\"", s)
	}
	if v < 0 {
		return fmt.Errorf("duration %q: must not be negative", s)
	}
	*d = Duration(v)
	return nil
}
