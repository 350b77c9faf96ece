package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// Handler is the stream function: it plans a batch and applies one update
// per aggregate item.
type Handler struct {
	Store  *Store
	Logger *slog.Logger
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
	if firstFailed >= 0 {
		resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{
			ItemIdentifier: ev.Records[firstFailed].Change.SequenceNumber,
		}}
	}
	return resp, nil
}
