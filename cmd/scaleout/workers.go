package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/internal/worker/registry"
)

func newWorkers() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "workers",
		Aliases: []string{"worker"},
		Short:   "See and manage the workers (the Scale Out Manager)",
	}
	r := newRemote(cmd)
	cmd.AddCommand(newWorkersList(r), newWorkersDescribe(r),
		newWorkerAction(r, "enable", "Let a worker take work again", (*client.Client).EnableWorker),
		newWorkerAction(r, "disable", "Stop a worker from taking new work (what it runs goes on)", (*client.Client).DisableWorker),
		newWorkersRemove(r))
	return cmd
}

func newWorkersList(r *remote) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the workers: online, enabled, pools, running executions, last heartbeat",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, _ []string, c *client.Client) error {
		var raw json.RawMessage
		ws, err := c.Workers(cmd.Context(), client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		now := time.Now()
		t := newTable(cmd.OutOrStdout(), "ID", "STATE", "ENABLED", "POOLS", "RUNNING", "MACHINE", "VERSION", "HEARTBEAT")
		for _, w := range ws {
			t.row(w.ID, online(w), strconv.FormatBool(w.Enabled), strings.Join(w.Pools, ","),
				fmt.Sprintf("%d/%d", w.Running, w.MaxTasks), w.Machine, w.Version, ago(w.LastHeartbeat, now))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if len(ws) == 0 {
			fmt.Fprintln(cmd.ErrOrStderr(), "no workers are registered")
		}
		return nil
	})
	return cmd
}

func online(w registry.Worker) string {
	if w.Online {
		return "online"
	}
	return "offline"
}

func newWorkersDescribe(r *remote) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "describe WORKER_ID",
		Aliases: []string{"show"},
		Short:   "Show one worker",
		Args:    cobra.ExactArgs(1),
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		w, err := c.GetWorker(cmd.Context(), args[0], client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		return showWorker(cmd, w)
	})
	return cmd
}

func showWorker(cmd *cobra.Command, w registry.Worker) error {
	now := time.Now()
	tags := make([]string, 0, len(w.Tags))
	for _, k := range slices.Sorted(maps.Keys(w.Tags)) {
		if v := w.Tags[k]; v != "" {
			tags = append(tags, k+"="+v)
		} else {
			tags = append(tags, k)
		}
	}
	return fields(cmd.OutOrStdout(),
		"ID", w.ID,
		"Name", w.DisplayName,
		"Description", w.Description,
		"State", online(w),
		"Enabled", strconv.FormatBool(w.Enabled),
		"Pools", strings.Join(w.Pools, ", "),
		"Running", fmt.Sprintf("%d of %d", w.Running, w.MaxTasks),
		"Machine", w.Machine,
		"Version", w.Version,
		"Tags", strings.Join(tags, ", "),
		"Registered", clock(&w.RegisteredAt, now),
		"Last heartbeat", clock(&w.LastHeartbeat, now),
	)
}

type workerCall func(*client.Client, context.Context, string, ...client.CallOption) (registry.Worker, error)

func newWorkerAction(r *remote, verb, short string, call workerCall) *cobra.Command {
	cmd := &cobra.Command{
		Use:   verb + " WORKER_ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		w, err := call(c, cmd.Context(), args[0], client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		state := "disabled: it takes no new work within 4 s (its next signals read); what it runs goes on"
		if w.Enabled {
			state = "enabled: it takes work again within 4 s (its next signals read)"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "worker %s %s\n", w.ID, state)
		return nil
	})
	return cmd
}

func newWorkersRemove(r *remote) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remove WORKER_ID",
		Short: "Remove an offline worker from the registry (an online one is refused: stop it first; a restarted worker process registers again)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		var raw json.RawMessage
		res, err := c.RemoveWorker(cmd.Context(), args[0], client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "removed worker %s: %s\n", res.Removed, res.Note)
		return nil
	})
	return cmd
}
