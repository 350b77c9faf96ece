package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/pkg/catalog"
	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/messages"
	"github.com/scaleout/scaleout/pkg/pkgfile"
	"github.com/scaleout/scaleout/scaleouttype"
)

// runFlags are `scaleout run`'s own flags.
type runFlags struct {
	folder, project, file, environment, pool string
	params                                   []string
	retries, lostRetries                     int
	executionTimeout                         time.Duration
	callbackURL, idempotencyKey              string
	wait, stopOnInterrupt, quiet             bool
	interval                                 time.Duration
}

// stopWait bounds the wait for a stop asked by Ctrl-C (--stop-on-interrupt).
const stopWait = time.Minute

func newRun() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [PACKAGE] [flags] [-- PROGRAM [ARG]...]",
		Short: "Start an execution on the workers: a deployed package, a package file, or a program",
		Long: `Start an execution through the API, in one of three forms:

  scaleout run PACKAGE --project P [--folder F]   a package of a deployed project (folder
                                                  "default" unless given), its parameters bound
                                                  from --param, --environment and defaults
  scaleout run --file FILE [PACKAGE]              a package file sent with the request
  scaleout run [PACKAGE] -- PROGRAM [ARG]...      one program, as a one-task package

--param name=value is converted to the parameter's declared type (lists as JSON or
comma-separated), as ` + "`scaleout package run`" + ` does.

Without --wait the execution's id is printed and the command ends; the execution runs on.
With --wait the tasks are shown as they start and end (from the execution's messages) until
the execution ends, and the exit status is the execution's:
  0  succeeded
  1  failed or ended_unexpectedly (and any error of the command itself)
  2  canceled
  130  Ctrl-C: the command stops waiting but the execution goes on; with
       --stop-on-interrupt it is stopped instead, and the exit status is its final one
With --output json the started execution (with --wait, the ended one) is printed as the API
sends it, and the progress goes to stderr.`,
		Example: `  scaleout run hello --folder demo --project examples --param who=Ada --wait
  scaleout run --file examples/hello.yaml -p who=Ada --wait
  scaleout run nightly -- sh -c 'echo hello from Scaleout'
  scaleout run daily --folder finance --project etl --environment prod --wait -o json > result.json`,
		Args: cobra.ArbitraryArgs,
	}
	r := newRemote(cmd)
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		req, err := f.request(cmd, args, c)
		if err != nil {
			return err
		}
		var raw json.RawMessage
		opts := []client.CallOption{client.Raw(&raw)}
		if f.idempotencyKey != "" {
			opts = append(opts, client.IdempotencyKey(f.idempotencyKey))
		}
		e, err := c.CreateExecution(cmd.Context(), req, opts...)
		if err != nil {
			return err
		}
		if !f.wait && r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		progress := r.progressOut(cmd)
		fmt.Fprintf(progress, "execution %s %s: %s on pool %s\n", e.ID, e.Status, e.Ref(), e.Pool)
		if !f.wait {
			fmt.Fprintf(progress, "follow it: scaleout logs %s --follow\n", e.ID)
			return nil
		}
		return f.waitFor(cmd, r, c, e)
	})
	fl := cmd.Flags()
	fl.StringVar(&f.folder, "folder", "", `the deployed project's folder (default "default")`)
	fl.StringVar(&f.project, "project", "", "the deployed project holding PACKAGE")
	fl.StringVar(&f.file, "file", "", "run this package file (YAML or JSON) instead of a deployed package")
	fl.StringArrayVarP(&f.params, "param", "p", nil, "a parameter value as name=value (repeatable)")
	fl.StringVarP(&f.environment, "environment", "e", "", "bind the project's parameters from this environment (NAME, or FOLDER/NAME)")
	fl.StringVar(&f.pool, "pool", "", `the worker pool to run on (default "default")`)
	fl.IntVar(&f.retries, "retries", 0, "how many more attempts an execution whose package failed may get (0-10)")
	fl.IntVar(&f.lostRetries, "lost-retries", -1, "how many more attempts it gets when its worker dies (0-10; default: the server's, 2)")
	fl.DurationVar(&f.executionTimeout, "execution-timeout", 0, "bound each attempt's run, such as 30m (default: the package's own timeout)")
	fl.StringVar(&f.callbackURL, "callback-url", "", "an http(s) URL that receives a signed webhook when the execution ends")
	fl.StringVar(&f.idempotencyKey, "idempotency-key", "", "a key that makes a repeated request return the same execution")
	fl.BoolVarP(&f.wait, "wait", "w", false, "show the tasks as they run and exit with the execution's status")
	fl.BoolVar(&f.stopOnInterrupt, "stop-on-interrupt", false, "with --wait, Ctrl-C stops the execution (by default it goes on)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "with --wait, do not show the tasks' output lines")
	fl.DurationVar(&f.interval, "interval", time.Second, "with --wait, how often to ask for new messages")
	return cmd
}

