package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/execution"
)

func newExecutions() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "executions",
		Aliases: []string{"execution", "exec"},
		Short:   "List, show and stop executions",
	}
	r := newRemote(cmd)
	cmd.AddCommand(newExecutionsList(r), newExecutionsShow(r), newExecutionsStop(r))
	return cmd
}

func newExecutionsList(r *remote) *cobra.Command {
	var f execstore.Filter
	var status, since, until string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List executions, newest first",
		Long: `List executions, newest first, one page at a time (--limit, default 100): when there are
more, the command says how to ask for the next page (--cursor).

--since and --until take an RFC 3339 time (2026-11-25T10:00:00Z) or an age (90m, 2h, 7d).
Without --folder, --package or an unfinished --status the API lists the 30 days before --until
(or now, if --until is later or not given); --since reaches further back, at no cost for empty days.`,
		Example: `  scaleout executions list --status failed --since 24h
  scaleout executions list --folder finance --project daily --package load -o json`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, _ []string, c *client.Client) error {
		now := time.Now()
		var err error
		if f.Since, err = whenFlag("since", since, now); err != nil {
			return err
		}
		if f.Until, err = whenFlag("until", until, now); err != nil {
			return err
		}
		f.Status = execution.Status(status)
		var raw json.RawMessage
		page, err := c.ListExecutions(cmd.Context(), f, client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		t := newTable(cmd.OutOrStdout(), "ID", "STATUS", "PACKAGE", "POOL", "ATTEMPT", "CREATED", "DURATION")
		for _, e := range page.Executions {
			t.row(e.ID, string(e.Status), e.Ref(), e.Pool, strconv.Itoa(e.Attempt), ago(e.CreatedAt, now), took(e, now))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if len(page.Executions) == 0 {
			fmt.Fprintln(cmd.ErrOrStderr(), "no executions match")
		}
		if page.Next != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "more: add --cursor %s\n", page.Next)
		}
		return nil
	})
	fl := cmd.Flags()
	fl.StringVarP(&f.Folder, "folder", "f", "", "only this folder's")
	fl.StringVar(&f.Project, "project", "", "only this project's")
	fl.StringVar(&f.Package, "package", "", `only this package's (its folder and project default to "default")`)
	fl.StringVar(&status, "status", "", "only those with this status: "+statusNames())
	fl.StringVar(&since, "since", "", "only those created at or after this time or age")
	fl.StringVar(&until, "until", "", "only those created at or before this time or age")
	fl.IntVar(&f.Limit, "limit", 0, "at most this many (1-1000; default 100)")
	fl.StringVar(&f.Cursor, "cursor", "", "the next page, as the previous page said")
	return cmd
}

func statusNames() string {
	s := make([]string, len(execution.Statuses))
	for i, st := range execution.Statuses {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// whenFlag reads a time as RFC 3339 or as an age before now ("2h", "7d").
func whenFlag(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: give an RFC 3339 time such as 2026-11-25T10:00:00Z, or an age such as 90m, 2h or 7d", name, v)
}

func newExecutionsShow(r *remote) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show EXECUTION_ID",
		Short: "Show an execution: status, attempt, worker, times, parameters and how each task ended",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		e, err := c.GetExecution(cmd.Context(), args[0], client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		return showExecution(cmd, e)
	})
	return cmd
}

func showExecution(cmd *cobra.Command, e execution.Execution) error {
	out := cmd.OutOrStdout()
	now := time.Now()
	pkg := e.Ref()
	if e.ProjectVersion > 0 {
		pkg += fmt.Sprintf(" (project version %d)", e.ProjectVersion)
	}
	attempt := strconv.Itoa(e.Attempt)
	if e.Retries > 0 {
		attempt += fmt.Sprintf(" (%d retries allowed)", e.Retries)
	}
	var timeout string
	if e.TimeoutMS > 0 {
		timeout = (time.Duration(e.TimeoutMS) * time.Millisecond).String()
	}
	if err := fields(out,
		"ID", e.ID,
		"Status", string(e.Status),
		"Package", pkg,
		"Pool", e.Pool,
		"Worker", e.WorkerID,
		"Attempt", attempt,
		"Timeout", timeout,
		"Created", clock(&e.CreatedAt, now),
		"Started", clock(e.StartedAt, now),
		"Ended", clock(e.EndedAt, now),
		"Duration", took(e, now),
		"Parameters", sortedParams(e.Parameters),
		"Error", e.Error,
		"Callback", e.CallbackURL,
	); err != nil {
		return err
	}
	if len(e.Attempts) > 0 {
		fmt.Fprintf(out, "\nEarlier attempts: %d (see -o json)\n", len(e.Attempts))
	}
	if len(e.Tasks) > 0 {
		fmt.Fprintln(out)
		t := newTable(out, "TASK", "STATUS", "ATTEMPTS", "DURATION", "ERROR")
		for _, ts := range e.Tasks {
			t.row(ts.Path, ts.Status, strconv.Itoa(ts.Attempts), human(time.Duration(ts.DurationMS)*time.Millisecond), ts.Error)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return showDataFlows(out, e.Tasks)
}

func newExecutionsStop(r *remote) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stop EXECUTION_ID",
		Short: "Stop an execution: a pending one is canceled at once, a running one within seconds",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		e, err := c.StopExecution(cmd.Context(), args[0], client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		switch e.Status {
		case execution.Stopping:
			fmt.Fprintf(cmd.OutOrStdout(), "execution %s stopping: its worker cancels it within seconds (see: scaleout executions show %s)\n", e.ID, e.ID)
		default:
			fmt.Fprintf(cmd.OutOrStdout(), "execution %s %s\n", e.ID, e.Status)
		}
		return nil
	})
	return cmd
}
