package registrytest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Registry is the worker registry under test: what the worker
// (worker.Registry) and the API (api.Workers) ask of it.
type Registry interface {
	Register(ctx context.Context, r registrytype.Registration, lease time.Duration) (registrytype.Worker, registrytype.Session, registrytype.SessionState, error)
	Renew(ctx context.Context, sess registrytype.Session, until time.Time, runs []registrytype.Run, handled []string) (registrytype.Signals, error)
	Signals(ctx context.Context, id string) (registrytype.Signals, error)
	SessionOf(ctx context.Context, id string) (registrytype.SessionState, error)
	SignOff(ctx context.Context, sess registrytype.Session) error
	List(ctx context.Context) ([]registrytype.Worker, error)
	Get(ctx context.Context, id string) (registrytype.Worker, error)
	SetEnabled(ctx context.Context, id string, enabled bool) (registrytype.Worker, error)
	Update(ctx context.Context, id string, c registrytype.Changes) (registrytype.Worker, error)
	Remove(ctx context.Context, id string) error
}

// Options are what a case needs of the registry it is given.
type Options struct {
	// Retention is how long after its last heartbeat a worker is kept;
	// zero: the registry's default.
	Retention time.Duration
}

// Harness is one registry under test, whose clock the suite moves (the
// registry must read the time from Clock).
type Harness struct {
	Registry Registry
	Clock    *testclock.Clock
}

// Run runs every case against the registries newHarness makes (one per
// case; they may share a table: every case uses worker ids of its own).
func Run(t *testing.T, newHarness func(t *testing.T, o Options) Harness) {
	cases := []struct {
		name string
		o    Options
		run  func(t *testing.T, b bundle)
	}{
		{"RegisterCreatesThenKeepsAdminFields", Options{}, registerCreatesThenKeepsAdminFields},
		{"Renew", Options{}, renew},
		{"OnlineFollowsTheLease", Options{}, onlineFollowsTheLease},
		{"ListIsOrderedAndComputesOnline", Options{}, listIsOrderedAndComputesOnline},
		{"RetentionHidesLongOfflineWorkers", Options{Retention: time.Hour}, retentionHidesLongOfflineWorkers},
		{"Update", Options{}, update},
		{"FailurePaths", Options{}, failurePaths},
		{"SignOff", Options{}, signOff},
		{"SessionOf", Options{}, sessionOf},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, c.o)
			b := bundle{reg: h.Registry, clock: h.Clock}
			b.id = b.name("w")
			c.run(t, b)
		})
	}
}

type bundle struct {
	reg   Registry
	clock *testclock.Clock
	id    string // a worker id unique to the case
}

