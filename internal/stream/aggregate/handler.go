package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/internal/stream/notify"
)

// Handler is the stream function: it plans a batch and applies one update
// per aggregate item, then enqueues the webhook of every execution that
// entered a final status with a callback URL, and puts an event for each
// on the event bus.
type Handler struct {
	// Store takes the batch's aggregates: a Store (DynamoDB) in
	// production, a Memory in tests.
	Store  Writer
	Logger *slog.Logger
	// Events, when set, gets an event for every transition to a final
	// status once the batch's aggregate writes are done (EventBridge, see
	// publishEnded).
	Events Publisher
	// Webhooks, when set, gets a delivery for every transition to a final
	// status with a callback URL once the batch's aggregate writes are
	// done (the webhook queue, see enqueueWebhooks): the stream never
	// waits for a receiver.
	Webhooks Enqueuer
}

// Publisher puts "Execution Ended" events on an event bus (notify.Bus).
// Publish returns how many of evs, from the start, are known to be put.
type Publisher interface {
	Publish(ctx context.Context, evs []notify.Event) (int, error)
}

// Enqueuer puts webhook deliveries on the webhook queue (notify.Queue),
// from which the webhook sender delivers them. Enqueue returns how many of
// evs, from the start, are known to be put.
type Enqueuer interface {
	Enqueue(ctx context.Context, evs []notify.Event) (int, error)
}

// concurrency bounds the updates of one batch in flight at once.
const concurrency = 16

// Handle processes one batch as Lambda delivers it. Each aggregate item
// gets one conditional write that adds the batch's deltas and records the
// ids of the transitions it applied, unless one of them is there already,
// so that a batch delivered again, in pieces, or from a failed record on,
// never counts twice. When an item cannot be written, the records from the
// first one that touched it on are reported as failed (the sequence number
// of that record), so Lambda retries only that tail; the items written
// already skip what they have.
//
// The event comes with its shard (Lambda passes it when the event source
// mapping has a tumbling window; the local poller always does): each item
// keeps, per shard and hour of the records, the last sequence number it
// applied, which is how a redelivered record is told from a new one.
func (h Handler) Handle(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	// The state of the tumbling window is not used, but a response without
	// one is a failed invocation to Lambda.
	resp := events.DynamoDBTimeWindowEventResponse{
		TimeWindowEventResponseProperties: events.TimeWindowEventResponseProperties{State: map[string]string{}},
	}
	if len(ev.Records) == 0 {
		return resp, nil // the window's final invocation may bring none
	}
	updates, err := h.Store.Plan(ev.ShardID, ev.Records)
	if err != nil {
		return resp, fmt.Errorf("fold stream batch: %w", err)
	}
	var (
		mu          sync.Mutex
		wg          sync.WaitGroup
		firstFailed = -1
		sem         = make(chan struct{}, concurrency)
	)
	for _, u := range updates {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := h.Store.Apply(ctx, u); err != nil {
				if h.Logger != nil {
					h.Logger.ErrorContext(ctx, "aggregate write failed", "pk", u.Key.PK, "sk", u.Key.SK, "error", err)
				}
				mu.Lock()
				if firstFailed < 0 || u.First < firstFailed {
					firstFailed = u.First
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	end := len(ev.Records)
	if firstFailed >= 0 {
		end = firstFailed
	}
	// Webhooks are enqueued before the events are put: a failure to
	// enqueue fails the batch from its record on before any event of that
	// tail is put, so the retry puts none twice. (A failure to put an
	// event enqueues that tail's webhooks again, which the sender drops as
	// delivered or marks as redeliveries.)
	ended := endedEvents(ev.Records[:end])
	if n := h.enqueueWebhooks(ctx, ended); n < len(ended) {
		end = ended[n].record
		ended = ended[:n]
	}
	if n := h.publishEnded(ctx, ended); n < len(ended) {
		end = ended[n].record
	}
	if end < len(ev.Records) {
		resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{
			ItemIdentifier: ev.Records[end].Change.SequenceNumber,
		}}
	}
	return resp, nil
}

// endedEvent is a record that moved an execution into a final status.
type endedEvent struct {
	record int // index in the batch
	ev     notify.Event
}

// endedEvents lists the records that moved an execution into a final
// status, in batch order.
func endedEvents(records []events.DynamoDBEventRecord) []endedEvent {
	var out []endedEvent
	for i, rec := range records {
		ch, err := readChange(i, rec)
		if err != nil || ch.skip || !ch.enteredFinal() {
			continue
		}
		im := ch.new
		ev := notify.Event{
			ExecutionID: im.id, Folder: im.ref.Folder, Project: im.ref.Project, Package: im.ref.Package,
			Pool: im.pool, Status: im.status, Attempt: int(im.attempt), Error: im.err,
			EndedAt: time.UnixMilli(changedAt(im)).UTC(), CallbackURL: im.callback,
		}
		if im.startedAt > 0 {
			ev.StartedAt = time.UnixMilli(im.startedAt).UTC()
		}
		out = append(out, endedEvent{record: i, ev: ev})
	}
	return out
}

// publishEnded puts an event for each ended execution on the bus and
// returns how many, from the start, are put. Unlike a webhook, an event
// that cannot be put fails the batch from its record on: Lambda delivers
// that tail again (the aggregates skip what they counted), so every final
// status reaches the bus at least once.
func (h Handler) publishEnded(ctx context.Context, ended []endedEvent) int {
	if h.Events == nil || len(ended) == 0 {
		return len(ended)
	}
	evs := make([]notify.Event, len(ended))
	for i, e := range ended {
		evs[i] = e.ev
	}
	n, err := h.Events.Publish(ctx, evs)
	if err != nil {
		if h.Logger != nil {
			h.Logger.ErrorContext(ctx, "execution end events not put; the batch is retried from the first", "put", n, "of", len(evs), "error", err)
		}
		return n
	}
	return len(evs)
}

// enqueueWebhooks puts a delivery on the webhook queue for every ended
// execution that asked for one with a callback URL, and returns how many
// of ended, from the start, need nothing more: the index of the first
// whose delivery is not known to be queued, or len(ended). Like an event,
// a delivery that cannot be queued fails the batch from its record on.
func (h Handler) enqueueWebhooks(ctx context.Context, ended []endedEvent) int {
	if h.Webhooks == nil {
		return len(ended)
	}
	var (
		evs []notify.Event
		at  []int // index in ended of each of evs
	)
	for i, e := range ended {
		if e.ev.CallbackURL != "" {
			evs = append(evs, e.ev)
			at = append(at, i)
		}
	}
	if len(evs) == 0 {
		return len(ended)
	}
	n, err := h.Webhooks.Enqueue(ctx, evs)
	if err == nil && n >= len(evs) {
		return len(ended)
	}
	if h.Logger != nil {
		h.Logger.ErrorContext(ctx, "webhook deliveries not queued; the batch is retried from the first", "queued", n, "of", len(evs), "error", err)
	}
	return at[n]
}
