package pkgrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/packages/engine"
	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/scratch"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// Prepared is a checked submission, ready to store.
type Prepared struct {
	// Definition is the package as canonical JSON.
	Definition json.RawMessage
	// Params are the bound values, defaults applied.
	Params map[string]any
	// Sensitive names the sensitive parameters.
	Sensitive []string
}

// Prepare parses and validates a package definition (JSON or YAML) and
// binds the given parameter values, reporting every problem at once
// (a *pkgfile.ValidationError).
func Prepare(types *task.Registry, definition []byte, params map[string]any) (Prepared, error) {
	p, err := pkgfile.Load(definition, "definition", types)
	if err != nil {
		return Prepared{}, err
	}
	bound, err := pkgfile.Bind(p, nil, params)
	if err != nil {
		return Prepared{}, err
	}
	canonical, err := json.Marshal(p)
	if err != nil {
		return Prepared{}, fmt.Errorf("encode package %q: %w", p.Name, err)
	}
	var sensitive []string
	for name, decl := range p.Parameters {
		if decl.Sensitive {
			sensitive = append(sensitive, name)
		}
	}
	slices.Sort(sensitive)
	return Prepared{Definition: canonical, Params: bound, Sensitive: sensitive}, nil
}

// CommandDefinition is the package of a bare command: one exec task named
// "main". It lets a caller run a program without writing a package.
func CommandDefinition(name string, argv []string) json.RawMessage {
	cmd := make([]any, len(argv))
	for i, a := range argv {
		cmd[i] = a
	}
	b, _ := json.Marshal(pkgfile.Package{
		Name:  name,
		Tasks: []pkgfile.Task{{Name: "main", Type: "exec", With: map[string]any{"command": cmd}}},
	})
	return b
}

// hostname is this computer's name (system.machine), read once rather
// than on every execution.
var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// Runner runs executions' packages through the engine.
type Runner struct {
	Types    *task.Registry
	Messages messages.Sink // a messages.Store; messages.Memory in tests
	Logger   *slog.Logger
	// Sealer opens the sensitive parameters the API sealed; without it an
	// execution that has some fails, saying which key to give the worker.
	Sealer secrets.Sealer
	// FlushEvery is the longest a message waits before it is written
	// (messages.WriterOptions); 0: messages.DefaultFlushEvery.
	FlushEvery time.Duration
	// Scratch is where each attempt's scratch directory is made (and
	// whose it is); the zero value: under scratch.DefaultRoot(), the
	// worker's.
	Scratch scratch.Options
	// Files, when set, puts the files of the project version an execution
	// runs (Execution.ProjectVersion) into its scratch directory before
	// the package starts (projectfiles.Cache). Nil, or an inline package
	// (version 0): the directory starts empty.
	Files ProjectFiles
}

// ProjectVersion names a deployed project version: its folder, project,
// number, and the project's incarnation (Execution.ProjectUID; empty: any).
type ProjectVersion struct {
	Folder, Project string
	Version         int
	UID             string
}

func (v ProjectVersion) String() string {
	return fmt.Sprintf("%s/%s version %d", v.Folder, v.Project, v.Version)
}

// ProjectFiles puts a deployed project version's files into a run's
// directory and returns their paths.
type ProjectFiles interface {
	Place(ctx context.Context, v ProjectVersion, dir string) ([]string, error)
}

