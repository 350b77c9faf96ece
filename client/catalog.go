package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/scaleout/scaleout/scaleouttype"
)

// CreateFolder creates a folder; ErrConflict if it exists.
func (c *Client) CreateFolder(ctx context.Context, name, description string, opts ...CallOption) (scaleouttype.Folder, error) {
	var f scaleouttype.Folder
	err := c.do(ctx, request{method: http.MethodPost, path: "/v1/folders",
		in: scaleouttype.CreateFolderRequest{Name: name, Description: description}, out: &f}, opts...)
	return f, err
}

// GetFolder returns a folder; ErrNotFound if there is none.
func (c *Client) GetFolder(ctx context.Context, name string, opts ...CallOption) (scaleouttype.Folder, error) {
	var f scaleouttype.Folder
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/folders/" + escape(name), out: &f}, opts...)
	return f, err
}

// EnsureFolder returns the folder, creating it if it does not exist; created
// says whether it did.
func (c *Client) EnsureFolder(ctx context.Context, name string) (f scaleouttype.Folder, created bool, err error) {
	f, err = c.GetFolder(ctx, name)
	if !errors.Is(err, ErrNotFound) {
		return f, false, err
	}
	f, err = c.CreateFolder(ctx, name, "")
	if errors.Is(err, ErrConflict) { // created meanwhile by someone else
		f, err = c.GetFolder(ctx, name)
		return f, false, err
	}
	return f, err == nil, err
}

// ListFolders returns one page of folders in name order (limit 0: the
// API's default); the page's Next continues it.
func (c *Client) ListFolders(ctx context.Context, cursor string, limit int, opts ...CallOption) (scaleouttype.FolderPage, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p scaleouttype.FolderPage
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/folders", query: q, out: &p}, opts...)
	return p, err
}

// Deploy deploys a bundle as the project's next version (the folder must
// exist; see EnsureFolder). An invalid bundle is an *Error listing every
// problem of every package.
func (c *Client) Deploy(ctx context.Context, folder, project string, b scaleouttype.Bundle, opts ...CallOption) (scaleouttype.Version, error) {
	var v scaleouttype.Version
	err := c.do(ctx, request{method: http.MethodPut, path: "/v1/folders/" + escape(folder) + "/projects/" + escape(project),
		in: b, out: &v}, opts...)
	return v, err
}

// Projects lists a folder's projects.
func (c *Client) Projects(ctx context.Context, folder string, opts ...CallOption) ([]scaleouttype.ProjectSummary, error) {
	var l scaleouttype.ProjectList
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/folders/" + escape(folder) + "/projects", out: &l}, opts...)
	return l.Projects, err
}

// DescribeProject returns a project's latest version: its packages and
// their parameters, the project's parameters, references and bindings.
func (c *Client) DescribeProject(ctx context.Context, folder, project string, opts ...CallOption) (scaleouttype.Project, error) {
	var p scaleouttype.Project
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/folders/" + escape(folder) + "/projects/" + escape(project), out: &p}, opts...)
	return p, err
}

// Versions lists a project's kept versions, newest first.
func (c *Client) Versions(ctx context.Context, folder, project string, opts ...CallOption) ([]scaleouttype.Version, error) {
	var l scaleouttype.VersionList
	err := c.do(ctx, request{method: http.MethodGet,
		path: "/v1/folders/" + escape(folder) + "/projects/" + escape(project) + "/versions", out: &l}, opts...)
	return l.Versions, err
}

// DeleteFolder deletes an empty folder. While it holds projects or
// environments the answer is ErrConflict, whose message names them.
func (c *Client) DeleteFolder(ctx context.Context, name string, opts ...CallOption) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/folders/" + escape(name)}, opts...)
}

// Restore deploys a kept version of a project again, as its next version
// (restoring version 1 of a project at version 2 gives version 3, with
// RestoredFrom 1); ErrNotFound if the version is no longer kept.
func (c *Client) Restore(ctx context.Context, folder, project string, version int, opts ...CallOption) (scaleouttype.Version, error) {
	var v scaleouttype.Version
	err := c.do(ctx, request{method: http.MethodPost, path: projectPath(folder, project) + "/restore",
		in: scaleouttype.RestoreRequest{Version: version}, out: &v}, opts...)
	return v, err
}

// DeleteProject deletes a project with all its versions, references and
// bindings.
func (c *Client) DeleteProject(ctx context.Context, folder, project string, opts ...CallOption) error {
	return c.do(ctx, request{method: http.MethodDelete, path: projectPath(folder, project)}, opts...)
}

// SetReferences replaces the environments a project may run with (a
// reference with Folder empty is to the project's own folder). Each must
// exist: ErrNotFound otherwise. It returns the project as DescribeProject
// does. References are kept across deploys and restores.
func (c *Client) SetReferences(ctx context.Context, folder, project string, refs []scaleouttype.EnvRef, opts ...CallOption) (scaleouttype.Project, error) {
	if refs == nil {
		refs = []scaleouttype.EnvRef{}
	}
	var p scaleouttype.Project
	err := c.do(ctx, request{method: http.MethodPut, path: projectPath(folder, project) + "/references",
		in: scaleouttype.ReferencesRequest{References: refs}, out: &p}, opts...)
	return p, err
}

// SetBindings replaces a project's parameter bindings: parameter name (of
// the project or of any of its packages) to the name of a variable of the
// environment an execution is started with. The server checks each against
// the project and every environment it references (ErrInvalid, with every
// problem, otherwise). It returns the project as DescribeProject does and
// what changed: bindings left out are removed. Bindings are kept across
// deploys and restores.
func (c *Client) SetBindings(ctx context.Context, folder, project string, bindings map[string]string, opts ...CallOption) (scaleouttype.BindingsResponse, error) {
	if bindings == nil {
		bindings = map[string]string{}
	}
	var out scaleouttype.BindingsResponse
	err := c.do(ctx, request{method: http.MethodPut, path: projectPath(folder, project) + "/bindings",
		in: scaleouttype.BindingsRequest{Bindings: bindings}, out: &out}, opts...)
	return out, err
}

// PatchBindings binds some parameters (checked as SetBindings does) and
// unbinds others (a nil variable), keeping the other bindings.
func (c *Client) PatchBindings(ctx context.Context, folder, project string, patch map[string]*string, opts ...CallOption) (scaleouttype.BindingsResponse, error) {
	var out scaleouttype.BindingsResponse
	err := c.do(ctx, request{method: http.MethodPatch, path: projectPath(folder, project) + "/bindings",
		in: scaleouttype.BindingsPatch{Bindings: patch}, out: &out}, opts...)
	return out, err
}

// projectPath is a project's escaped path.
func projectPath(folder, project string) string {
	return "/v1/folders/" + escape(folder) + "/projects/" + escape(project)
}
