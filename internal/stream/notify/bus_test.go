package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/stream/notify"
	"github.com/scaleout/scaleout/localstack/eventbus"
)

// busClient is the real SDK client pointed at the stand-in.
func busClient(t *testing.T, srv *eventbus.Server) *eventbridge.Client {
	t.Helper()
	return eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  staticCreds{},
	})
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
}

func ended(i int) notify.Event {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return notify.Event{
		ExecutionID: fmt.Sprintf("exec-%03d", i), Folder: "sales", Project: "nightly", Package: "load.yaml",
		Pool: "default", Status: execution.Succeeded, Attempt: 1,
		StartedAt: start, EndedAt: start.Add(1500 * time.Millisecond),
	}
}

func TestBusPublishesOneEventPerEnd(t *testing.T) {
	t.Parallel()
	srv := eventbus.Start()
	defer srv.Close()
	bus, err := notify.NewBus(busClient(t, srv), "scaleout-test-executions")
	require.NoError(t, err)

	var evs []notify.Event
	for i := range 23 {
		evs = append(evs, ended(i))
	}
	evs[5].Status, evs[5].Error = execution.Failed, "task load: exit status 1"
	n, err := bus.Publish(context.Background(), evs)
	require.NoError(t, err)
	require.Equal(t, 23, n)
	require.Equal(t, 3, srv.Calls(), "23 events go in calls of at most 10")

	got := srv.Events()
	require.Len(t, got, 23)
	for i, e := range got {
		require.Equal(t, "scaleout-test-executions", e.Bus)
		require.Equal(t, notify.BusSource, e.Source)
		require.Equal(t, notify.BusDetailType, e.DetailType)
		require.WithinDuration(t, evs[i].EndedAt, e.Time, time.Millisecond)
		var d notify.BusDetail
		require.NoError(t, json.Unmarshal(e.Detail, &d))
		require.Equal(t, evs[i].ExecutionID, d.ExecutionID, "in order")
		require.Equal(t, notify.EventID(evs[i].ExecutionID), d.EventID)
		require.Equal(t, evs[i].Status, d.Status)
		require.Equal(t, "default", d.Pool)
		require.NotNil(t, d.DurationMS)
		require.EqualValues(t, 1500, *d.DurationMS)
	}
	var d5 notify.BusDetail
	require.NoError(t, json.Unmarshal(got[5].Detail, &d5))
	require.Equal(t, "task load: exit status 1", d5.Error)
}

func TestBusRetriesRefusedEntries(t *testing.T) {
	t.Parallel()
	srv := eventbus.Start()
	defer srv.Close()
	bus, err := notify.NewBus(busClient(t, srv), "b", notify.WithBusRetries(3, time.Millisecond))
	require.NoError(t, err)
	// A partial failure: the first call refuses two of its four entries.
	srv.Refuse(`"exec-001"`, "ThrottlingException", 1)
	srv.Refuse(`"exec-003"`, "InternalFailure", 1)
	evs := []notify.Event{ended(0), ended(1), ended(2), ended(3)}
	n, err := bus.Publish(context.Background(), evs)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Equal(t, 2, srv.Calls(), "one call, then one for the two refused")
	ids := map[string]int{}
	for _, e := range srv.Events() {
		var d notify.BusDetail
		require.NoError(t, json.Unmarshal(e.Detail, &d))
		ids[d.ExecutionID]++
	}
	require.Len(t, ids, 4, "every event on the bus")
	for id, c := range ids {
		require.Equal(t, 1, c, "refused entries are put again, accepted ones are not: %s", id)
	}
}

func TestBusReportsFirstEventNotPut(t *testing.T) {
	t.Parallel()
	srv := eventbus.Start()
	defer srv.Close()
	bus, err := notify.NewBus(busClient(t, srv), "b", notify.WithBusRetries(2, time.Millisecond))
	require.NoError(t, err)
	evs := make([]notify.Event, 14)
	for i := range evs {
		evs[i] = ended(i)
	}
	// Events 0-9 go in the first call; in the second, event 11 is refused
	// on every try.
	srv.Refuse(`"exec-011"`, "InternalFailure", -1)
	n, err := bus.Publish(context.Background(), evs)
	require.ErrorContains(t, err, "exec-011")
	require.ErrorContains(t, err, "InternalFailure")
	require.Equal(t, 11, n, "events 0-10 are known to be on the bus")
	require.Len(t, srv.Events(), 13, "12 and 13 went too (consumers drop repeats by event_id)")
}

func TestBusCallErrorsSayWhy(t *testing.T) {
	t.Parallel()
	srv := eventbus.Start()
	srv.Close() // nothing listens: the SDK's retries end in an error
	bus, err := notify.NewBus(busClient(t, srv), "b", notify.WithBusRetries(1, time.Millisecond))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := bus.Publish(ctx, []notify.Event{ended(0)})
	require.Error(t, err)
	require.Contains(t, err.Error(), "put 1 events on bus b")
	require.Equal(t, 0, n)

	_, err = notify.NewBus(busClient(t, srv), " ")
	require.ErrorContains(t, err, "SCALEOUT_EVENT_BUS")
}
