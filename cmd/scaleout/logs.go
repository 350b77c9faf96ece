package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/pkg/messages"
)

func newLogs() *cobra.Command {
	var follow, quiet bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "logs EXECUTION_ID [--follow]",
		Short: "Show an execution's messages: tasks starting and ending, their output, warnings and errors",
		Long: `Show an execution's messages in order, as ` + "`scaleout package run`" + ` shows a local run.
With --follow, new messages are shown as they come (polled with the messages cursor) until
the execution ends, and the exit status is the execution's, as with run --wait (0 succeeded,
1 failed or ended_unexpectedly, 2 canceled); Ctrl-C stops following, not the execution.
With --output json, each message is one line of JSON, as the API sends it.`,
		Example: `  scaleout logs 0199a1b2-... --follow
  scaleout logs 0199a1b2-... -o json | jq -r 'select(.kind=="output") | .message'`,
		Args: cobra.ExactArgs(1),
	}
	r := newRemote(cmd)
	cmd.RunE = r.runE(func(cmd *cobra.Command, args []string, c *client.Client) error {
		out := cmd.OutOrStdout()
		pr := newMessagePrinter(out, quiet)
		n := 0
		e, err := c.Follow(cmd.Context(), args[0], client.FollowOptions{
			Interval: interval,
			UntilNow: !follow,
			OnMessage: func(m messages.Message, raw json.RawMessage) error {
				n++
				if !r.json() {
					pr.print(m)
					return nil
				}
				var line bytes.Buffer
				if err := json.Compact(&line, raw); err != nil {
					return err
				}
				line.WriteByte('\n')
				_, err := out.Write(line.Bytes())
				return err
			},
		})
		if err != nil {
			return err
		}
		switch {
		case follow && !r.json():
			summarize(out, e)
		case n == 0 && !r.json():
			fmt.Fprintf(cmd.ErrOrStderr(), "no messages yet: execution %s is %s\n", e.ID, e.Status)
		}
		if code := statusExit(e.Status); follow && code != 0 {
			return exitError{code: code}
		}
		return nil
	})
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "show new messages as they come, until the execution ends")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not show the tasks' output lines")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "with --follow, how often to ask for new messages")
	return cmd
}
