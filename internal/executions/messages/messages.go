package messages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/wait"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Message is one event of an execution.
type Message = scaleouttype.Message

// MaxMessageBytes caps one message's text; longer text is cut, on a
// character boundary, and ends with cutMarker within the cap (the API's
// document says a message has at most 8192 characters).
const MaxMessageBytes = 8 << 10

const cutMarker = "… (cut)"

// cut keeps s within MaxMessageBytes. Both stores cut what they are given
// to write, and a Writer cuts what it buffers.
func cut(s string) string {
	if len(s) <= MaxMessageBytes {
		return s
	}
	n := MaxMessageBytes - len(cutMarker)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + cutMarker
}

func partition(id string) string { return resources.CatalogMessagesPrefix + id }

// PartitionOf is the catalog partition key of execution id's messages: for
// a capacity model.
func PartitionOf(id string) string { return partition(id) }

// sortKey orders message chunks by attempt, then the sequence number of
// their last message.
func sortKey(attempt, seq int) string {
	return fmt.Sprintf("%s%04d#%09d", resources.CatalogMessagePrefix, attempt, seq)
}

// MaxChunkBytes caps the messages one item holds (as JSON). A flush of
// one attempt's messages is one item, or more when they are larger: a
// no-op execution's four messages cost one write, not four, and a chatty
// task's lines one write per 64 KB.
const MaxChunkBytes = 64 << 10

// Sink is where a Writer writes: Write stores messages, in order, each
// text cut to MaxMessageBytes. A batch written again as it was replaces
// what it wrote: a Writer retries a failed write with the same batch, and
// nothing is listed twice.
type Sink interface {
	Write(ctx context.Context, msgs []Message) error
}

// Log is the messages port: Write, and List, which returns an execution's
// messages in order of attempt and sequence number, a page at a time (the
// API's Messages). Store keeps them in DynamoDB, Memory in memory; the
// conformance suite in messages/messagestest holds both to the same cases.
type Log interface {
	Sink
	List(ctx context.Context, executionID, cursor string, limit int) (Page, error)
}

var _ Log = (*Store)(nil)

// ErrInvalid is returned by Write for messages that cannot be stored (a
// time JSON cannot encode): writing them again would not help.
var ErrInvalid = errors.New("messages: not storable")

// Store reads and writes messages in the catalog table.
type Store struct {
	db    *dynamodb.Client
	table string
	// Retention is how long messages are kept (TTL); zero keeps them.
	Retention time.Duration
}

// NewStore returns a store on the catalog table.
func NewStore(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table, Retention: 30 * 24 * time.Hour}
}

// chunk is the stored shape of consecutive messages of one attempt: the
// item's sort key names the attempt and the last message's sequence
// number, so the chunks holding messages after a cursor are those whose
// key is after it.
type chunk struct {
	Attempt int    `dynamodbav:"attempt"`
	First   int    `dynamodbav:"first_seq"`
	Last    int    `dynamodbav:"last_seq"`
	Body    string `dynamodbav:"msgs"` // JSON array of Message
}

// Write stores messages, consecutive ones of an attempt packed into items
// of up to MaxChunkBytes, with BatchWriteItem (25 items a call), retrying
// what DynamoDB leaves unprocessed. Messages must come in order. The same
// batch gives the same items (same keys), so writing it again replaces
// them.
func (s *Store) Write(ctx context.Context, msgs []Message) error {
	items, err := s.items(msgs)
	if err != nil {
		return err
	}
	for done := 0; done < len(items); {
		end := min(done+25, len(items))
		reqs := make([]types.WriteRequest, 0, end-done)
		for _, it := range items[done:end] {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		if err := s.batch(ctx, reqs); err != nil {
			return err
		}
		done = end
	}
	return nil
}

// items packs msgs into the items that store them: the same messages give
// the same items (same keys), so writing one again replaces it.
func (s *Store) items(msgs []Message) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	for len(msgs) > 0 {
		n, body, err := pack(msgs)
		if err != nil {
			return nil, err
		}
		first, last := msgs[0], msgs[n-1]
		item, err := attributevalue.MarshalMap(chunk{Attempt: first.Attempt, First: first.Seq, Last: last.Seq, Body: body})
		if err != nil {
			return nil, fmt.Errorf("encode messages of execution %s: %w: %w", first.ExecutionID, ErrInvalid, err)
		}
		item[resources.CatalogPK] = &types.AttributeValueMemberS{Value: partition(first.ExecutionID)}
		item[resources.CatalogSK] = &types.AttributeValueMemberS{Value: sortKey(last.Attempt, last.Seq)}
		if s.Retention > 0 {
			item[resources.TTLAttribute] = &types.AttributeValueMemberN{Value: strconv.FormatInt(first.Time.Add(s.Retention).Unix(), 10)}
		}
		items = append(items, item)
		msgs = msgs[n:]
	}
	return items, nil
}

