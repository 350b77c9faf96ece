package messages

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// Memory keeps messages in memory, for tests that need no stand-ins. It
// stores what Store stores, the way Store stores it: each text cut to
// MaxMessageBytes and each message through the same JSON encoding, listed
// in order of attempt and sequence number however they were written, a
// page at a time with the same cursors. Writing a message again (same
// execution, attempt and sequence number) replaces it. It keeps messages
// until it is dropped (no retention). Safe for concurrent use.
type Memory struct {
	mu   sync.Mutex
	msgs map[string]map[[2]int]Message // execution id → (attempt, seq) → message
}

var _ Log = (*Memory)(nil)

// NewMemory returns an empty in-memory message log.
func NewMemory() *Memory { return &Memory{msgs: map[string]map[[2]int]Message{}} }

// Write stores messages, each text cut to MaxMessageBytes.
func (s *Memory) Write(ctx context.Context, msgs []Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write messages: %w", err)
	}
	stored := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		m.Message = cut(m.Message)
		// Through JSON, as Store keeps them: times lose their monotonic
		// reading and keep their offset, an unencodable one is refused.
		j, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode message %d of execution %s: %w: %w", m.Seq, m.ExecutionID, ErrInvalid, err)
		}
		var back Message
		if err := json.Unmarshal(j, &back); err != nil {
			return fmt.Errorf("decode message %d of execution %s: %w", m.Seq, m.ExecutionID, err)
		}
		back.ExecutionID = m.ExecutionID
		stored = append(stored, back)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range stored {
		byKey := s.msgs[m.ExecutionID]
		if byKey == nil {
			byKey = map[[2]int]Message{}
			s.msgs[m.ExecutionID] = byKey
		}
		byKey[[2]int{m.Attempt, m.Seq}] = m
	}
	return nil
}

// List returns up to limit messages after the cursor (empty: from the
// start), in order; ErrBadCursor for a cursor List did not make.
func (s *Memory) List(ctx context.Context, executionID, cursor string, limit int) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, fmt.Errorf("list messages of execution %s: %w", executionID, err)
	}
	limit = pageLimit(limit)
	afterAttempt, afterSeq := 0, 0
	if cursor != "" {
		var ok bool
		if afterAttempt, afterSeq, ok = parseCursor(cursor); !ok {
			return Page{}, ErrBadCursor
		}
	}
	s.mu.Lock()
	var all []Message
	for _, m := range s.msgs[executionID] {
		if after(m, afterAttempt, afterSeq) {
			all = append(all, m)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b Message) int { return cmp.Or(cmp.Compare(a.Attempt, b.Attempt), cmp.Compare(a.Seq, b.Seq)) })
	p := Page{Messages: append([]Message{}, all[:min(limit, len(all))]...)}
	p.Next = nextCursor(p.Messages, cursor)
	return p, nil
}
