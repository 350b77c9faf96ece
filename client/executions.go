package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/scaleout/scaleout/internal/wait"
	"github.com/scaleout/scaleout/scaleouttype"
)

// CreateExecution starts an execution: a deployed project's package
// (Folder, Project, Package, Environment, Parameters), a Definition, or a
// Command (see scaleouttype.CreateExecutionRequest). It returns the execution as
// recorded, status pending.
func (c *Client) CreateExecution(ctx context.Context, req scaleouttype.CreateExecutionRequest, opts ...CallOption) (scaleouttype.Execution, error) {
	var e scaleouttype.Execution
	body, err := createBody(req)
	if err != nil {
		return e, err
	}
	err = c.do(ctx, request{method: http.MethodPost, path: "/v1/executions", in: body, out: &e}, opts...)
	return e, err
}

// createBody encodes req without its empty fields: the API takes
// "definition": null for a definition given alongside a command.
func createBody(req scaleouttype.CreateExecutionRequest) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}
	for k, v := range fields {
		switch string(v) {
		case "null", `""`, "0", "[]", "{}":
			delete(fields, k)
		}
	}
	return fields, nil
}

// GetExecution returns one execution (sensitive parameters as "***").
func (c *Client) GetExecution(ctx context.Context, id string, opts ...CallOption) (scaleouttype.Execution, error) {
	var e scaleouttype.Execution
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/executions/" + escape(id), out: &e}, opts...)
	return e, err
}

// DataStatistics returns the rows each dataflow task of the execution sent
// along each path (GET /v1/executions/{id}/data-statistics).
func (c *Client) DataStatistics(ctx context.Context, id string, opts ...CallOption) (scaleouttype.DataStatistics, error) {
	var d scaleouttype.DataStatistics
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/executions/" + escape(id) + "/data-statistics", out: &d}, opts...)
	return d, err
}

// ListExecutions returns one page of executions, newest first. Every field
// of f is optional; Next of the page continues it (as f.Cursor, with the
// same filters).
func (c *Client) ListExecutions(ctx context.Context, f scaleouttype.ExecutionFilter, opts ...CallOption) (scaleouttype.ExecutionPage, error) {
	q := url.Values{}
	for _, kv := range []struct{ k, v string }{
		{"folder", f.Folder}, {"project", f.Project}, {"package", f.Package}, {"status", string(f.Status)}, {"cursor", f.Cursor},
	} {
		if kv.v != "" {
			q.Set(kv.k, kv.v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p scaleouttype.ExecutionPage
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/executions", query: q, out: &p}, opts...)
	return p, err
}

// StopExecution asks for an execution to stop: a pending one is canceled
// at once, a running one moves to stopping and its worker cancels it
// within seconds. It returns the execution after the request.
func (c *Client) StopExecution(ctx context.Context, id string, opts ...CallOption) (scaleouttype.Execution, error) {
	var e scaleouttype.Execution
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/executions/" + escape(id) + "/stop", out: &e}, opts...)
	return e, err
}

// Messages returns up to limit (1-1000; 0 for the API's default of 100)
// of an execution's messages after the cursor ("" for the first). The
// page's Next is the cursor to ask with next, also on the last page, so
// that a running execution can be tailed.
func (c *Client) Messages(ctx context.Context, id, after string, limit int, opts ...CallOption) (scaleouttype.MessagePage, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p scaleouttype.MessagePage
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/executions/" + escape(id) + "/messages", query: q, out: &p}, opts...)
	return p, err
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// After is the cursor to start after ("": from the first message).
	After string
	// Interval is the wait between polls once the messages so far are
	// read (default 1s).
	Interval time.Duration
	// PageSize is how many messages one request asks for (default 500).
	PageSize int
	// OnMessage is called with each message, in order, and its JSON as the
	// API sent it. An error it returns ends Follow with that error.
	OnMessage func(m scaleouttype.Message, raw json.RawMessage) error
	// OnStatus, if set, is called when the execution's status is first
	// seen and each time it changes.
	OnStatus func(e scaleouttype.Execution)
	// UntilNow returns once the messages written so far are read, whether
	// the execution has ended or not (a `logs` without --follow).
	UntilNow bool
}

// ErrStopFollowing, returned by OnMessage, ends Follow without an error.
var ErrStopFollowing = errors.New("stop following")

// Follow tails an execution's messages with the messages cursor until the
// execution reaches a final status and every message is read, and returns
// the final execution (with UntilNow: the execution as it was when the
// messages so far were read). Its context ends the following, not the
// execution.
func (c *Client) Follow(ctx context.Context, id string, o FollowOptions) (scaleouttype.Execution, error) {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.PageSize <= 0 {
		o.PageSize = 500
	}
	cursor := o.After
	var seen scaleouttype.Status
	for {
		// Read the status first: once it is final, every message of the
		// run has been written, and the pages read next hold them all.
		e, err := c.GetExecution(ctx, id)
		if err != nil {
			return e, err
		}
		if e.Status != seen && o.OnStatus != nil {
			o.OnStatus(e)
		}
		seen = e.Status
		for {
			var raw json.RawMessage
			if _, err := c.Messages(ctx, id, cursor, o.PageSize, Raw(&raw)); err != nil {
				return e, err
			}
			var page struct {
				Messages []json.RawMessage `json:"messages"`
				Next     string            `json:"next"`
			}
			if err := json.Unmarshal(raw, &page); err != nil {
				return e, fmt.Errorf("messages of execution %s: %w", id, err)
			}
			for _, rm := range page.Messages {
				var m scaleouttype.Message
				if err := json.Unmarshal(rm, &m); err != nil {
					return e, fmt.Errorf("a message of execution %s: %w", id, err)
				}
				m.ExecutionID = id
				if o.OnMessage != nil {
					if err := o.OnMessage(m, rm); errors.Is(err, ErrStopFollowing) {
						return e, nil
					} else if err != nil {
						return e, err
					}
				}
			}
			if page.Next != "" {
				cursor = page.Next
			}
			if len(page.Messages) < o.PageSize {
				break
			}
		}
		if e.Status.Final() || o.UntilNow {
			return e, nil
		}
		if err := wait.For(ctx, o.Interval); err != nil {
			return e, err
		}
	}
}

// WaitFinal polls an execution every interval (default 1s) until its
// status is final, and returns it.
func (c *Client) WaitFinal(ctx context.Context, id string, interval time.Duration) (scaleouttype.Execution, error) {
	if interval <= 0 {
		interval = time.Second
	}
	for {
		e, err := c.GetExecution(ctx, id)
		if err != nil || e.Status.Final() {
			return e, err
		}
		if err := wait.For(ctx, interval); err != nil {
			return e, err
		}
	}
}