// name is a name no other test uses.
func (bundle) name(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

// lease is the cases' session lease.
const lease = 15 * time.Second

func (b bundle) register(t *testing.T, id string) registrytype.Worker {
	t.Helper()
	w, _ := b.registerSession(t, id)
	return w
}

func (b bundle) registerSession(t *testing.T, id string) (registrytype.Worker, registrytype.Session) {
	t.Helper()
	w, sess, _, err := b.reg.Register(context.Background(), registrytype.Registration{
		ID: id, Machine: "host-a", Pools: []string{"default", "etl"}, MaxTasks: 4, Version: "v1",
		Tags: map[string]string{"zone": "a"},
	}, lease)
	require.NoError(t, err)
	return w, sess
}

func (b bundle) renew(t *testing.T, sess registrytype.Session, running int) (registrytype.Signals, error) {
	t.Helper()
	var runs []registrytype.Run
	for i := range running {
		runs = append(runs, registrytype.Run{ExecutionID: fmt.Sprintf("e%d", i), Attempt: 1})
	}
	return b.reg.Renew(context.Background(), sess, b.clock.Now().Add(lease), runs, nil)
}

func registerCreatesThenKeepsAdminFields(t *testing.T, b bundle) {
	ctx := context.Background()
	first := b.clock.Now()

	w, sess := b.registerSession(t, b.id)
	require.Equal(t, registrytype.Worker{
		ID: b.id, DisplayName: b.id, Description: "", Tags: map[string]string{"zone": "a"}, Enabled: true,
		Machine: "host-a", Pools: []string{"default", "etl"}, MaxTasks: 4, Version: "v1", Running: 0,
		RegisteredAt: first, LastHeartbeat: first, Online: true,
	}, w)

	// An administrator edits and disables it; it heartbeats, then restarts
	// on another machine with another version and other tags.
	name, desc := "ETL box", "nightly loads"
	_, err := b.reg.Update(ctx, b.id, registrytype.Changes{DisplayName: &name, Description: &desc,
		Tags: map[string]string{"team": "data"}})
	require.NoError(t, err)
	_, err = b.reg.SetEnabled(ctx, b.id, false)
	require.NoError(t, err)
	sig, err := b.renew(t, sess, 3)
	require.NoError(t, err)
	require.False(t, sig.Enabled)

	b.clock.Add(time.Minute)
	w, _, prev, err := b.reg.Register(ctx, registrytype.Registration{ID: b.id, Machine: "host-b", Pools: []string{"default"},
		MaxTasks: 8, Version: "v2", Tags: map[string]string{"zone": "b"}}, lease)
	require.NoError(t, err)
	require.Len(t, prev.Runs, 3, "the killed session's runs are handed over")
	require.Equal(t, registrytype.Worker{
		ID: b.id, DisplayName: name, Description: desc, Tags: map[string]string{"team": "data"}, Enabled: false,
		Machine: "host-b", Pools: []string{"default"}, MaxTasks: 8, Version: "v2", Running: 0,
		RegisteredAt: first, LastHeartbeat: first.Add(time.Minute), Online: true,
	}, w)
	got, err := b.reg.Get(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, w, got)
}

func renew(t *testing.T, b bundle) {
	ctx := context.Background()
	_, sess := b.registerSession(t, b.id)

	b.clock.Add(5 * time.Second)
	sig, err := b.renew(t, sess, 2)
	require.NoError(t, err)
	require.True(t, sig.Enabled)
	require.Equal(t, sess.ID, sig.Session)
	w, err := b.reg.Get(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, 2, w.Running)
	require.Equal(t, b.clock.Now(), w.LastHeartbeat)

	_, err = b.reg.SetEnabled(ctx, b.id, false)
	require.NoError(t, err)
	sig, err = b.renew(t, sess, 2)
	require.NoError(t, err)
	require.False(t, sig.Enabled, "the renewal tells a worker it was disabled")
	sig, err = b.reg.Signals(ctx, b.id)
	require.NoError(t, err)
	require.False(t, sig.Enabled, "and so does the signals read")
	_, err = b.reg.SetEnabled(ctx, b.id, true)
	require.NoError(t, err)
	sig, err = b.renew(t, sess, 2)
	require.NoError(t, err)
	require.True(t, sig.Enabled)

	require.ErrorIs(t, b.reg.Remove(ctx, b.id), registrytype.ErrBusy, "a live worker running executions is not removed")
	_, err = b.renew(t, sess, 0)
	require.NoError(t, err)
	require.ErrorIs(t, b.reg.Remove(ctx, b.id), registrytype.ErrBusy, "nor an idle one while its lease runs")
	b.clock.Add(lease)
	require.NoError(t, b.reg.Remove(ctx, b.id), "offline: removed")
	_, err = b.renew(t, sess, 0)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound, "a removed worker's renewal does not recreate it")
	_, err = b.reg.Get(ctx, b.id)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)

	// It registers again when it restarts: a new worker.
	w = b.register(t, b.id)
	require.True(t, w.Enabled)
}

func onlineFollowsTheLease(t *testing.T, b bundle) {
	ctx := context.Background()
	_, sess := b.registerSession(t, b.id)
	for _, tc := range []struct {
		advance time.Duration
		online  bool
	}{
		{0, true},
		{lease - time.Millisecond, true},
		{time.Millisecond, false}, // the lease ran out
		{time.Hour, false},
	} {
		b.clock.Add(tc.advance)
		w, err := b.reg.Get(ctx, b.id)
		require.NoError(t, err)
		require.Equal(t, tc.online, w.Online, "after %s more", tc.advance)
	}
	_, err := b.renew(t, sess, 0)
	require.ErrorIs(t, err, registrytype.ErrSessionLost, "a session whose lease ran out cannot come back")
	w := b.register(t, b.id)
	require.True(t, w.Online, "a new session brings it back online")
}

func listIsOrderedAndComputesOnline(t *testing.T, b bundle) {
	ctx := context.Background()
	ids := []string{b.id + "-c", b.id + "-a", b.id + "-b"}
	sessions := map[string]registrytype.Session{}
	for _, id := range ids {
		_, sessions[id] = b.registerSession(t, id)
	}
	b.clock.Add(10 * time.Second)
	_, err := b.renew(t, sessions[b.id+"-b"], 1)
	require.NoError(t, err)
	b.clock.Add(10 * time.Second) // a's and c's leases ran out, b's runs

	all, err := b.reg.List(ctx)
	require.NoError(t, err)
	var mine []registrytype.Worker
	for _, w := range all {
		if strings.HasPrefix(w.ID, b.id+"-") {
			mine = append(mine, w)
		}
	}
	require.Len(t, mine, 3)
	for i, want := range []struct {
		id     string
		online bool
	}{{b.id + "-a", false}, {b.id + "-b", true}, {b.id + "-c", false}} {
		require.Equal(t, want.id, mine[i].ID)
		require.Equal(t, want.online, mine[i].Online, want.id)
	}
	require.Equal(t, 1, mine[1].Running)
}

