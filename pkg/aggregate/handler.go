package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/pkg/notify"
)

// Handler is the stream function: it plans a batch and applies one update
// per aggregate item, then tells Notifier of every execution that entered a
// final status.
type Handler struct {
	Store  *Store
	Logger *slog.Logger
	// Notifier, when set, is told of every transition to a final status
	// once the batch's aggregate writes are done (see notifyEnded).
	Notifier Notifier
}

// Notifier is told that an execution ended (pkg/notify sends its webhook).
// An error is logged, never retried by failing the batch: Notify retries
// itself and records what it delivered, so a redelivered batch does not
// notify twice.
type Notifier interface {
	Notify(ctx context.Context, ev notify.Event) error
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
func (h Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	updates, err := Plan(h.Store.scope, ev.Records, h.Store.retention)
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
		resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{
			ItemIdentifier: ev.Records[firstFailed].Change.SequenceNumber,
		}}
		end = firstFailed
	}
	h.notifyEnded(ctx, ev.Records[:end])
	return resp, nil
}

// notifyEnded tells the notifier of every record that moved an execution
// into a final status. Only the records before the first failed one are
// told: Lambda delivers the tail again, and it is told then.
func (h Handler) notifyEnded(ctx context.Context, records []events.DynamoDBEventRecord) {
	if h.Notifier == nil {
		return
	}
	var (
		wg  sync.WaitGroup
		sem = make(chan struct{}, concurrency)
	)
	for i, rec := range records {
		ch, err := readChange(i, rec)
		if err != nil || ch.skip || !ch.enteredFinal() {
			continue
		}
		im := ch.new
		ev := notify.Event{
			ExecutionID: im.id, Folder: im.ref.Folder, Project: im.ref.Project, Package: im.ref.Package,
			Status: im.status, Attempt: int(im.attempt), Error: im.err,
			EndedAt: time.UnixMilli(changedAt(im)).UTC(), CallbackURL: im.callback,
		}
		if ev.CallbackURL == "" {
			continue // no webhook asked for (EventBridge events are not sent yet)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := h.Notifier.Notify(ctx, ev); err != nil && h.Logger != nil {
				h.Logger.ErrorContext(ctx, "execution end not notified", "execution_id", ev.ExecutionID, "error", err)
			}
		}()
	}
	wg.Wait()
}
