package engine

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// conninfo outputs the fields of the connection named by with.connection,
// the password as its plain text, and the run's directory; it keeps the
// Connections it was given.
type conninfo struct {
	mu   sync.Mutex
	seen []task.Connections
}

func (*conninfo) Check(map[string]any) error { return nil }
func (c *conninfo) Run(_ context.Context, in task.Input) (task.Output, error) {
	c.mu.Lock()
	c.seen = append(c.seen, in.Connections)
	c.mu.Unlock()
	if in.Connections == nil {
		return nil, errors.New("no connections")
	}
	name, _ := in.With["connection"].(string)
	conn, err := in.Connections.Connection(name)
	if err != nil {
		return nil, err
	}
	return task.Output{"kind": string(conn.Kind), "host": conn.Host, "port": conn.Port, "user": conn.User,
		"password": string(conn.Password), "options": conn.Options, "path_style": conn.PathStyle, "dir": in.Dir}, nil
}

func TestConnectionsResolveAtRunStart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	info := &conninfo{}
	b.reg.MustRegister("conninfo", info)
	res, events := b.run(t, `{"name": "c",
		"parameters": {"pw": {"type": "string", "sensitive": true}, "host": {"type": "string"}, "port": {"type": "int"}},
		"connections": {
			"db": {"kind": "postgres", "host": "${params.host}", "port": "${params.port}", "user": "u_${system.package}",
				"password": "x-${params.pw}", "options": {"application_name": "${system.execution_id}"}},
			"files": {"kind": "s3", "bucket": "b", "region": "us-east-1", "path_style": "true"}},
		"tasks": [
			{"name": "a", "type": "conninfo", "with": {"connection": "db"}},
			{"name": "b", "type": "conninfo", "with": {"connection": "files"}}]}`,
		RunOptions{Params: map[string]any{"pw": "s3cret", "host": "db.example.com", "port": 6543}, Dir: "/scratch/run-1",
			System: expression.SystemInfo{ExecutionID: "exec-1", Package: "c"}})
	require.Equal(t, Succeeded, res.Status, res.Error)
	a := taskResult(t, res, "a").Outputs
	require.Equal(t, "postgres", a["kind"])
	require.Equal(t, "db.example.com", a["host"])
	require.Equal(t, 6543, a["port"])
	require.Equal(t, "u_c", a["user"])
	require.Equal(t, map[string]string{"application_name": "exec-1"}, a["options"])
	require.Equal(t, "/scratch/run-1", a["dir"])
	// The task saw the password; the result masks it whole, the text
	// around the sensitive parameter included.
	require.Equal(t, "***", a["password"])
	for _, e := range events {
		require.NotContains(t, e.Message, "s3cret")
	}
	require.Equal(t, true, taskResult(t, res, "b").Outputs["path_style"])

	// Both tasks shared one Set, closed when the run ended.
	require.Len(t, info.seen, 2)
	require.Same(t, info.seen[0], info.seen[1])
	_, err := info.seen[0].DB(context.Background(), "db")
	require.ErrorIs(t, err, connection.ErrClosed)
}

func TestConnectionsThatDoNotResolveFailTheRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.reg.MustRegister("conninfo", &conninfo{})
	res, events := b.run(t, `{"name": "c",
		"parameters": {"pw": {"type": "string", "sensitive": true}, "port": {"type": "string"}, "endpoint": {"type": "string"}},
		"connections": {
			"db": {"kind": "mysql", "host": "h", "port": "${params.port}", "user": "u", "password": "${params.pw}"},
			"files": {"kind": "s3", "bucket": "b", "region": "r", "endpoint": "${params.endpoint}"}},
		"tasks": [{"name": "a", "type": "conninfo", "with": {"connection": "db"}}]}`,
		RunOptions{Params: map[string]any{"pw": "hunter22", "port": "many", "endpoint": "ftp://hunter22@x"}})
	require.Equal(t, Failed, res.Status)
	require.Empty(t, res.Tasks)
	require.Contains(t, res.Error, `connections: connection "db": port "many" is not a whole number`)
	require.Contains(t, res.Error, `connection "files": endpoint "ftp://***@x" is not an http:// or https:// URL`)
	require.NotContains(t, res.Error, "hunter22")
	require.Equal(t, PackageEnded, events[len(events)-1].Kind)
	require.Equal(t, res.Error, events[len(events)-1].Message)
}

func TestNoConnectionsNoSet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	info := &conninfo{}
	b.reg.MustRegister("conninfo", info)
	res, _ := b.run(t, `{"name": "c", "tasks": [{"name": "a", "type": "conninfo", "with": {"connection": "db"}}]}`, RunOptions{})
	require.Equal(t, Failed, res.Status)
	require.Equal(t, "a: no connections", res.Error)
	require.Nil(t, info.seen[0])
}

func TestConnectionsClosedWhenTheRunIsStopped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	info := &conninfo{}
	b.reg.MustRegister("conninfo", info)
	plan := b.compile(t, `{"name": "c", "connections": {"db": {"kind": "mysql", "host": "h", "user": "u"}},
		"tasks": [{"name": "a", "type": "conninfo", "with": {"connection": "db"}}, {"name": "b", "type": "slow", "after": [{"task": "a"}]}]}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	go func() {
		res, _ := Run(ctx, plan, RunOptions{})
		done <- res
	}()
	waitFor(t, "task a to run", func() bool {
		info.mu.Lock()
		defer info.mu.Unlock()
		return len(info.seen) == 1
	})
	cancel()
	res := <-done
	require.Equal(t, Canceled, res.Status)
	_, err := info.seen[0].DB(context.Background(), "db")
	require.ErrorIs(t, err, connection.ErrClosed)
}
