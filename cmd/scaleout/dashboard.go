package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/pkg/aggregate"
	"github.com/scaleout/scaleout/pkg/execution"
)

func newDashboard() *cobra.Command {
	var hours int
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Show the dashboard: what ended in the last hours, by package, and what runs now",
		Long: `Show the Integration Services Dashboard's figures: the executions that ended in the last
--hours (default 24) by final status, each package's counts and durations (median and 95th
percentile) and its last failure, and how many executions run and wait now.`,
		Args: cobra.NoArgs,
	}
	r := newRemote(cmd)
	cmd.RunE = r.runE(func(cmd *cobra.Command, _ []string, c *client.Client) error {
		if hours < 1 || hours > 720 {
			return fmt.Errorf("--hours %d: give a whole number from 1 to 720", hours)
		}
		var raw json.RawMessage
		d, err := c.Dashboard(cmd.Context(), hours, client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		out := cmd.OutOrStdout()
		now := time.Now()
		fmt.Fprintf(out, "Ended since %s (%s):\n", d.Since.Local().Format("2006-01-02 15:04"), ago(d.Since, now))
		fmt.Fprintf(out, "  %s\n", countsLine(d.Counts))
		fmt.Fprintf(out, "Now: %d running, %d pending\n", d.Running, d.Pending)
		if len(d.Packages) == 0 {
			return nil
		}
		fmt.Fprintln(out)
		t := newTable(out, "PACKAGE", "SUCCEEDED", "FAILED", "CANCELED", "UNEXPECTED", "P50", "P95", "LAST FAILURE")
		for _, p := range d.Packages {
			last := ""
			if p.LastFailure != nil {
				last = ago(p.LastFailure.At, now) + " " + p.LastFailure.ExecutionID
			}
			t.row(p.PackageRef.String(), count(p.Counts, execution.Succeeded), count(p.Counts, execution.Failed),
				count(p.Counts, execution.Canceled), count(p.Counts, execution.EndedUnexpectedly),
				ms(p.Durations.P50MS, p.Durations.Count), ms(p.Durations.P95MS, p.Durations.Count), last)
		}
		return t.flush()
	})
	cmd.Flags().IntVar(&hours, "hours", 24, "the window, in hours before now (1-720)")
	return cmd
}

func countsLine(c aggregate.Counts) string {
	return fmt.Sprintf("%s succeeded, %s failed, %s canceled, %s ended unexpectedly",
		count(c, execution.Succeeded), count(c, execution.Failed), count(c, execution.Canceled), count(c, execution.EndedUnexpectedly))
}

func count(c aggregate.Counts, s execution.Status) string { return strconv.FormatInt(c[s], 10) }

func ms(v, n int64) string {
	if n == 0 {
		return "-"
	}
	return human(time.Duration(v) * time.Millisecond)
}

func newPools() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pools",
		Short: "Show each pool's queue, workers and executions, and why pending work does not start",
		Args:  cobra.NoArgs,
	}
	r := newRemote(cmd)
	cmd.RunE = r.runE(func(cmd *cobra.Command, _ []string, c *client.Client) error {
		var raw json.RawMessage
		pools, err := c.Pools(cmd.Context(), client.Raw(&raw))
		if err != nil {
			return err
		}
		if r.json() {
			return writeJSON(cmd.OutOrStdout(), raw)
		}
		t := newTable(cmd.OutOrStdout(), "POOL", "QUEUED", "IN FLIGHT", "WORKERS", "RUNNING", "OLDEST PENDING", "WAITING")
		for _, p := range pools {
			oldest := ""
			if p.OldestPendingSeconds > 0 {
				oldest = human(time.Duration(p.OldestPendingSeconds * float64(time.Second)))
			}
			waiting := p.Waiting
			if p.QueueError != "" {
				waiting = p.QueueError
			}
			t.row(p.Pool, strconv.Itoa(p.Queue.Visible), strconv.Itoa(p.Queue.InFlight),
				fmt.Sprintf("%d online, %d enabled", p.Workers.Online, p.Workers.Enabled),
				fmt.Sprintf("%d/%d", p.Workers.Running, p.Workers.Capacity), oldest, waiting)
		}
		return t.flush()
	})
	return cmd
}
