package secretstore

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
)

// Server is a running stand-in.
type Server struct {
	// URL is the endpoint to give the SDK (BaseEndpoint).
	URL string

	srv     *httptest.Server
	mu      sync.Mutex
	secrets map[string]secret // by ARN and by name
	reads   atomic.Int64
}

type secret struct {
	arn, name, value, version string
}

// Start starts a stand-in on a loopback port; Close stops it.
func Start() *Server {
	s := &Server{secrets: map[string]secret{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Put stores a secret string under name and returns its ARN.
func (s *Server) Put(name, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := secret{
		arn:     fmt.Sprintf("arn:aws:secretsmanager:us-east-1:000000000000:secret:%s-%s", name, uuid.NewString()[:6]),
		name:    name,
		value:   value,
		version: uuid.NewString(),
	}
	s.secrets[sec.arn], s.secrets[name] = sec, sec
	return sec.arn
}

// Rotate gives the secret arn (as Put returned it) a new current value, as
// PutSecretValue does: a new version, the same ARN and name.
func (s *Server) Rotate(arn, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.secrets[arn]
	if !ok {
		panic("secretstore: Rotate of unknown secret " + arn)
	}
	sec.value, sec.version = value, uuid.NewString()
	s.secrets[sec.arn], s.secrets[sec.name] = sec, sec
}

// Delete removes the secret arn: reads get ResourceNotFoundException.
func (s *Server) Delete(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.secrets, s.secrets[arn].name)
	delete(s.secrets, arn)
}

// Reads is how many GetSecretValue calls were answered with a secret.
func (s *Server) Reads() int64 { return s.reads.Load() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail(w, "MissingAuthenticationTokenException", "a signed POST is required")
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "secretsmanager.GetSecretValue" {
		fail(w, "UnknownOperationException", fmt.Sprintf("operation %q is not served by this stand-in", target))
		return
	}
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretID == "" {
		fail(w, "InvalidParameterException", "SecretId is required")
		return
	}
	s.mu.Lock()
	sec, ok := s.secrets[in.SecretID]
	s.mu.Unlock()
	if !ok {
		fail(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	s.reads.Add(1)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN": sec.arn, "Name": sec.name, "SecretString": sec.value,
		"VersionId": sec.version, "VersionStages": []string{"AWSCURRENT"},
	})
}

func fail(w http.ResponseWriter, code, msg string) {
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
