package client

import (
	"context"
	"net/http"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Environments lists a folder's environments by name. A sensitive
// variable's Value is always nil: the API never returns it.
func (c *Client) Environments(ctx context.Context, folder string, opts ...CallOption) ([]scaleouttype.Environment, error) {
	var l scaleouttype.EnvironmentList
	err := c.do(ctx, request{method: http.MethodGet, path: environmentsPath(folder), out: &l}, opts...)
	return l.Environments, err
}

// GetEnvironment returns one environment, sensitive values left out;
// ErrNotFound if there is none.
func (c *Client) GetEnvironment(ctx context.Context, folder, name string, opts ...CallOption) (scaleouttype.Environment, error) {
	var e scaleouttype.Environment
	err := c.do(ctx, request{method: http.MethodGet, path: environmentsPath(folder) + "/" + escape(name), out: &e}, opts...)
	return e, err
}

// CreateEnvironment creates an environment of typed variables in a folder;
// ErrConflict if the name is taken there. A variable marked Sensitive is
// sealed at rest and its value is never returned. An invalid variable
// (unknown type, a value not of its type) is ErrInvalid, every problem
// listed; no problem holds a sensitive value.
func (c *Client) CreateEnvironment(ctx context.Context, folder, name string, in scaleouttype.EnvironmentInput, opts ...CallOption) (scaleouttype.Environment, error) {
	if in.Variables == nil {
		in.Variables = map[string]scaleouttype.Variable{}
	}
	var e scaleouttype.Environment
	err := c.do(ctx, request{method: http.MethodPost, path: environmentsPath(folder),
		in: scaleouttype.CreateEnvironmentRequest{Name: name, EnvironmentInput: in}, out: &e}, opts...)
	return e, err
}

// UpdateEnvironment replaces an environment's description and variables.
// A sensitive variable sent with a nil Value (and the same type) keeps its
// stored value, which callers can never read back. A concurrent update
// makes it fail with ErrConflict.
func (c *Client) UpdateEnvironment(ctx context.Context, folder, name string, in scaleouttype.EnvironmentInput, opts ...CallOption) (scaleouttype.Environment, error) {
	if in.Variables == nil {
		in.Variables = map[string]scaleouttype.Variable{}
	}
	var e scaleouttype.Environment
	err := c.do(ctx, request{method: http.MethodPut, path: environmentsPath(folder) + "/" + escape(name),
		in: in, out: &e}, opts...)
	return e, err
}

// DeleteEnvironment deletes an environment. Projects that reference it
// fail to run with it afterwards.
func (c *Client) DeleteEnvironment(ctx context.Context, folder, name string, opts ...CallOption) error {
	return c.do(ctx, request{method: http.MethodDelete, path: environmentsPath(folder) + "/" + escape(name)}, opts...)
}

// environmentsPath is a folder's escaped environments path.
func environmentsPath(folder string) string {
	return "/v1/folders/" + escape(folder) + "/environments"
}
