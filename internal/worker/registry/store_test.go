package registry_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/scaleouttype"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type bundle struct {
	store *registry.Store
	clock *testclock.Clock
	id    string // a worker id unique to the test
}

func setup(t *testing.T) bundle {
	t.Helper()
	env := testenv.AWS(t)
	c := testclock.New()
	s := registry.NewStore(env.Clients.DynamoDB, env.Set.Catalog.Name)
	s.Now = c.Now
	return bundle{store: s, clock: c, id: testenv.Name("w")}
}

// lease is the tests' session lease.
const lease = 15 * time.Second

func (b bundle) register(t *testing.T, id string) registry.Worker {
	t.Helper()
	w, _ := b.registerSession(t, id)
	return w
}

func (b bundle) registerSession(t *testing.T, id string) (registry.Worker, registry.Session) {
	t.Helper()
	w, sess, _, err := b.store.Register(context.Background(), registry.Registration{
		ID: id, Machine: "host-a", Pools: []string{"default", "etl"}, MaxTasks: 4, Version: "v1",
		Tags: map[string]string{"zone": "a"},
	}, lease)
	require.NoError(t, err)
	return w, sess
}

func (b bundle) renew(t *testing.T, sess registry.Session, running int) (registry.Signals, error) {
	t.Helper()
	var runs []registry.Run
	for i := range running {
		runs = append(runs, registry.Run{ExecutionID: fmt.Sprintf("e%d", i), Attempt: 1})
	}
	return b.store.Renew(context.Background(), sess, b.clock.Now().Add(lease), runs, nil)
}

func TestRegisterCreatesThenKeepsAdminFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first := b.clock.Now()

	w, sess := b.registerSession(t, b.id)
	require.Equal(t, registry.Worker{
		ID: b.id, DisplayName: b.id, Description: "", Tags: map[string]string{"zone": "a"}, Enabled: true,
		Machine: "host-a", Pools: []string{"default", "etl"}, MaxTasks: 4, Version: "v1", Running: 0,
		RegisteredAt: first, LastHeartbeat: first, Online: true,
	}, w)

	// An administrator edits and disables it; it heartbeats, then restarts
	// on another machine with another version and other tags.
	name, desc := "ETL box", "nightly loads"
	_, err := b.store.Update(ctx, b.id, registry.Changes{DisplayName: &name, Description: &desc,
		Tags: map[string]string{"team": "data"}})
	require.NoError(t, err)
	_, err = b.store.SetEnabled(ctx, b.id, false)
	require.NoError(t, err)
	sig, err := b.renew(t, sess, 3)
	require.NoError(t, err)
	require.False(t, sig.Enabled)

	b.clock.Add(time.Minute)
	w, _, prev, err := b.store.Register(ctx, registry.Registration{ID: b.id, Machine: "host-b", Pools: []string{"default"},
		MaxTasks: 8, Version: "v2", Tags: map[string]string{"zone": "b"}}, lease)
	require.NoError(t, err)
	require.Len(t, prev.Runs, 3, "the killed session's runs are handed over")
	require.Equal(t, registry.Worker{
		ID: b.id, DisplayName: name, Description: desc, Tags: map[string]string{"team": "data"}, Enabled: false,
		Machine: "host-b", Pools: []string{"default"}, MaxTasks: 8, Version: "v2", Running: 0,
		RegisteredAt: first, LastHeartbeat: first.Add(time.Minute), Online: true,
	}, w)
	got, err := b.store.Get(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, w, got)
}

