package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/expression"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// plannedConnection is a connection declaration with its fields compiled.
type plannedConnection struct {
	name   string
	fields *value // a map of the declaration's non-empty fields
}

// compileConnections compiles every connection's fields.
func (c *compiler) compileConnections(conns map[string]pkgfile.Connection) []plannedConnection {
	out := make([]plannedConnection, 0, len(conns))
	for _, name := range slices.Sorted(maps.Keys(conns)) {
		d := conns[name]
		m := map[string]any{}
		for k, v := range map[string]string{"kind": d.Kind, "host": d.Host, "port": string(d.Port), "database": d.Database,
			"user": d.User, "password": d.Password, "bucket": d.Bucket, "region": d.Region, "endpoint": d.Endpoint,
			"path_style": string(d.PathStyle)} {
			if v != "" {
				m[k] = v
			}
		}
		if len(d.Options) > 0 {
			opts := make(map[string]any, len(d.Options))
			for k, v := range d.Options {
				opts[k] = v
			}
			m["options"] = opts
		}
		v, _, err := compileValue(m, "connections."+name)
		if err != nil {
			c.errf("connection %q: %v", name, err)
			continue
		}
		out = append(out, plannedConnection{name: name, fields: v})
	}
	return out
}

// resolveConnections renders the connections' fields with the run's
// parameters and system values and checks them. It also returns the
// passwords, for the redactor (a password made of a sensitive parameter
// and more text is masked whole).
func resolveConnections(planned []plannedConnection, env expression.Env) ([]connection.Connection, []string, error) {
	var (
		conns     []connection.Connection
		passwords []string
		errs      []error
	)
	for _, p := range planned {
		v, err := p.fields.render(env)
		if err != nil {
			errs = append(errs, fmt.Errorf("connection %q: %w", p.name, err))
			continue
		}
		m := v.(map[string]any)
		text := func(k string) string { return expression.Format(m[k]) }
		c := connection.Connection{Name: p.name, Kind: connection.Kind(text("kind")), Host: text("host"), Database: text("database"),
			User: text("user"), Password: connection.Secret(text("password")), Bucket: text("bucket"), Region: text("region"),
			Endpoint: text("endpoint")}
		passwords = append(passwords, string(c.Password))
		if s := strings.TrimSpace(text("port")); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("connection %q: port %q is not a whole number", p.name, s))
				continue
			}
			c.Port = n
		}
		if s := strings.TrimSpace(text("path_style")); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("connection %q: path_style %q is not true or false", p.name, s))
				continue
			}
			c.PathStyle = b
		}
		if opts, ok := m["options"].(map[string]any); ok {
			c.Options = make(map[string]string, len(opts))
			for k, o := range opts {
				c.Options[k] = expression.Format(o)
			}
		}
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		conns = append(conns, c)
	}
	return conns, passwords, errors.Join(errs...)
}

// openConnections resolves the plan's connections and makes the run's
// Set of them (nothing is opened until a task asks). A nil Set and nil
// error: the package declares none.
func (r *run) openConnections(limits connection.Limits) (*connection.Set, error) {
	if len(r.plan.conns) == 0 {
		return nil, nil
	}
	conns, passwords, err := resolveConnections(r.plan.conns, r.env(r.root))
	r.secrets = append(r.secrets, passwords...)
	r.red = newRedactor(r.secrets)
	if err != nil {
		return nil, err
	}
	return connection.NewSet(conns, limits)
}

// seqTx is a sequence's transaction on one connection: begun when a task
// first asks for it, ended by the engine when the sequence ends. The tasks
// of the sequence take turns with it.
type seqTx struct {
	name string
	set  *connection.Set
	ctx  context.Context // the run's: a stop rolls the transaction back
	turn chan struct{}

	mu    sync.Mutex
	tx    *sql.Tx
	ended bool
}

func newSeqTx(ctx context.Context, set *connection.Set, name string) *seqTx {
	return &seqTx{name: name, set: set, ctx: ctx, turn: make(chan struct{}, 1)}
}

// acquire waits for the transaction's turn and begins it on first use.
func (t *seqTx) acquire(ctx context.Context) (*sql.Tx, func(), error) {
	select {
	case t.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	release := func() { <-t.turn }
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		release()
		return nil, nil, fmt.Errorf("connection %q: the sequence's transaction has ended", t.name)
	}
	if t.tx == nil {
		db, err := t.set.DB(ctx, t.name)
		if err != nil {
			release()
			return nil, nil, err
		}
		c, _ := t.set.Connection(t.name)
		// BeginTx's context lasts until the transaction ends: the run's,
		// not the task's, which ends with the task.
		tx, err := db.BeginTx(t.ctx, nil)
		if err != nil {
			release()
			return nil, nil, c.MapError(err, "")
		}
		t.tx = tx
	}
	return t.tx, release, nil
}

// end commits (commit) or rolls back the transaction, if it began. It
// waits for the task holding it, if any.
func (t *seqTx) end(commit bool) error {
	t.turn <- struct{}{}
	defer func() { <-t.turn }()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	if t.tx == nil {
		return nil
	}
	c, _ := t.set.Connection(t.name)
	if commit {
		if err := t.tx.Commit(); err != nil {
			return fmt.Errorf("committing the transaction on connection %q: %w", t.name, c.MapError(err, ""))
		}
		return nil
	}
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rolling back the transaction on connection %q: %w", t.name, c.MapError(err, ""))
	}
	return nil
}

// txConnections are the run's connections as the tasks inside sequences
// with transactions see them: the Set, and the transactions by connection.
type txConnections struct {
	*connection.Set
	txs map[string]*seqTx
}

var _ task.Transactions = txConnections{}

// Tx implements task.Transactions.
func (c txConnections) Tx(ctx context.Context, name string) (*sql.Tx, func(), bool, error) {
	t := c.txs[name]
	if t == nil {
		return nil, nil, false, nil
	}
	tx, release, err := t.acquire(ctx)
	return tx, release, true, err
}

// failAtStart ends a run that could not start (its connections do not
// resolve): the package fails with the reason, and no task runs.
func (r *run) failAtStart(started time.Time, reason string) Result {
	res := Result{Status: Failed, Started: started, Ended: r.now(), Error: r.red.str(reason), Tasks: []TaskResult{}}
	r.emitMu.Lock()
	r.emitLocked(Event{Time: res.Ended, Kind: PackageEnded, Status: res.Status, Duration: res.Ended.Sub(res.Started), Message: res.Error})
	r.closed = true
	r.emitMu.Unlock()
	return res
}

// closeConnections closes the run's pools once it ended. Tasks left behind
// by a cancel may still hold a connection, and closing waits for them: the
// pools are then closed in the background.
func (r *run) closeConnections() {
	r.mu.Lock()
	abandoned := r.abandoned
	r.mu.Unlock()
	if abandoned {
		go func() { _ = r.conns.Close() }()
		return
	}
	_ = r.conns.Close()
}