// request builds the API request from the arguments and flags.
func (f *runFlags) request(cmd *cobra.Command, args []string, c *client.Client) (scaleouttype.CreateExecutionRequest, error) {
	var program []string
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		args, program = args[:dash], args[dash:]
	}
	if len(args) > 1 {
		return scaleouttype.CreateExecutionRequest{}, fmt.Errorf("give one PACKAGE, got %d (%s); a program and its arguments go after --", len(args), strings.Join(args, " "))
	}
	req := scaleouttype.CreateExecutionRequest{
		Folder: f.folder, Project: f.project, Pool: f.pool, Retries: f.retries, CallbackURL: f.callbackURL,
	}
	if len(args) == 1 {
		req.Package = args[0]
	}
	if f.lostRetries >= 0 {
		req.LostRetries = &f.lostRetries
	}
	if f.executionTimeout > 0 {
		req.Timeout = f.executionTimeout.String()
	}
	if f.environment != "" {
		ref := catalog.EnvRef{Environment: f.environment}
		if folder, name, ok := strings.Cut(f.environment, "/"); ok {
			ref = catalog.EnvRef{Folder: folder, Environment: name}
		}
		req.Environment = &ref
	}
	var decls map[string]pkgfile.Parameter
	switch {
	case len(program) > 0:
		if f.file != "" {
			return req, fmt.Errorf("give --file or a program after --, not both")
		}
		req.Command = program
	case f.file != "":
		text, err := os.ReadFile(f.file)
		if err != nil {
			return req, err
		}
		req.Definition, _ = json.Marshal(string(text))
		if p, err := pkgfile.Parse(text, f.file); err == nil {
			decls = p.Parameters
			if req.Package == "" && p.Name == "" {
				req.Package = strings.TrimSuffix(filepath.Base(f.file), filepath.Ext(f.file))
			}
		} // else the API lists the file's problems
	default:
		if req.Package == "" || req.Project == "" {
			return req, fmt.Errorf("give PACKAGE and --project of a deployed project, or --file FILE, or a program after --")
		}
		if len(f.params) > 0 {
			var err error
			if decls, err = deployedParameters(cmd.Context(), c, req); err != nil {
				return req, err
			}
		}
	}
	params, err := typedParams(f.params, decls)
	if err != nil {
		return req, err
	}
	req.Parameters = params
	return req, nil
}

// deployedParameters are the parameters a deployed package declares: the
// project's, and the package's own, which win.
func deployedParameters(ctx context.Context, c *client.Client, req scaleouttype.CreateExecutionRequest) (map[string]pkgfile.Parameter, error) {
	folder := req.Folder
	if folder == "" {
		folder = "default"
	}
	p, err := c.DescribeProject(ctx, folder, req.Project)
	if err != nil {
		return nil, fmt.Errorf("project %s/%s: %w", folder, req.Project, err)
	}
	out := map[string]pkgfile.Parameter{}
	for k, v := range p.Parameters {
		out[k] = v
	}
	for _, pk := range p.Packages {
		if pk.Name == req.Package {
			for k, v := range pk.Parameters {
				out[k] = v
			}
		}
	}
	return out, nil
}

// typedParams converts name=value flags to the declared types; a name the
// package does not declare is sent as text, for the API to report.
func typedParams(given []string, decls map[string]pkgfile.Parameter) (map[string]any, error) {
	if len(given) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(given))
	for _, kv := range given {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: write name=value", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--param %s given twice", k)
		}
		decl, declared := decls[k]
		if !declared {
			out[k] = v
			continue
		}
		typed, ok := pkgfile.ParseValue(decl.Type, v)
		if !ok {
			shown := fmt.Sprintf("%q", v)
			if decl.Sensitive {
				shown = "(sensitive)"
			}
			return nil, fmt.Errorf("--param %s=%s: not a valid %s", k, shown, decl.Type)
		}
		out[k] = typed
	}
	return out, nil
}

