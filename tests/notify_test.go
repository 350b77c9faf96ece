package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/stream/notify"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/localstack/eventbus"
)

// webhook is one request the test receiver got.
type webhook struct {
	payload    notify.Payload
	delivery   string
	redelivery bool
	verifyErr  error
}

// hookReceiver is a scheduler's webhook endpoint on loopback.
type hookReceiver struct {
	mu  sync.Mutex
	got []webhook
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	wh := webhook{
		delivery:   r.Header.Get(notify.HeaderDelivery),
		redelivery: r.Header.Get(notify.HeaderRedelivery) == "true",
		verifyErr: notify.Verify([]byte(webhookSecret), r.Header.Get(notify.HeaderTimestamp), body,
			r.Header.Get(notify.HeaderSignature), 5*time.Minute),
	}
	if err := json.Unmarshal(body, &wh.payload); err != nil {
		wh.verifyErr = fmt.Errorf("payload: %w", err)
	}
	h.mu.Lock()
	h.got = append(h.got, wh)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) all() []webhook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]webhook(nil), h.got...)
}

const webhookSecret = "e2e-webhook-secret-0123456789abcdef"

// TestWebhooksAndDashboard runs 200 executions with mixed outcomes through
// `scaleout dev` and the stand-ins: the receiver gets exactly one valid,
// signed callback per execution (more only if marked as redeliveries), the
// event bus gets an "Execution Ended" event for each (at least once, one
// event_id each), and the dashboard equals a recount from the executions.
func TestWebhooksAndDashboard(t *testing.T) {
	t.Setenv("SCALEOUT_WEBHOOK_SECRET", webhookSecret) // startDev passes the environment on
	bus := eventbus.Start()
	t.Cleanup(bus.Close)
	t.Setenv("SCALEOUT_EVENT_BUS", "e2e-executions")
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", bus.URL)
	recv := &hookReceiver{}
	hooks := httptest.NewServer(recv)
	t.Cleanup(hooks.Close)

	d := startDev(t, buildScaleout(t))
	folder := testenv.Name("notify")

	// A callback URL that is not http(s) is refused up front.
	var apiErr struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	bad, _ := json.Marshal(map[string]any{"folder": folder, "package": "x", "command": []string{"true"}, "callback_url": "ftp://example.com/hook"})
	require.Equal(t, http.StatusBadRequest, call(t, "POST", d.base+"/v1/executions", string(bad), &apiErr))
	require.Contains(t, apiErr.Error.Message, "callback_url")

	const n = 200
	type submitted struct{ id, pkg, want string }
	subs := make([]submitted, n)
	errs := make(chan error, n)
	client := apiClient(t, d.base)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pkg, want, code := "pkg-a", "succeeded", "exit 0"
			if i%2 == 1 {
				pkg = "pkg-b"
			}
			if i%3 == 0 {
				want, code = "failed", "exit 3"
			}
			body, _ := json.Marshal(map[string]any{"folder": folder, "project": "hooks", "package": pkg,
				"command": []string{"sh", "-c", code}, "callback_url": hooks.URL + "/hooks/scaleout?source=e2e"})
			req, _ := http.NewRequest("POST", d.base+"/v1/executions", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var e execution
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &e) != nil {
				errs <- fmt.Errorf("submission %d: %s: %s", i, resp.Status, b)
				return
			}
			subs[i] = submitted{e.ID, pkg, want}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// Every execution ends, as it was meant to.
	list := func() []execution {
		var all []execution
		cursor := ""
		for {
			var page struct {
				Executions []execution `json:"executions"`
				Next       string      `json:"next"`
			}
			require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/executions?limit=100&folder="+folder+"&cursor="+cursor, "", &page))
			all = append(all, page.Executions...)
			if page.Next == "" {
				return all
			}
			cursor = page.Next
		}
	}
	var execs []execution
	require.Eventually(t, func() bool {
		execs = list()
		if len(execs) != n {
			return false
		}
		for _, e := range execs {
			if e.Status != "succeeded" && e.Status != "failed" {
				return false
			}
		}
		return true
	}, 50*time.Second, 250*time.Millisecond, "not all %d executions ended", n)
	status := map[string]string{}
	for _, e := range execs {
		status[e.ID] = e.Status
	}
	for _, s := range subs {
		require.Equal(t, s.want, status[s.id], "execution %s", s.id)
	}

	// The dashboard equals a recount from the executions.
	recount := map[string]map[string]int{} // package → status → count
	for _, s := range subs {
		if recount[s.pkg] == nil {
			recount[s.pkg] = map[string]int{}
		}
		recount[s.pkg][status[s.id]]++
	}
	var dash struct {
		Packages []struct {
			Folder  string         `json:"folder"`
			Project string         `json:"project"`
			Package string         `json:"package"`
			Counts  map[string]int `json:"counts"`
		} `json:"packages"`
	}
	dashCounts := func() map[string]map[string]int {
		dash.Packages = nil
		require.Equal(t, http.StatusOK, call(t, "GET", d.base+"/v1/dashboard?hours=2", "", &dash))
		out := map[string]map[string]int{}
		for _, p := range dash.Packages {
			if p.Folder != folder {
				continue
			}
			out[p.Package] = map[string]int{}
			for st, c := range p.Counts {
				if c != 0 {
					out[p.Package][st] = c
				}
			}
		}
		return out
	}
	require.Eventually(t, func() bool {
		return fmt.Sprint(dashCounts()) == fmt.Sprint(recount)
	}, 30*time.Second, 250*time.Millisecond, "dashboard %v never equalled the recount %v", dashCounts(), recount)

	// One valid, signed callback per execution; any more only as redeliveries.
	require.Eventually(t, func() bool {
		seen := map[string]bool{}
		for _, wh := range recv.all() {
			seen[wh.payload.ExecutionID] = true
		}
		return len(seen) == n
	}, 30*time.Second, 100*time.Millisecond, "the receiver did not get a callback for every execution")
	first := map[string]int{}
	deliveryOf := map[string]string{}
	for _, wh := range recv.all() {
		p := wh.payload
		require.NoError(t, wh.verifyErr, "callback of %s", p.ExecutionID)
		require.Equal(t, p.DeliveryID, wh.delivery, "X-Scaleout-Delivery is the payload's delivery_id")
		require.Equal(t, wh.redelivery, p.Redelivery, "header and payload agree on redelivery")
		if id, ok := deliveryOf[p.ExecutionID]; ok {
			require.Equal(t, id, wh.delivery, "the delivery id is stable per execution")
		}
		deliveryOf[p.ExecutionID] = wh.delivery
		require.Contains(t, status, p.ExecutionID, "a callback for an execution of this test")
		require.Equal(t, status[p.ExecutionID], string(p.Status))
		require.Equal(t, folder, p.Folder)
		require.Equal(t, "hooks", p.Project)
		require.Equal(t, 1, p.Attempt)
		require.False(t, p.EndedAt.IsZero())
		if p.Status == "failed" {
			require.Contains(t, p.Error, "exited with code 3", "error %q", p.Error)
		}
		if !wh.redelivery {
			first[p.ExecutionID]++
		}
	}
	for id := range status {
		require.LessOrEqual(t, first[id], 1, "execution %s: more than one callback not marked as a redelivery", id)
	}
	t.Logf("%d callbacks for %d executions", len(recv.all()), n)

	// An "Execution Ended" event per execution on the bus, the same
	// event_id on any repeat.
	events := map[string]notify.BusDetail{}
	repeats := 0
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		clear(events)
		repeats = 0
		for _, e := range bus.Events() {
			var d notify.BusDetail
			require.NoError(c, json.Unmarshal(e.Detail, &d))
			if d.Folder != folder {
				continue
			}
			require.Equal(c, "e2e-executions", e.Bus)
			require.Equal(c, notify.BusSource, e.Source)
			require.Equal(c, notify.BusDetailType, e.DetailType)
			if prev, ok := events[d.ExecutionID]; ok {
				require.Equal(c, prev.EventID, d.EventID, "a repeated event keeps its event_id")
				repeats++
			}
			events[d.ExecutionID] = d
		}
		assert.Len(c, events, n)
	}, 30*time.Second, 100*time.Millisecond, "the bus did not get an event for every execution")
	for id, d := range events {
		require.Equal(t, status[id], string(d.Status), "event of %s", id)
		require.Equal(t, "hooks", d.Project)
		require.Equal(t, notify.EventID(id), d.EventID)
		require.NotNil(t, d.DurationMS, "event of %s has a duration", id)
	}
	t.Logf("%d events on the bus for %d executions (%d repeats)", len(events)+repeats, n, repeats)
}