// pack encodes the longest run of msgs of one execution and attempt that
// fits in MaxChunkBytes (at least one message), each text cut, and returns
// its length.
func pack(msgs []Message) (int, string, error) {
	var b strings.Builder
	b.WriteByte('[')
	n := 0
	for _, m := range msgs {
		if m.ExecutionID != msgs[0].ExecutionID || m.Attempt != msgs[0].Attempt {
			break
		}
		m.Message = cut(m.Message)
		j, err := json.Marshal(m)
		if err != nil {
			return 0, "", fmt.Errorf("encode message %d of execution %s: %w: %w", m.Seq, m.ExecutionID, ErrInvalid, err)
		}
		if n > 0 && b.Len()+len(j)+2 > MaxChunkBytes {
			break
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(j)
		n++
	}
	b.WriteByte(']')
	return n, b.String(), nil
}

func (s *Store) batch(ctx context.Context, reqs []types.WriteRequest) error {
	backoff := 50 * time.Millisecond
	for attempt := 0; len(reqs) > 0; attempt++ {
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: reqs},
		})
		if err != nil {
			return fmt.Errorf("write messages: %w", err)
		}
		reqs = out.UnprocessedItems[s.table]
		if len(reqs) == 0 {
			return nil
		}
		if attempt == 8 {
			return fmt.Errorf("write messages: %d left unprocessed after %d tries", len(reqs), attempt+1)
		}
		if err := wait.For(ctx, backoff); err != nil {
			return err
		}
		backoff = min(backoff*2, 2*time.Second)
	}
	return nil
}

// Page is one page of messages.
type Page = scaleouttype.MessagePage