func TestRenew(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, sess := b.registerSession(t, b.id)

	b.clock.Add(5 * time.Second)
	sig, err := b.renew(t, sess, 2)
	require.NoError(t, err)
	require.True(t, sig.Enabled)
	require.Equal(t, sess.ID, sig.Session)
	w, err := b.store.Get(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, 2, w.Running)
	require.Equal(t, b.clock.Now(), w.LastHeartbeat)

	_, err = b.store.SetEnabled(ctx, b.id, false)
	require.NoError(t, err)
	sig, err = b.renew(t, sess, 2)
	require.NoError(t, err)
	require.False(t, sig.Enabled, "the renewal tells a worker it was disabled")
	sig, err = b.store.Signals(ctx, b.id)
	require.NoError(t, err)
	require.False(t, sig.Enabled, "and so does the signals read")
	_, err = b.store.SetEnabled(ctx, b.id, true)
	require.NoError(t, err)
	sig, err = b.renew(t, sess, 2)
	require.NoError(t, err)
	require.True(t, sig.Enabled)

	require.ErrorIs(t, b.store.Remove(ctx, b.id), registry.ErrBusy, "a live worker running executions is not removed")
	_, err = b.renew(t, sess, 0)
	require.NoError(t, err)
	require.ErrorIs(t, b.store.Remove(ctx, b.id), registry.ErrBusy, "nor an idle one while its lease runs")
	b.clock.Add(lease)
	require.NoError(t, b.store.Remove(ctx, b.id), "offline: removed")
	_, err = b.renew(t, sess, 0)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound, "a removed worker's renewal does not recreate it")
	_, err = b.store.Get(ctx, b.id)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)

	// It registers again when it restarts: a new worker.
	w = b.register(t, b.id)
	require.True(t, w.Enabled)
}

func TestOnlineFollowsTheLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
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
		w, err := b.store.Get(ctx, b.id)
		require.NoError(t, err)
		require.Equal(t, tc.online, w.Online, "after %s more", tc.advance)
	}
	_, err := b.renew(t, sess, 0)
	require.ErrorIs(t, err, registry.ErrSessionLost, "a session whose lease ran out cannot come back")
	w := b.register(t, b.id)
	require.True(t, w.Online, "a new session brings it back online")
}

func TestListIsOrderedAndComputesOnline(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ids := []string{b.id + "-c", b.id + "-a", b.id + "-b"}
	sessions := map[string]registry.Session{}
	for _, id := range ids {
		_, sessions[id] = b.registerSession(t, id)
	}
	b.clock.Add(10 * time.Second)
	_, err := b.renew(t, sessions[b.id+"-b"], 1)
	require.NoError(t, err)
	b.clock.Add(10 * time.Second) // a's and c's leases ran out, b's runs

	all, err := b.store.List(ctx)
	require.NoError(t, err)
	var mine []registry.Worker
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

func TestRetentionHidesLongOfflineWorkers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.store.Retention = time.Hour
	b.register(t, b.id)
	b.clock.Add(time.Hour + time.Second)

	_, err := b.store.Get(ctx, b.id)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	all, err := b.store.List(ctx)
	require.NoError(t, err)
	for _, w := range all {
		require.NotEqual(t, b.id, w.ID)
	}
	_, err = b.store.SetEnabled(ctx, b.id, false)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	require.ErrorIs(t, b.store.Remove(ctx, b.id), scaleouttype.ErrNotFound)

	// A worker that comes back registers again.
	w := b.register(t, b.id)
	require.True(t, w.Online)
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.register(t, b.id)
	ptr := func(s string) *string { return &s }

	w, err := b.store.Update(ctx, b.id, registry.Changes{Description: ptr("only this")})
	require.NoError(t, err)
	require.Equal(t, "only this", w.Description)
	require.Equal(t, b.id, w.DisplayName, "fields not given stay")
	require.Equal(t, map[string]string{"zone": "a"}, w.Tags)

	w, err = b.store.Update(ctx, b.id, registry.Changes{DisplayName: ptr("Box"), Tags: map[string]string{}})
	require.NoError(t, err)
	require.Equal(t, "Box", w.DisplayName)
	require.Empty(t, w.Tags, "an empty map removes every tag")
	require.Equal(t, "only this", w.Description)

	w, err = b.store.Update(ctx, b.id, registry.Changes{DisplayName: ptr("")})
	require.NoError(t, err)
	require.Equal(t, b.id, w.DisplayName, "an empty display name shows the id")
}

