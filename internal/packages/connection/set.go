package connection

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scaleout/scaleout/internal/suggest"
)

// ErrClosed is returned by a Set asked for a connection after Close: the
// execution has stopped or ended.
var ErrClosed = errors.New("the execution's connections are closed")

// ErrUnknown is wrapped by the error for a connection name the Set does
// not have.
var ErrUnknown = errors.New("unknown connection")

// Limits bound each database connection's pool in a Set. Zero fields take
// the defaults.
type Limits struct {
	MaxOpenConns    int           // connections open at once; default 4
	MaxIdleConns    int           // connections kept open when idle; default 2
	ConnMaxIdleTime time.Duration // an idle connection is closed after this; default 1 minute
	ConnMaxLifetime time.Duration // a connection is replaced after this; default 30 minutes
}

func (l Limits) withDefaults() Limits {
	if l.MaxOpenConns <= 0 {
		l.MaxOpenConns = 4
	}
	if l.MaxIdleConns <= 0 {
		l.MaxIdleConns = min(2, l.MaxOpenConns)
	}
	if l.ConnMaxIdleTime <= 0 {
		l.ConnMaxIdleTime = time.Minute
	}
	if l.ConnMaxLifetime <= 0 {
		l.ConnMaxLifetime = 30 * time.Minute
	}
	return l
}

// Set is one execution's connections. DB opens a database connection the
// first time a task asks for it and hands the same pool to every task
// after; Close closes them all. A Set is safe for concurrent use.
type Set struct {
	limits Limits
	conns  map[string]Connection

	mu     sync.Mutex
	pools  map[string]*pool
	closed bool
}

type pool struct {
	db     *sql.DB
	pinged atomic.Bool // the server has answered once: later tasks skip the round trip
}

// NewSet checks the connections (every problem at once, and no name
// twice) and returns a Set of them; nothing is opened yet.
func NewSet(conns []Connection, limits Limits) (*Set, error) {
	s := &Set{limits: limits.withDefaults(), conns: make(map[string]Connection, len(conns)), pools: map[string]*pool{}}
	var errs []error
	for _, c := range conns {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.conns[c.Name]; dup {
			errs = append(errs, fmt.Errorf("connection %q is defined twice", c.Name))
			continue
		}
		s.conns[c.Name] = c
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Names lists the Set's connections, in order.
func (s *Set) Names() []string { return slices.Sorted(maps.Keys(s.conns)) }

// Connection returns the named connection's definition (an s3 task reads
// its bucket and region from it).
func (s *Set) Connection(name string) (Connection, error) {
	c, ok := s.conns[name]
	if !ok {
		msg := fmt.Sprintf("%q", name)
		names := s.Names()
		if len(names) == 0 {
			msg += " (the package defines no connections)"
		} else {
			msg += " (known: " + strings.Join(names, ", ") + ")"
			if near := suggest.Closest(name, names); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
		}
		return Connection{}, fmt.Errorf("%w %s", ErrUnknown, msg)
	}
	return c, nil
}

// DB returns the named database connection's pool, opening it on first
// use. The first call (and each after it, until one succeeds) also makes
// sure the server answers, so that a wrong host or password fails the
// task that first asks, with the server's reason. The pool belongs to the
// Set: tasks must not close it.
func (s *Set) DB(ctx context.Context, name string) (*sql.DB, error) {
	c, err := s.Connection(name)
	if err != nil {
		return nil, err
	}
	if !c.Kind.IsDatabase() {
		return nil, fmt.Errorf("connection %q is an %s connection, not a database: a database task needs a postgres, mysql or sqlserver connection", name, c.Kind)
	}
	p, err := s.pool(c)
	if err != nil {
		return nil, err
	}
	if !p.pinged.Load() {
		if err := p.db.PingContext(ctx); err != nil {
			return nil, c.MapError(err, "")
		}
		p.pinged.Store(true)
	}
	return p.db, nil
}

// pool returns c's pool, opening it (once) if it is not yet.
func (s *Set) pool(c Connection) (*pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("connection %q: %w", c.Name, ErrClosed)
	}
	if p := s.pools[c.Name]; p != nil {
		return p, nil
	}
	driver, dsn, err := c.DSN()
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("connection %q: opening the %s driver: %s", c.Name, driver, redact(err.Error(), c.Password))
	}
	db.SetMaxOpenConns(s.limits.MaxOpenConns)
	db.SetMaxIdleConns(s.limits.MaxIdleConns)
	db.SetConnMaxIdleTime(s.limits.ConnMaxIdleTime)
	db.SetConnMaxLifetime(s.limits.ConnMaxLifetime)
	p := &pool{db: db}
	s.pools[c.Name] = p
	return p, nil
}

// Close closes every pool the Set opened; DB fails with ErrClosed after.
// Queries still running are waited for by database/sql: cancel their
// context first to stop them. Calling Close again does nothing.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		if err := s.pools[name].db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing connection %q: %w", name, err))
		}
	}
	s.pools = nil
	return errors.Join(errs...)
}
