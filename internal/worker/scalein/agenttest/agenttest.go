// Package agenttest stands in for the ECS agent's task scale-in protection
// endpoint ($ECS_AGENT_URI/task-protection/v1/state) in tests: an HTTP
// server that answers as the agent does (amazon-ecs-agent's task
// protection handlers) and records the task's protection.
package agenttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TaskARN is the task the stand-in protects.
const TaskARN = "arn:aws:ecs:us-east-1:000000000000:task/scaleout-test/0123456789abcdef0123456789abcdef"

// Agent is the stand-in. URI is what ECS would put in ECS_AGENT_URI.
type Agent struct {
	URI string

	mu      sync.Mutex
	enabled bool
	expires time.Time
	puts    []Put
	fail    string
}

// Put is one request the agent received.
type Put struct {
	Enabled          bool
	ExpiresInMinutes *int64
}

// New starts a stand-in, closed when t ends.
func New(t testing.TB) *Agent {
	a := &Agent{}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/{id}/task-protection/v1/state", a.put)
	mux.HandleFunc("GET /api/{id}/task-protection/v1/state", a.get)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.URI = srv.URL + "/api/2c3e0f3a-task-endpoint"
	return a
}

// State is the task's protection now.
func (a *Agent) State() (enabled bool, expires time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.enabled && time.Now().After(a.expires) {
		a.enabled = false
	}
	return a.enabled, a.expires
}

// Puts are the requests received so far.
func (a *Agent) Puts() []Put {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Put(nil), a.puts...)
}

// FailWith makes the next requests fail as ECS refuses a protection
// (reason "DEPLOYMENT_BLOCKED", HTTP 409); "" ends the failures.
func (a *Agent) FailWith(reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = reason
}

type protection struct {
	ExpirationDate    *time.Time `json:",omitempty"`
	ProtectionEnabled bool
	TaskArn           string
}

func (a *Agent) put(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProtectionEnabled *bool
		ExpiresInMinutes  *int64
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, map[string]any{"error": map[string]string{
			"Code": "InvalidParameterException", "Message": "UpdateTaskProtection: failed to decode request"}})
		return
	}
	if req.ProtectionEnabled == nil {
		reply(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"Arn": TaskARN,
			"Code": "InvalidParameterException", "Message": "Invalid request: does not contain 'ProtectionEnabled' field"}})
		return
	}
	if m := req.ExpiresInMinutes; m != nil && (*m < 1 || *m > 2880) {
		reply(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"Arn": TaskARN,
			"Code": "InvalidParameterException", "Message": "expiresInMinutes must be between 1 and 2880"}})
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.puts = append(a.puts, Put{Enabled: *req.ProtectionEnabled, ExpiresInMinutes: req.ExpiresInMinutes})
	if a.fail != "" {
		reply(w, http.StatusConflict, map[string]any{"failure": map[string]string{"Arn": TaskARN, "Reason": a.fail,
			"Detail": "the task's service is being deployed"}})
		return
	}
	a.enabled = *req.ProtectionEnabled
	p := protection{ProtectionEnabled: a.enabled, TaskArn: TaskARN}
	if a.enabled {
		minutes := int64(120)
		if req.ExpiresInMinutes != nil {
			minutes = *req.ExpiresInMinutes
		}
		a.expires = time.Now().Add(time.Duration(minutes) * time.Minute).UTC().Truncate(time.Second)
		p.ExpirationDate = &a.expires
	}
	reply(w, http.StatusOK, map[string]any{"protection": p})
}

func (a *Agent) get(w http.ResponseWriter, _ *http.Request) {
	enabled, expires := a.State()
	p := protection{ProtectionEnabled: enabled, TaskArn: TaskARN}
	if enabled {
		p.ExpirationDate = &expires
	}
	reply(w, http.StatusOK, map[string]any{"protection": p})
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