func retentionHidesLongOfflineWorkers(t *testing.T, b bundle) {
	ctx := context.Background()
	b.register(t, b.id)
	b.clock.Add(time.Hour + time.Second)

	_, err := b.reg.Get(ctx, b.id)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	all, err := b.reg.List(ctx)
	require.NoError(t, err)
	for _, w := range all {
		require.NotEqual(t, b.id, w.ID)
	}
	_, err = b.reg.SetEnabled(ctx, b.id, false)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	require.ErrorIs(t, b.reg.Remove(ctx, b.id), scaleouttype.ErrNotFound)

	// A worker that comes back registers again.
	w := b.register(t, b.id)
	require.True(t, w.Online)
}

func update(t *testing.T, b bundle) {
	ctx := context.Background()
	b.register(t, b.id)
	ptr := func(s string) *string { return &s }

	w, err := b.reg.Update(ctx, b.id, registrytype.Changes{Description: ptr("only this")})
	require.NoError(t, err)
	require.Equal(t, "only this", w.Description)
	require.Equal(t, b.id, w.DisplayName, "fields not given stay")
	require.Equal(t, map[string]string{"zone": "a"}, w.Tags)

	w, err = b.reg.Update(ctx, b.id, registrytype.Changes{DisplayName: ptr("Box"), Tags: map[string]string{}})
	require.NoError(t, err)
	require.Equal(t, "Box", w.DisplayName)
	require.Empty(t, w.Tags, "an empty map removes every tag")
	require.Equal(t, "only this", w.Description)

	w, err = b.reg.Update(ctx, b.id, registrytype.Changes{DisplayName: ptr("")})
	require.NoError(t, err)
	require.Equal(t, b.id, w.DisplayName, "an empty display name shows the id")
}

