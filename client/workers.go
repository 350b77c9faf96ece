package client

import (
	"context"
	"net/http"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Workers lists the registered workers (the Scale Out Manager's view).
func (c *Client) Workers(ctx context.Context, opts ...CallOption) ([]scaleouttype.Worker, error) {
	var l scaleouttype.WorkerList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/workers", out: &l}, opts...)
	return l.Workers, err
}

// GetWorker returns one worker; ErrNotFound if it is not registered.
func (c *Client) GetWorker(ctx context.Context, id string, opts ...CallOption) (scaleouttype.Worker, error) {
	return c.worker(ctx, http.MethodGet, "/v1/workers/"+escape(id), nil, opts)
}

// EnableWorker lets a worker take work again.
func (c *Client) EnableWorker(ctx context.Context, id string, opts ...CallOption) (scaleouttype.Worker, error) {
	return c.worker(ctx, http.MethodPost, "/v1/workers/"+escape(id)+"/enable", nil, opts)
}

// DisableWorker stops a worker from taking new work; what it runs goes on.
func (c *Client) DisableWorker(ctx context.Context, id string, opts ...CallOption) (scaleouttype.Worker, error) {
	return c.worker(ctx, http.MethodPost, "/v1/workers/"+escape(id)+"/disable", nil, opts)
}

// UpdateWorker changes a worker's display name, description or tags
// (fields left nil stay as they are).
func (c *Client) UpdateWorker(ctx context.Context, id string, ch scaleouttype.UpdateWorkerRequest, opts ...CallOption) (scaleouttype.Worker, error) {
	return c.worker(ctx, http.MethodPatch, "/v1/workers/"+escape(id), ch, opts)
}

func (c *Client) worker(ctx context.Context, method, path string, in any, opts []CallOption) (scaleouttype.Worker, error) {
	var w scaleouttype.Worker
	err := c.do(ctx, request{method: method, path: path, in: in, out: &w}, opts...)
	return w, err
}

// Removed is the answer of RemoveWorker.
type Removed struct {
	Removed string `json:"removed"`
	// Note says what happens to the worker process next.
	Note string `json:"note"`
}

// RemoveWorker removes an offline worker from the registry (an online one
// is refused: stop it first); a worker process started again with this id
// registers again.
func (c *Client) RemoveWorker(ctx context.Context, id string, opts ...CallOption) (Removed, error) {
	var r Removed
	err := c.do(ctx, request{method: http.MethodDelete, path: "/v1/workers/" + escape(id), out: &r}, opts...)
	return r, err
}
