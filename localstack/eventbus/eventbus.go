package eventbus

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// MaxEntries is the most entries one PutEvents call may carry.
const MaxEntries = 10

// MaxRequestBytes is the largest PutEvents request EventBridge accepts.
const MaxRequestBytes = 256 * 1024

// Event is one accepted entry.
type Event struct {
	ID         string
	Bus        string
	Source     string
	DetailType string
	Detail     json.RawMessage
	Time       time.Time
	Resources  []string
}

// Server is a running stand-in.
type Server struct {
	// URL is the endpoint to give the SDK (BaseEndpoint).
	URL string

	srv     *httptest.Server
	mu      sync.Mutex
	changed *sync.Cond
	events  []Event
	calls   int
	refuse  []*refusal
}

// refusal makes entries whose detail contains match fail with code, times
// more times (-1: always).
type refusal struct {
	match string
	code  string
	times int
}

// Start starts a stand-in on a loopback port; Close stops it.
func Start() *Server {
	s := &Server{}
	s.changed = sync.NewCond(&s.mu)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Refuse makes the next times entries whose Detail contains match fail
// with code (e.g. "ThrottlingException", "InternalFailure"), as a partial
// failure of their PutEvents call; times < 0 refuses them always.
func (s *Server) Refuse(match, code string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = append(s.refuse, &refusal{match: match, code: code, times: times})
}

// refusal returns the code an entry is refused with, or "".
func (s *Server) refusal(detail string) string {
	for _, r := range s.refuse {
		if r.times != 0 && strings.Contains(detail, r.match) {
			if r.times > 0 {
				r.times--
			}
			return r.code
		}
	}
	return ""
}

// Events returns the accepted events so far, in the order accepted.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Calls is the number of PutEvents calls answered (accepted or not).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// WaitFor waits until at least n events were accepted or timeout passes,
// and returns the events accepted by then.
func (s *Server) WaitFor(n int, timeout time.Duration) []Event {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	defer t.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.events) < n && time.Now().Before(deadline) {
		s.changed.Wait()
	}
	return append([]Event(nil), s.events...)
}

type putEventsRequest struct {
	Entries []struct {
		Source       *string
		DetailType   *string
		Detail       *string
		EventBusName *string
		Resources    []string
		Time         *float64
	}
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		clientError(w, "UnknownOperationException", "only POST is served")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "AWSEvents.PutEvents" {
		clientError(w, "UnknownOperationException", fmt.Sprintf("operation %q is not served by this stand-in", target))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		clientError(w, "SerializationException", err.Error())
		return
	}
	if len(body) > MaxRequestBytes {
		clientError(w, "ValidationException", fmt.Sprintf("request larger than %d bytes", MaxRequestBytes))
		return
	}
	var req putEventsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		clientError(w, "SerializationException", err.Error())
		return
	}
	if n := len(req.Entries); n < 1 || n > MaxEntries {
		clientError(w, "ValidationException", fmt.Sprintf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and %d (got %d)", MaxEntries, n))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	out := struct {
		Entries          []resultEntry
		FailedEntryCount int
	}{Entries: make([]resultEntry, len(req.Entries))}
	for i, e := range req.Entries {
		refused := ""
		if e.Detail != nil {
			refused = s.refusal(*e.Detail)
		}
		switch {
		case e.Source == nil || *e.Source == "":
			out.Entries[i] = resultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Source is not valid. Reason: Source is a required argument."}
		case e.DetailType == nil || *e.DetailType == "":
			out.Entries[i] = resultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter DetailType is not valid. Reason: DetailType is a required argument."}
		case e.Detail == nil || !isObject(*e.Detail):
			out.Entries[i] = resultEntry{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
		case refused != "":
			out.Entries[i] = resultEntry{ErrorCode: refused, ErrorMessage: "refused by the test (Server.Refuse)"}
		default:
			ev := Event{ID: uuid.NewString(), Bus: "default", Source: *e.Source, DetailType: *e.DetailType,
				Detail: json.RawMessage(*e.Detail), Resources: e.Resources, Time: time.Now().UTC()}
			if e.EventBusName != nil && *e.EventBusName != "" {
				ev.Bus = *e.EventBusName
			}
			if e.Time != nil {
				sec := int64(*e.Time)
				ev.Time = time.Unix(sec, int64((*e.Time-float64(sec))*1e9)).UTC()
			}
			s.events = append(s.events, ev)
			out.Entries[i] = resultEntry{EventID: ev.ID}
			continue
		}
		out.FailedEntryCount++
	}
	s.changed.Broadcast()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func isObject(s string) bool {
	var v map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &v) == nil
}

func clientError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