func failurePaths(t *testing.T, b bundle) {
	ctx := context.Background()
	ptr := func(s string) *string { return &s }
	missing := b.name("missing")
	b.register(t, b.id)
	tags := map[string]string{}
	for i := range registrytype.MaxTags + 1 {
		tags[strings.Repeat("k", i+1)] = ""
	}

	for _, tc := range []struct {
		name    string
		call    func() error
		wantErr error
		want    []string // parts of the message
	}{
		{"renew unknown", func() error {
			_, err := b.reg.Renew(ctx, registrytype.Session{WorkerID: missing, ID: "s"}, b.clock.Now().Add(lease), nil, nil)
			return err
		}, scaleouttype.ErrNotFound, nil},
		{"signals unknown", func() error { _, err := b.reg.Signals(ctx, missing); return err }, scaleouttype.ErrNotFound, nil},
		{"get unknown", func() error { _, err := b.reg.Get(ctx, missing); return err }, scaleouttype.ErrNotFound, nil},
		{"get malformed id", func() error { _, err := b.reg.Get(ctx, ""); return err }, scaleouttype.ErrNotFound, nil},
		{"enable unknown", func() error { _, err := b.reg.SetEnabled(ctx, missing, true); return err },
			scaleouttype.ErrNotFound, nil},
		{"update unknown", func() error {
			_, err := b.reg.Update(ctx, missing, registrytype.Changes{Description: ptr("x")})
			return err
		}, scaleouttype.ErrNotFound, nil},
		{"remove unknown", func() error { return b.reg.Remove(ctx, missing) }, scaleouttype.ErrNotFound, nil},
		{"update nothing", func() error { _, err := b.reg.Update(ctx, b.id, registrytype.Changes{}); return err },
			registrytype.ErrInvalid, []string{"nothing to change"}},
		{"update too long", func() error {
			_, err := b.reg.Update(ctx, b.id, registrytype.Changes{
				DisplayName: ptr(strings.Repeat("é", registrytype.MaxDisplayNameLength+1)),
				Description: ptr(strings.Repeat("d", registrytype.MaxDescriptionLength+1)),
				Tags:        map[string]string{"": "x", "k": strings.Repeat("v", registrytype.MaxTagValueLength+1)},
			})
			return err
		}, registrytype.ErrInvalid, []string{"display name: 101 characters, at most 100", "description: 1001 characters",
			"tag key \"\": must not be empty", "tag \"k\" value: 257 characters"}},
		{"update control characters", func() error {
			_, err := b.reg.Update(ctx, b.id, registrytype.Changes{DisplayName: ptr("a\x00b")})
			return err
		}, registrytype.ErrInvalid, []string{"display name: contains a control character"}},
		{"too many tags", func() error { _, err := b.reg.Update(ctx, b.id, registrytype.Changes{Tags: tags}); return err },
			registrytype.ErrInvalid, []string{"51 tags: at most 50"}},
		{"register invalid", func() error {
			_, _, _, err := b.reg.Register(ctx, registrytype.Registration{ID: "bad id", Pools: []string{""}}, lease)
			return err
		}, registrytype.ErrInvalid, []string{`id "bad id"`, "max tasks 0", "pool: must not be empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.ErrorIs(t, err, tc.wantErr)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
	// Nothing above changed the worker.
	w, err := b.reg.Get(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, b.id, w.DisplayName)
	require.Equal(t, map[string]string{"zone": "a"}, w.Tags)
	_, err = b.reg.Get(ctx, missing)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound, "a failed heartbeat or edit did not create the worker")
}

// A worker that signs off shows offline at once, and ends its session
// with no orphans; it registers again when it starts.
func signOff(t *testing.T, b bundle) {
	ctx := context.Background()
	_, sess := b.registerSession(t, b.id)
	w, err := b.reg.Get(ctx, b.id)
	require.NoError(t, err)
	require.True(t, w.Online)

	require.NoError(t, b.reg.SignOff(ctx, sess))
	w, err = b.reg.Get(ctx, b.id)
	require.NoError(t, err)
	require.False(t, w.Online, "signed off: offline at once")
	require.Equal(t, 0, w.Running)
	_, err = b.renew(t, sess, 1)
	require.ErrorIs(t, err, registrytype.ErrSessionLost, "a signed-off session is over")

	_, _, prev, err := b.reg.Register(ctx, registrytype.Registration{ID: b.id, Machine: "m", Pools: []string{"default"}, MaxTasks: 2}, lease)
	require.NoError(t, err, "no need to wait for the lease: it signed off")
	require.Empty(t, prev.Runs)
	w, err = b.reg.Get(ctx, b.id)
	require.NoError(t, err)
	require.True(t, w.Online, "registered again: online")
	require.ErrorIs(t, b.reg.SignOff(ctx, registrytype.Session{WorkerID: b.name("nobody"), ID: "s"}), scaleouttype.ErrNotFound)
}

// SessionOf tells whoever must decide whether an execution's holder is
// alive what the worker's session is: its lease, its last renewal, what it
// runs, whether it signed off.
func sessionOf(t *testing.T, b bundle) {
	ctx := context.Background()
	st, err := b.reg.SessionOf(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, registrytype.SessionState{WorkerID: b.id}, st, "no worker: no session")

	start := b.clock.Now()
	_, sess := b.registerSession(t, b.id)
	st, err = b.reg.SessionOf(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, registrytype.SessionState{WorkerID: b.id, ID: sess.ID, LeaseUntil: start.Add(lease), Renewed: start, Lease: lease, Exists: true}, st)
	require.True(t, st.Holds(sess.ID, b.clock.Now()))

	b.clock.Add(5 * time.Second)
	_, err = b.renew(t, sess, 3)
	require.NoError(t, err)
	st, err = b.reg.SessionOf(ctx, b.id)
	require.NoError(t, err)
	require.ElementsMatch(t, []registrytype.Run{{ExecutionID: "e0", Attempt: 1}, {ExecutionID: "e1", Attempt: 1}, {ExecutionID: "e2", Attempt: 1}}, st.Runs)
	require.Equal(t, b.clock.Now(), st.Renewed)
	require.Equal(t, b.clock.Now().Add(lease), st.LeaseUntil)
	require.True(t, st.Records("e1", 1))
	require.False(t, st.Records("e1", 2))
	sig, err := b.reg.Signals(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, registrytype.Signals{Enabled: true, Session: sess.ID}, sig)

	require.NoError(t, b.reg.SignOff(ctx, sess))
	st, err = b.reg.SessionOf(ctx, b.id)
	require.NoError(t, err)
	require.True(t, st.SignedOff)
	require.Empty(t, st.Runs)
	require.False(t, st.Holds(sess.ID, b.clock.Now()))
}
