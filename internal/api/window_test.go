package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/api"
)

// The listing's time windows through the API: the query's since, until,
// limit and cursor, with a clock the test sets. What a window costs in
// DynamoDB queries is execstore's test (TestListQueriesFollowTheDays).

// clock is a settable time for the API.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// clockSetup starts the API with a clock the test sets.
func clockSetup(t *testing.T, clk *clock) bundle {
	t.Helper()
	return setup(t, func(d *api.Deps) { d.Now = clk.now })
}

// listing is what following a listing's cursors to the end took.
type listing struct {
	ids      []string
	requests int
}

func listAll(t *testing.T, b bundle, query string) listing {
	t.Helper()
	var l listing
	cursor := ""
	for {
		q := query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		code, out, _ := do(t, b, "GET", "/v1/executions?"+q, readerToken, "")
		require.Equal(t, http.StatusOK, code, "%s: %v", q, out)
		l.requests++
		page, ok := out["executions"].([]any)
		require.True(t, ok, "executions is an array: %v", out)
		for _, e := range page {
			l.ids = append(l.ids, e.(map[string]any)["id"].(string))
		}
		next, _ := out["next"].(string)
		if next == "" {
			break
		}
		require.Less(t, l.requests, 1000, "the listing ends")
		cursor = next
	}
	return l
}

func reversed(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}

// create makes an execution through the API at the clock's time t.
func create(t *testing.T, b bundle, clk *clock, at time.Time, project string) string {
	t.Helper()
	clk.set(at)
	code, out, _ := do(t, b, "POST", "/v1/executions", adminToken,
		fmt.Sprintf(`{"project":%q,"package":"p","command":["true"]}`, project))
	require.Equal(t, http.StatusCreated, code, out)
	return out["id"].(string)
}

// A wide window with few executions: 24 executions made today (as a
// black-box sweep found them), listed with since=2000-01-01, come in one
// page.
func TestListWideWindow(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Millisecond)
	clk := &clock{t: now}
	b := clockSetup(t, clk)
	var ids []string
	for i := range 24 {
		ids = append(ids, create(t, b, clk, now.Add(time.Duration(i-24)*time.Minute), "default"))
	}
	clk.set(now)
	l := listAll(t, b, "since=2000-01-01T00:00:00Z")
	require.Equal(t, reversed(ids), l.ids, "all 24, newest first")
	require.Equal(t, 1, l.requests, "one page")
}

// Every since and until is honoured, by day and by folder, inclusive; a
// far-future until lists the 30 days before now; a cursor keeps the
// window of the first page.
func TestListByTime(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Millisecond)
	clk := &clock{t: now}
	b := clockSetup(t, clk)
	ages := []time.Duration{time.Hour, 3 * 24 * time.Hour, 40 * 24 * time.Hour, 400 * 24 * time.Hour, 5 * 365 * 24 * time.Hour}
	var ids []string // newest first
	for _, age := range ages {
		ids = append(ids, create(t, b, clk, now.Add(-age), "default"))
	}
	clk.set(now)
	at := func(i int, d time.Duration) string {
		return url.QueryEscape(now.Add(-ages[i] + d).Format(time.RFC3339Nano))
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", ids[:2]},
		{"until=2099-01-01T00:00:00Z", ids[:2]},
		{"until=2099-01-01T00:00:00Z&since=2000-01-01T00:00:00Z", ids},
		{"since=2000-01-01T00:00:00Z", ids},
		{"since=1970-01-01T00:00:00Z&until=2200-01-01T00:00:00Z", ids},
		{"since=" + at(2, 0), ids[:3]},
		{"since=" + at(2, time.Millisecond), ids[:2]},
		{"until=" + at(1, 0), ids[1:2]},
		{"until=" + at(1, -time.Millisecond), nil},
		{"since=" + at(4, 0) + "&until=" + at(1, -time.Millisecond), ids[2:]},
		{"since=" + at(3, 0) + "&until=" + at(3, 0), ids[3:4]},
		{"since=2000-01-01T00:00:00Z&until=" + at(4, -time.Millisecond), nil},
		{"since=2099-01-01T00:00:00Z&until=2099-01-02T00:00:00Z", nil},
		{"folder=default&since=2000-01-01T00:00:00Z", ids},
		{"folder=default&until=" + at(1, 0), ids[1:]},
		{"folder=default&since=" + at(3, 0) + "&until=" + at(1, 0), ids[1:4]},
		{"package=p&since=" + at(2, time.Millisecond), ids[:2]},
		{"status=pending&until=" + at(3, 0), ids[3:]},
		{"status=pending&since=2000-01-01T00:00:00Z&until=2099-01-01T00:00:00Z", ids},
	} {
		l := listAll(t, b, c.query)
		if c.want == nil {
			c.want = []string{}
		}
		if l.ids == nil {
			l.ids = []string{}
		}
		require.Equal(t, c.want, l.ids, "%s: %d requests", c.query, l.requests)
		require.Equal(t, 1, l.requests, "%s: one page", c.query)
	}

	// Pages of two: a cursor per page.
	l := listAll(t, b, "since=2000-01-01T00:00:00Z&limit=2")
	require.Equal(t, ids, l.ids)
	require.Equal(t, 3, l.requests)

	// The cursor keeps the default window of the first page: 29 days on,
	// the execution 3 days older than the first page's now is still in.
	code, out, _ := do(t, b, "GET", "/v1/executions?limit=1", readerToken, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, ids[0], out["executions"].([]any)[0].(map[string]any)["id"])
	clk.set(now.Add(29 * 24 * time.Hour))
	code, out, _ = do(t, b, "GET", "/v1/executions?limit=1&cursor="+url.QueryEscape(out["next"].(string)), readerToken, "")
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, ids[1], out["executions"].([]any)[0].(map[string]any)["id"])
}