// List returns up to limit messages after the cursor (empty: from the
// start), in order.
func (s *Store) List(ctx context.Context, executionID, cursor string, limit int) (Page, error) {
	limit = pageLimit(limit)
	afterAttempt, afterSeq := 0, 0
	cond := "#pk = :pk AND begins_with(#sk, :msg)"
	values := map[string]types.AttributeValue{
		":pk":  &types.AttributeValueMemberS{Value: partition(executionID)},
		":msg": &types.AttributeValueMemberS{Value: resources.CatalogMessagePrefix},
	}
	if cursor != "" {
		var ok bool
		afterAttempt, afterSeq, ok = parseCursor(cursor)
		if !ok {
			return Page{}, ErrBadCursor
		}
		cond = "#pk = :pk AND #sk BETWEEN :after AND :end"
		delete(values, ":msg")
		// Chunks whose last message is after the cursor; the first of
		// them may begin at or before it.
		values[":after"] = &types.AttributeValueMemberS{Value: sortKey(afterAttempt, afterSeq+1)}
		values[":end"] = &types.AttributeValueMemberS{Value: resources.CatalogMessagePrefix + "~"}
	}
	p := Page{Messages: []Message{}}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.CatalogPK, "#sk": resources.CatalogSK},
		ExpressionAttributeValues: values,
		ConsistentRead:            aws.Bool(true),
	}
	for len(p.Messages) < limit {
		// A chunk holds one message or more: ask for no more chunks than
		// messages still wanted.
		in.Limit = aws.Int32(int32(limit - len(p.Messages)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return Page{}, fmt.Errorf("list messages of execution %s: %w", executionID, err)
		}
		for _, it := range out.Items {
			msgs, err := decodeItem(it)
			if err != nil {
				return Page{}, fmt.Errorf("decode messages of execution %s: %w", executionID, err)
			}
			for _, m := range msgs {
				m.ExecutionID = executionID
				if !after(m, afterAttempt, afterSeq) {
					continue // before the cursor, in the first chunk
				}
				if len(p.Messages) < limit {
					p.Messages = append(p.Messages, m)
				}
			}
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	p.Next = nextCursor(p.Messages, cursor)
	return p, nil
}

// MaxPage is the most messages one List returns; a limit of 0 or more
// asks for MaxPage.
const MaxPage = 1000

func pageLimit(limit int) int {
	if limit <= 0 || limit > MaxPage {
		return MaxPage
	}
	return limit
}

// after reports whether m comes after the cursor's message.
func after(m Message, attempt, seq int) bool {
	return m.Attempt > attempt || m.Attempt == attempt && m.Seq > seq
}

// nextCursor is the cursor after a page: its last message's, or the same
// cursor for an empty page (to tail by asking again).
func nextCursor(page []Message, cursor string) string {
	if n := len(page); n > 0 {
		return fmt.Sprintf("%d.%d", page[n-1].Attempt, page[n-1].Seq)
	}
	return cursor
}

// legacyItem is an item of one message, as written before chunks.
type legacyItem struct {
	ExecutionID string    `dynamodbav:"execution_id"`
	Attempt     int       `dynamodbav:"attempt"`
	Seq         int       `dynamodbav:"seq"`
	Time        time.Time `dynamodbav:"time"`
	Kind        string    `dynamodbav:"kind"`
	Task        string    `dynamodbav:"task,omitempty"`
	Status      string    `dynamodbav:"status,omitempty"`
	Stream      string    `dynamodbav:"stream,omitempty"`
	Message     string    `dynamodbav:"message,omitempty"`
	DurationMS  int64     `dynamodbav:"duration_ms,omitempty"`
}

// decodeItem reads a chunk item (or an item of one message, as written
// before chunks).
func decodeItem(it map[string]types.AttributeValue) ([]Message, error) {
	if _, ok := it["msgs"]; !ok {
		var m legacyItem
		if err := attributevalue.UnmarshalMap(it, &m); err != nil {
			return nil, err
		}
		return []Message{Message(m)}, nil
	}
	var c chunk
	if err := attributevalue.UnmarshalMap(it, &c); err != nil {
		return nil, err
	}
	var msgs []Message
	if err := json.Unmarshal([]byte(c.Body), &msgs); err != nil {
		return nil, err
	}
	for i := range msgs {
		msgs[i].Attempt = c.Attempt
	}
	return msgs, nil
}

// A cursor is "<attempt>.<seq>" of the last message seen.
func parseCursor(c string) (attempt, seq int, ok bool) {
	a, q, found := strings.Cut(c, ".")
	if !found {
		return 0, 0, false
	}
	attempt, err1 := strconv.Atoi(a)
	seq, err2 := strconv.Atoi(q)
	if err1 != nil || err2 != nil || attempt < 0 || seq < 0 || attempt > 9999 || seq > 999_999_999 {
		return 0, 0, false
	}
	return attempt, seq, true
}

// ErrBadCursor is returned for a cursor List did not make.
var ErrBadCursor = errors.New("messages: not a cursor from a previous page")

// DefaultFlushEvery is how long a Writer lets a message wait before it
// writes it, unless a full item is ready sooner: what a package printed is
// in its messages within about this long, even when the worker is then
// killed. One write per interval, not per line: a package that prints a
// line every 100 ms costs one small item write a second.
const DefaultFlushEvery = time.Second

// Writer buffers one attempt's messages and writes them to a Sink in
// batches: every FlushEvery while there are any, at once when a full item
// (MaxChunkBytes) is buffered, and on Close. A write that fails is kept
// and tried again at the next flush, as the same batch (so nothing is
// written twice).
type Writer struct {
	sink    Sink
	id      string
	attempt int
	log     *slog.Logger

	mu       sync.Mutex
	buf      []Message
	bufBytes int
	seq      int
	// unwritten are batches a flush could not write, oldest first;
	// pending counts the messages in them. Only the loop touches
	// unwritten; pending is read by Add under mu.
	unwritten [][]Message
	pending   int
	lastErr   error
	kick      chan struct{}
	done      chan struct{}
	quit      chan struct{}
	errs      []error
	dropped   int
	maxBuf    int
}

// WriterOptions tune a Writer.
type WriterOptions struct {
	// FlushEvery is the longest a message waits in the buffer; default
	// DefaultFlushEvery.
	FlushEvery time.Duration
	// MaxBuffered caps the messages not written yet; beyond it messages are
	// dropped and counted (a runaway task, or DynamoDB unreachable for
	// long, must not exhaust memory). Default 50,000.
	MaxBuffered int
	Logger      *slog.Logger
}

// NewWriter starts a writer for one attempt of an execution, writing to
// sink (a Store, or Memory in tests).
func NewWriter(sink Sink, executionID string, attempt int, o WriterOptions) *Writer {
	if o.FlushEvery <= 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = 50_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{sink: sink, id: executionID, attempt: attempt, log: o.Logger,
		kick: make(chan struct{}, 1), done: make(chan struct{}), quit: make(chan struct{}), maxBuf: o.MaxBuffered}
	go w.loop(o.FlushEvery)
	return w
}

// Add buffers one message; it never blocks on the sink.
func (w *Writer) Add(m Message) {
	m.Message = cut(m.Message)
	w.mu.Lock()
	if len(w.buf)+w.pending >= w.maxBuf {
		w.dropped++
		w.mu.Unlock()
		return
	}
	w.seq++
	m.ExecutionID, m.Attempt, m.Seq = w.id, w.attempt, w.seq
	if m.Time.IsZero() {
		m.Time = time.Now().UTC()
	}
	w.buf = append(w.buf, m)
	// About the message's size as JSON: its text and its other fields.
	w.bufBytes += len(m.Message) + len(m.Task) + 120
	full := w.bufBytes >= MaxChunkBytes
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// loop flushes on a timer, when a full item is buffered, and once more on
// Close. Writes are not cancelled by Close: what was emitted is written.
func (w *Writer) loop(every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.quit:
			w.flush()
			return
		case <-t.C:
		case <-w.kick:
		}
		w.flush()
	}
}

func (w *Writer) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.mu.Lock()
	batch := w.buf
	w.buf, w.bufBytes = nil, 0
	w.pending += len(batch)
	w.mu.Unlock()
	if len(batch) > 0 {
		w.unwritten = append(w.unwritten, batch)
	}
	for len(w.unwritten) > 0 {
		b := w.unwritten[0]
		err := w.sink.Write(ctx, b)
		if err != nil && !errors.Is(err, ErrInvalid) {
			w.mu.Lock()
			w.lastErr = err
			w.mu.Unlock()
			w.log.WarnContext(ctx, "could not write messages; trying again at the next flush", "execution_id", w.id,
				"batches", len(w.unwritten), "error", err)
			return
		}
		w.unwritten = w.unwritten[1:]
		w.mu.Lock()
		w.pending -= len(b)
		w.lastErr = nil
		if err != nil {
			// Not storable: trying again would not help.
			w.errs = append(w.errs, err)
		}
		w.mu.Unlock()
		if err != nil {
			w.log.WarnContext(ctx, "could not encode messages", "execution_id", w.id, "count", len(b), "error", err)
		}
	}
}

// Close writes what is buffered and stops the writer. It reports messages
// it could not write and dropped messages.
func (w *Writer) Close() error {
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	errs := w.errs
	if w.pending > 0 {
		errs = append(errs, fmt.Errorf("%d messages not written: %w", w.pending, w.lastErr))
	}
	if w.dropped > 0 {
		errs = append(errs, fmt.Errorf("%d messages dropped: more than %d buffered", w.dropped, w.maxBuf))
	}
	return errors.Join(errs...)
}