// Run implements worker.Runner. A package that cannot be loaded, compiled
// or bound fails the execution with the reason.
func (r Runner) Run(ctx context.Context, e execution.Execution) execution.Result {
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fail := func(err error) execution.Result {
		return execution.Result{Status: execution.Failed, Error: err.Error()}
	}
	p, err := pkgfile.Load(e.Definition, "definition", r.Types)
	if err != nil {
		return fail(fmt.Errorf("package: %w", err))
	}
	plan, err := engine.Compile(p, r.Types)
	if err != nil {
		return fail(fmt.Errorf("package: %w", err))
	}
	e, err = execution.OpenParameters(ctx, e, r.Sealer)
	if err != nil {
		return fail(fmt.Errorf("parameters: %w", err))
	}
	params, err := pkgfile.Bind(p, nil, e.Parameters)
	if err != nil {
		return fail(fmt.Errorf("parameters: %w", err))
	}
	dir, err := scratch.New(r.Scratch, fmt.Sprintf("%s-%d", e.ID, e.Attempt))
	if err != nil {
		return fail(err)
	}
	// Removed however the attempt ends: succeeded, failed or stopped.
	defer func() {
		if err := dir.Remove(); err != nil {
			log.WarnContext(ctx, "the scratch directory was not removed", "execution_id", e.ID, "attempt", e.Attempt, "error", err)
		}
	}()
	if r.Files != nil && e.ProjectVersion > 0 {
		if err := r.placeFiles(ctx, e, dir.Path); err != nil {
			return fail(err)
		}
	}
	w := messages.NewWriter(r.Messages, e.ID, e.Attempt, messages.WriterOptions{Logger: log, FlushEvery: r.FlushEvery})
	sensitive := pkgfile.Sensitive(p, params)
	res, err := engine.Run(ctx, plan, engine.RunOptions{
		Dir:       dir.Path,
		Params:    params,
		Sensitive: sensitive,
		System: expression.SystemInfo{
			ExecutionID: e.ID, Attempt: e.Attempt, Folder: e.Folder, Project: e.Project, Package: e.Package,
			Pool: e.Pool, WorkerID: e.WorkerID, Machine: hostname(), StartedAt: time.Now().UTC().Format(time.RFC3339),
		},
		Sink: engine.SinkFunc(func(ev engine.Event) { w.Add(toMessage(ev)) }),
	})
	if cerr := w.Close(); cerr != nil {
		log.WarnContext(ctx, "some messages were not written", "execution_id", e.ID, "error", cerr)
	}
	if err != nil {
		return fail(err)
	}
	tasks := summaries(res.Tasks, pkgfile.NewRedactor(sensitive))
	return execution.Result{Status: status(res.Status), Error: res.Error, Tasks: tasks, TasksOmitted: len(res.Tasks) - len(tasks)}
}

// placeFiles puts the project's files into the run's directory, given to
// the task user when there is one (as the directory is), so that its
// programs may change them.
func (r Runner) placeFiles(ctx context.Context, e execution.Execution, dir string) error {
	paths, err := r.Files.Place(ctx, ProjectVersion{Folder: e.Folder, Project: e.Project, Version: e.ProjectVersion, UID: e.ProjectUID}, dir)
	if err != nil {
		return err
	}
	if o := r.Scratch.Owner; o != nil && len(paths) > 0 {
		// Best effort: without CAP_CHOWN they stay the worker's, readable
		// by all.
		_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err == nil && p != dir {
				_ = os.Lchown(p, o.UID, o.GID)
			}
			return nil
		})
	}
	return nil
}

func toMessage(ev engine.Event) messages.Message {
	return messages.Message{
		Time: ev.Time, Kind: string(ev.Kind), Task: ev.Task, Status: string(ev.Status),
		Stream: ev.Stream, Message: ev.Message, DurationMS: ev.Duration.Milliseconds(),
	}
}

func status(s engine.Status) execution.Status {
	switch s {
	case engine.Succeeded:
		return execution.Succeeded
	case engine.Canceled:
		return execution.Canceled
	}
	return execution.Failed
}

// summaries are the tasks' summaries, with a dataflow task's statistics
// (red redacts the tap's values).
func summaries(tasks []engine.TaskResult, red *pkgfile.Redactor) []execution.TaskSummary {
	n := min(len(tasks), execution.MaxTaskSummaries)
	out := make([]execution.TaskSummary, 0, n)
	for _, t := range tasks[:n] {
		var d time.Duration
		if !t.Started.IsZero() && !t.Ended.IsZero() {
			d = t.Ended.Sub(t.Started)
		}
		s := execution.TaskSummary{
			Path: t.Path, Status: string(t.Status), Attempts: t.Attempts, DurationMS: d.Milliseconds(), Error: t.Error,
		}
		if t.Type == dataflowType {
			s.DataFlow = dataFlowStats(t.Outputs, red)
		}
		out = append(out, s)
	}
	return out
}

// dataflowType is the task type whose output holds data flow statistics.
const dataflowType = "dataflow"

// ErrInvalid matches a package or parameters that do not validate.
var ErrInvalid = pkgfile.ErrInvalid