// waitFor follows the execution until it ends and exits with its status.
func (f *runFlags) waitFor(cmd *cobra.Command, r *remote, c *client.Client, e execution.Execution) error {
	ctx := cmd.Context()
	progress := &lockedWriter{w: r.progressOut(cmd)}
	notes := io.Writer(progress)
	if !r.json() {
		notes = &lockedWriter{w: cmd.ErrOrStderr()}
	}
	// Following does not end with ctx: Ctrl-C either ends it (the
	// execution goes on) or stops the execution and follows it to its end.
	follow, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopAsked := make(chan struct{})
	go func() {
		select {
		case <-follow.Done():
			return
		case <-ctx.Done():
		}
		if !f.stopOnInterrupt {
			cancel()
			return
		}
		fmt.Fprintf(notes, "interrupted: stopping execution %s (waiting up to %s for it to end)\n", e.ID, stopWait)
		sctx, scancel := context.WithTimeout(follow, stopWait)
		defer scancel()
		if _, err := c.StopExecution(sctx, e.ID); err != nil {
			fmt.Fprintf(notes, "could not stop execution %s: %v\n", e.ID, err)
			cancel()
			return
		}
		close(stopAsked)
		time.AfterFunc(stopWait, cancel)
	}()
	pr := newMessagePrinter(progress, f.quiet)
	last := e.Status
	final, err := c.Follow(follow, e.ID, client.FollowOptions{
		Interval: f.interval,
		OnMessage: func(m messages.Message, _ json.RawMessage) error {
			pr.print(m)
			return nil
		},
		OnStatus: func(now execution.Execution) {
			if now.Status == last || now.Status.Final() {
				return
			}
			last = now.Status
			at := time.Now()
			if now.StartedAt != nil && now.Status == execution.Running {
				at = *now.StartedAt
			}
			clock := at.Local().Format("15:04:05.000")
			switch now.Status {
			case execution.Running:
				fmt.Fprintf(progress, "%s execution running on worker %s (attempt %d)\n", clock, now.WorkerID, now.Attempt)
			case execution.Pending:
				fmt.Fprintf(progress, "%s execution pending: waiting for a worker of pool %s\n", clock, now.Pool)
			default:
				fmt.Fprintf(progress, "%s execution %s\n", clock, now.Status)
			}
		},
	})
	if err != nil {
		if follow.Err() != nil && ctx.Err() != nil {
			select {
			case <-stopAsked:
				fmt.Fprintf(notes, "execution %s did not end within %s of the stop; see: scaleout executions show %s\n", e.ID, stopWait, e.ID)
			default:
				fmt.Fprintf(notes, "stopped waiting: execution %s goes on.\n  follow it: scaleout logs %s --follow\n  stop it:   scaleout executions stop %s\n", e.ID, e.ID, e.ID)
			}
			return exitError{code: 130}
		}
		return err
	}
	if r.json() {
		var raw json.RawMessage
		if _, err := c.GetExecution(follow, e.ID, client.Raw(&raw)); err != nil {
			return err
		}
		if err := writeJSON(cmd.OutOrStdout(), raw); err != nil {
			return err
		}
	}
	summarize(progress, final)
	if code := statusExit(final.Status); code != 0 {
		return exitError{code: code}
	}
	return nil
}

// summarize writes how an execution ended.
func summarize(w io.Writer, e execution.Execution) {
	if len(e.Tasks) > 0 {
		runs := make([]taskRun, len(e.Tasks))
		for i, t := range e.Tasks {
			runs[i] = taskRun{t.Path, t.Status}
		}
		fmt.Fprintln(w, runSummary(runs))
	}
	line := fmt.Sprintf("execution %s %s", e.ID, e.Status)
	if d := took(e, time.Now()); d != "" {
		line += " in " + d
	}
	if e.Error != "" {
		line += ": " + e.Error
	}
	fmt.Fprintln(w, line)
}
