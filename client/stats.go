package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Dashboard returns the dashboard's figures for the last hours (1-720;
// 0 for the API's default of 24).
func (c *Client) Dashboard(ctx context.Context, hours int, opts ...CallOption) (scaleouttype.Dashboard, error) {
	q := url.Values{}
	if hours > 0 {
		q.Set("hours", strconv.Itoa(hours))
	}
	var d scaleouttype.Dashboard
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/dashboard", query: q, out: &d}, opts...)
	return d, err
}

// Pools returns every pool's queue, workers and executions, and why its
// pending work does not start when it does not.
func (c *Client) Pools(ctx context.Context, opts ...CallOption) ([]scaleouttype.PoolView, error) {
	var l scaleouttype.PoolList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/pools", out: &l}, opts...)
	return l.Pools, err
}

// Stats returns the counts of everything (zero filter), a folder, a
// project or a package's executions by status.
func (c *Client) Stats(ctx context.Context, f scaleouttype.StatsFilter, opts ...CallOption) (scaleouttype.Stats, error) {
	q := url.Values{}
	for _, kv := range []struct{ k, v string }{{"folder", f.Folder}, {"project", f.Project}, {"package", f.Package}} {
		if kv.v != "" {
			q.Set(kv.k, kv.v)
		}
	}
	var s scaleouttype.Stats
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/stats", query: q, out: &s}, opts...)
	return s, err
}
