package notify

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/uuid"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/wait"
)

// The source and detail type of the events Scaleout puts on its bus. An
// EventBridge rule selects them with the pattern
//
//	{"source": ["scaleout"], "detail-type": ["Execution Ended"]}
const (
	BusSource     = "scaleout"
	BusDetailType = "Execution Ended"
)

// maxBusError bounds the error text carried in an event's detail.
const maxBusError = 2048

// putEventsMax is the most entries one PutEvents call takes.
const putEventsMax = 10

// BusDetail is the detail of an "Execution Ended" event.
type BusDetail struct {
	// EventID is the same every time the end of this execution is put on
	// the bus: events are at least once, consumers deduplicate by it.
	EventID     string           `json:"event_id"`
	ExecutionID string           `json:"execution_id"`
	Folder      string           `json:"folder,omitempty"`
	Project     string           `json:"project,omitempty"`
	Package     string           `json:"package"`
	Pool        string           `json:"pool,omitempty"`
	Status      execution.Status `json:"status"`
	Attempt     int              `json:"attempt"`
	Error       string           `json:"error,omitempty"`
	StartedAt   *time.Time       `json:"started_at,omitempty"`
	EndedAt     time.Time        `json:"ended_at"`
	DurationMS  *int64           `json:"duration_ms,omitempty"`
}

// busNS derives event ids from execution ids.
var busNS = uuid.NewHash(sha1.New(), uuid.NameSpaceURL, []byte("https://scaleout.dev/execution-ended"), 5)

// EventID is the stable id of an execution's "Execution Ended" event.
func EventID(executionID string) string {
	return uuid.NewSHA1(busNS, []byte(executionID)).String()
}

// Detail builds the event detail of ev.
func (ev Event) Detail() BusDetail {
	d := BusDetail{
		EventID: EventID(ev.ExecutionID), ExecutionID: ev.ExecutionID,
		Folder: ev.Folder, Project: ev.Project, Package: ev.Package, Pool: ev.Pool,
		Status: ev.Status, Attempt: ev.Attempt, Error: ev.Error, EndedAt: ev.EndedAt.UTC(),
	}
	if len(d.Error) > maxBusError {
		d.Error = d.Error[:maxBusError] + "…"
	}
	if !ev.StartedAt.IsZero() {
		st := ev.StartedAt.UTC()
		d.StartedAt = &st
		ms := ev.EndedAt.Sub(ev.StartedAt).Milliseconds()
		d.DurationMS = &ms
	}
	return d
}

// Bus puts an "Execution Ended" event on an EventBridge event bus for
// every execution that reaches a final status.
type Bus struct {
	client  *eventbridge.Client
	name    string
	tries   int
	backoff time.Duration
	log     *slog.Logger
}

// BusOption configures a Bus.
type BusOption func(*Bus)

// WithBusRetries sets how many times an entry EventBridge refused is put
// again (default 3 tries in all) and the wait before the second try,
// doubling after (default 100ms). Whole-call failures (throttling, 5xx)
// are retried by the SDK's own retryer first.
func WithBusRetries(tries int, backoff time.Duration) BusOption {
	return func(b *Bus) { b.tries, b.backoff = tries, backoff }
}

// WithBusLogger logs what the bus could not put.
func WithBusLogger(l *slog.Logger) BusOption { return func(b *Bus) { b.log = l } }

// NewBus returns a Bus that puts events on the bus named name (a name or
// an ARN; SCALEOUT_EVENT_BUS).
func NewBus(client *eventbridge.Client, name string, opts ...BusOption) (*Bus, error) {
	if client == nil {
		return nil, errors.New("notify: no EventBridge client")
	}
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("notify: no event bus name (SCALEOUT_EVENT_BUS)")
	}
	b := &Bus{client: client, name: name, tries: 3, backoff: 100 * time.Millisecond, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(b)
	}
	if b.tries < 1 {
		b.tries = 1
	}
	return b, nil
}

// Publish puts one event per element of evs, in calls of up to ten
// entries. It returns how many of evs, from the start, are known to be on
// the bus: all of them and a nil error, or, when an entry still fails
// after its retries or a call fails, the index of the first event not put
// and the reason. Events after that index may have been put too; a caller
// that publishes them again makes duplicates, which consumers drop by
// event_id.
func (b *Bus) Publish(ctx context.Context, evs []Event) (int, error) {
	for start := 0; start < len(evs); start += putEventsMax {
		end := min(start+putEventsMax, len(evs))
		if i, err := b.putChunk(ctx, evs[start:end]); err != nil {
			return start + i, err
		}
	}
	return len(evs), nil
}

// putChunk puts up to ten events, retrying the entries refused; it
// returns the index of the first event not put.
func (b *Bus) putChunk(ctx context.Context, evs []Event) (int, error) {
	entries := make([]types.PutEventsRequestEntry, len(evs))
	for i, ev := range evs {
		detail, err := json.Marshal(ev.Detail())
		if err != nil {
			return i, fmt.Errorf("event of execution %s: encode: %w", ev.ExecutionID, err)
		}
		entries[i] = types.PutEventsRequestEntry{
			EventBusName: aws.String(b.name),
			Source:       aws.String(BusSource),
			DetailType:   aws.String(BusDetailType),
			Detail:       aws.String(string(detail)),
			Time:         aws.Time(ev.EndedAt),
		}
	}
	pending := make([]int, len(evs)) // indices into evs still to put
	for i := range pending {
		pending[i] = i
	}
	pause := b.backoff
	var lastErr error
	for try := 1; ; try++ {
		batch := make([]types.PutEventsRequestEntry, len(pending))
		for j, i := range pending {
			batch[j] = entries[i]
		}
		out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil {
			return pending[0], fmt.Errorf("put %d events on bus %s: %w", len(batch), b.name, err)
		}
		if len(out.Entries) != len(batch) {
			return pending[0], fmt.Errorf("put events on bus %s: %d results for %d entries", b.name, len(out.Entries), len(batch))
		}
		var still []int
		for j, r := range out.Entries {
			if r.ErrorCode != nil {
				still = append(still, pending[j])
				lastErr = fmt.Errorf("event of execution %s refused by bus %s: %s: %s",
					evs[pending[j]].ExecutionID, b.name, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
			}
		}
		if len(still) == 0 {
			return len(evs), nil
		}
		pending = still
		if try >= b.tries {
			return pending[0], fmt.Errorf("%d of %d events not put after %d tries: %w", len(pending), len(evs), try, lastErr)
		}
		b.log.WarnContext(ctx, "event bus refused entries; trying again", "bus", b.name, "refused", len(pending), "error", lastErr)
		if err := wait.For(ctx, pause); err != nil {
			return pending[0], errors.Join(lastErr, err)
		}
		pause *= 2
	}
}
