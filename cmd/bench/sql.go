package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/testkit/dbtest"
)

// sqlSamples is how many of each call the sql figure takes the median of.
const sqlSamples = 200

// runSQL prints sql.task_overhead_ms: what running `SELECT 1` as an sql
// task adds to the bare driver call on the same pool, on a PostgreSQL
// server of its own (dbtest's, on a free loopback port). The samples of
// the two alternate, after a warm-up; the figure is the difference of the
// medians. (What the engine adds per task is engine.task_overhead.)
func runSQL(ctx context.Context) error {
	d, stop, err := dbtest.Start(dbtest.KindPostgres)
	if err != nil {
		return fmt.Errorf("sql figures: starting PostgreSQL (bash tools/databases/install.sh installs it; -sql=false skips this part): %w", err)
	}
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, "sql:", err)
		}
	}()
	c := connection.Connection{Name: "db", Kind: connection.Postgres, Host: d.Host, Port: d.Port, Database: d.Name,
		User: d.User, Password: connection.Secret(d.Password), Options: map[string]string{"sslmode": "disable"}}
	set, err := connection.NewSet([]connection.Connection{c}, connection.Limits{})
	if err != nil {
		return err
	}
	defer set.Close() //nolint:errcheck // the bench's own pool
	db, err := set.DB(ctx, "db")
	if err != nil {
		return err
	}
	bare := func() (time.Duration, error) {
		start := time.Now()
		var n int
		err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
		return time.Since(start), err
	}
	// The task as the engine calls it for an attempt: settings read and
	// checked, the connection looked up, a connection of the pool taken,
	// the statement run and its result turned into the task's output.
	in := task.Input{Task: "one", Attempt: 1, Connections: set,
		With: map[string]any{"connection": "db", "statement": "SELECT 1", "result": "scalar"}}
	viaTask := func() (time.Duration, error) {
		start := time.Now()
		out, err := tasktypes.SQL{}.Run(ctx, in)
		d := time.Since(start)
		if err == nil && out["value"] != 1 {
			err = fmt.Errorf("the sql task gave %v, not 1", out["value"])
		}
		return d, err
	}
	for range 20 { // warm-up
		if _, err := bare(); err != nil {
			return err
		}
		if _, err := viaTask(); err != nil {
			return err
		}
	}
	var bares, tasks []time.Duration
	for range sqlSamples {
		b, err := bare()
		if err != nil {
			return err
		}
		t, err := viaTask()
		if err != nil {
			return err
		}
		bares, tasks = append(bares, b), append(tasks, t)
	}
	mb, mt := median(bares), median(tasks)
	fmt.Fprintf(os.Stderr, "# sql: SELECT 1 on PostgreSQL, median of %d: bare driver call %.3f ms, as an sql task %.3f ms\n",
		sqlSamples, ms(mb), ms(mt))
	fmt.Printf("bench: sql.task_overhead_ms %.3f ms\n", ms(mt-mb))
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
