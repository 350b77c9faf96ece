package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/internal/packages/engine"
	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/scratch"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/wiring/config"
)

// exitError ends the command with a code and no further message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newPackage() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "package",
		Short: "Validate and run package files locally, with no AWS at all",
	}
	cmd.AddCommand(newPackageValidate(), newPackageRun())
	return cmd
}

func newPackageValidate() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check package files and report every problem with its location",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			types := tasktypes.NewRegistry()
			failed := 0
			for _, f := range files {
				p, err := pkgfile.LoadFile(f, types)
				if err != nil {
					failed++
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: package %q is valid (%s)\n", f, p.Name, taskCount(len(p.Tasks), countTasks(p.Tasks)-len(p.Tasks)))
			}
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
}

func countTasks(ts []pkgfile.Task) int {
	n := 0
	for _, t := range ts {
		n += 1 + countTasks(t.Tasks)
	}
	return n
}

func newPackageRun() *cobra.Command {
	var params []string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "run FILE [--param name=value]...",
		Short: "Run a package file on this computer and show tasks as they start and end",
		Long: `Run a package file on this computer through the same engine the workers use, showing
tasks as they start and end and their output lines. The tasks get a scratch directory of
their own (exec tasks start there), under $SCALEOUT_SCRATCH_DIR or the system's temporary
directory, removed when the run ends. Parameters are given as --param name=value
(lists as JSON or comma-separated). Sensitive parameter values are shown as ***.
The exit status is 0 when the package succeeded, 1 when it failed, 130 when interrupted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			types := tasktypes.NewRegistry()
			p, err := pkgfile.LoadFile(args[0], types)
			if err != nil {
				return err
			}
			given := map[string]string{}
			for _, kv := range params {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--param %q: write name=value", kv)
				}
				if _, dup := given[k]; dup {
					return fmt.Errorf("--param %s given twice", k)
				}
				given[k] = v
			}
			values, err := pkgfile.Bind(p, given, nil)
			if err != nil {
				return err
			}
			plan, err := engine.Compile(p, types)
			if err != nil {
				return err
			}
			root, err := config.ScratchDir(os.Getenv)
			if err != nil {
				return err
			}
			id := "local-" + uuid.NewString()
			dir, err := scratch.New(scratch.Options{Root: root}, id+"-1")
			if err != nil {
				return err
			}
			defer func() {
				if err := dir.Remove(); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
				}
			}()
			pr := &progress{out: cmd.OutOrStdout(), quiet: quiet}
			machine, _ := os.Hostname()
			res, err := engine.Run(cmd.Context(), plan, engine.RunOptions{
				Dir:    dir.Path,
				Params: values, Sensitive: pkgfile.Sensitive(p, values), Sink: pr,
				// A local run is nobody's execution: its id says so.
				System: expression.SystemInfo{ExecutionID: id, Attempt: 1, Package: p.Name,
					Machine: machine, StartedAt: time.Now().UTC().Format(time.RFC3339)},
			})
			if err != nil {
				return err
			}
			pr.summary(res)
			switch res.Status {
			case engine.Succeeded:
				return nil
			case engine.Canceled:
				return exitError{code: 130}
			}
			return exitError{code: 1}
		},
	}
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "a parameter value as name=value (repeatable)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not show the tasks' output lines")
	return cmd
}

// progress prints engine events for people.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	quiet bool
}

func (p *progress) Emit(ev engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	clock := ev.Time.Format("15:04:05.000")
	switch ev.Kind {
	case engine.PackageStarted:
		fmt.Fprintf(p.out, "%s package started\n", clock)
	case engine.TaskStarted:
		attempt := ""
		if ev.Attempt > 1 {
			attempt = fmt.Sprintf(" (attempt %d)", ev.Attempt)
		}
		fmt.Fprintf(p.out, "%s ▶ %s started%s\n", clock, ev.Task, attempt)
	case engine.TaskEnded:
		mark := "✔"
		if ev.Status != engine.Succeeded {
			mark = "✘"
		}
		line := fmt.Sprintf("%s %s %s %s in %s", clock, mark, ev.Task, ev.Status, ev.Duration.Round(time.Millisecond))
		if ev.Message != "" {
			line += ": " + ev.Message
		}
		fmt.Fprintln(p.out, line)
	case engine.TaskSkipped:
		fmt.Fprintf(p.out, "%s ○ %s skipped: %s\n", clock, ev.Task, ev.Message)
	case engine.TaskRetry:
		fmt.Fprintf(p.out, "%s ↻ %s will retry: %s\n", clock, ev.Task, ev.Message)
	case engine.Output:
		if !p.quiet {
			fmt.Fprintf(p.out, "%s   %s | %s\n", clock, ev.Task, ev.Message)
		}
	case engine.Warning, engine.Error:
		fmt.Fprintf(p.out, "%s ! %s %s: %s\n", clock, ev.Task, ev.Kind, ev.Message)
	case engine.PackageEnded:
		fmt.Fprintf(p.out, "%s package %s in %s\n", clock, ev.Status, ev.Duration.Round(time.Millisecond))
	}
}

func (p *progress) summary(res engine.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	runs := make([]taskRun, len(res.Tasks))
	for i, t := range res.Tasks {
		runs[i] = taskRun{t.Path, string(t.Status)}
	}
	fmt.Fprintln(p.out, runSummary(runs))
	if res.Error != "" {
		fmt.Fprintf(p.out, "error: %s\n", res.Error)
	}
}