func TestFailurePaths(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ptr := func(s string) *string { return &s }
	missing := testenv.Name("missing")
	b.register(t, b.id)
	tags := map[string]string{}
	for i := range registry.MaxTags + 1 {
		tags[strings.Repeat("k", i+1)] = ""
	}

	for _, tc := range []struct {
		name    string
		call    func() error
		wantErr error
		want    []string // parts of the message
	}{
		{"renew unknown", func() error {
			_, err := b.store.Renew(ctx, registry.Session{WorkerID: missing, ID: "s"}, b.clock.Now().Add(lease), nil, nil)
			return err
		}, scaleouttype.ErrNotFound, nil},
		{"signals unknown", func() error { _, err := b.store.Signals(ctx, missing); return err }, scaleouttype.ErrNotFound, nil},
		{"get unknown", func() error { _, err := b.store.Get(ctx, missing); return err }, scaleouttype.ErrNotFound, nil},
		{"get malformed id", func() error { _, err := b.store.Get(ctx, ""); return err }, scaleouttype.ErrNotFound, nil},
		{"enable unknown", func() error { _, err := b.store.SetEnabled(ctx, missing, true); return err },
			scaleouttype.ErrNotFound, nil},
		{"update unknown", func() error {
			_, err := b.store.Update(ctx, missing, registry.Changes{Description: ptr("x")})
			return err
		}, scaleouttype.ErrNotFound, nil},
		{"remove unknown", func() error { return b.store.Remove(ctx, missing) }, scaleouttype.ErrNotFound, nil},
		{"update nothing", func() error { _, err := b.store.Update(ctx, b.id, registry.Changes{}); return err },
			registry.ErrInvalid, []string{"nothing to change"}},
		{"update too long", func() error {
			_, err := b.store.Update(ctx, b.id, registry.Changes{
				DisplayName: ptr(strings.Repeat("é", registry.MaxDisplayNameLength+1)),
				Description: ptr(strings.Repeat("d", registry.MaxDescriptionLength+1)),
				Tags:        map[string]string{"": "x", "k": strings.Repeat("v", registry.MaxTagValueLength+1)},
			})
			return err
		}, registry.ErrInvalid, []string{"display name: 101 characters, at most 100", "description: 1001 characters",
			"tag key \"\": must not be empty", "tag \"k\" value: 257 characters"}},
		{"update control characters", func() error {
			_, err := b.store.Update(ctx, b.id, registry.Changes{DisplayName: ptr("a\x00b")})
			return err
		}, registry.ErrInvalid, []string{"display name: contains a control character"}},
		{"too many tags", func() error { _, err := b.store.Update(ctx, b.id, registry.Changes{Tags: tags}); return err },
			registry.ErrInvalid, []string{"51 tags: at most 50"}},
		{"register invalid", func() error {
			_, _, _, err := b.store.Register(ctx, registry.Registration{ID: "bad id", Pools: []string{""}}, lease)
			return err
		}, registry.ErrInvalid, []string{`id "bad id"`, "max tasks 0", "pool: must not be empty"}},
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
	w, err := b.store.Get(ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, b.id, w.DisplayName)
	require.Equal(t, map[string]string{"zone": "a"}, w.Tags)
	_, err = b.store.Get(ctx, missing)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound, "a failed heartbeat or edit did not create the worker")
}

// A worker that signs off shows offline at once, and ends its session
// with no orphans; it registers again when it starts.
func TestSignOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, sess := b.registerSession(t, b.id)
	w, err := b.store.Get(ctx, b.id)
	require.NoError(t, err)
	require.True(t, w.Online)

	require.NoError(t, b.store.SignOff(ctx, sess))
	w, err = b.store.Get(ctx, b.id)
	require.NoError(t, err)
	require.False(t, w.Online, "signed off: offline at once")
	require.Equal(t, 0, w.Running)
	_, err = b.renew(t, sess, 1)
	require.ErrorIs(t, err, registry.ErrSessionLost, "a signed-off session is over")

	_, _, prev, err := b.store.Register(ctx, registry.Registration{ID: b.id, Machine: "m", Pools: []string{"default"}, MaxTasks: 2}, lease)
	require.NoError(t, err, "no need to wait for the lease: it signed off")
	require.Empty(t, prev.Runs)
	w, err = b.store.Get(ctx, b.id)
	require.NoError(t, err)
	require.True(t, w.Online, "registered again: online")
	require.ErrorIs(t, b.store.SignOff(ctx, registry.Session{WorkerID: testenv.Name("nobody"), ID: "s"}), scaleouttype.ErrNotFound)
}
