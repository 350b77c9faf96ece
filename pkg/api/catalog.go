package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/scaleout/scaleout/pkg/auth"
	"github.com/scaleout/scaleout/pkg/catalog"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Catalog is the SSISDB-style catalog: folders, projects, environments.
type Catalog interface {
	CreateFolder(ctx context.Context, name, description string) (catalog.Folder, error)
	GetFolder(ctx context.Context, name string) (catalog.Folder, error)
	ListFolders(ctx context.Context, cursor string, limit int) (catalog.FolderPage, error)
	DeleteFolder(ctx context.Context, name string) error

	Deploy(ctx context.Context, folder, project string, b catalog.Bundle, by string) (catalog.Version, error)
	Restore(ctx context.Context, folder, project string, version int, by string) (catalog.Version, error)
	Projects(ctx context.Context, folder string) ([]catalog.ProjectSummary, error)
	DescribeProject(ctx context.Context, folder, project string) (catalog.Project, error)
	Versions(ctx context.Context, folder, project string) ([]catalog.Version, error)
	DeleteProject(ctx context.Context, folder, project string) error
	SetReferences(ctx context.Context, folder, project string, refs []catalog.EnvRef) error
	SetBindings(ctx context.Context, folder, project string, bindings map[string]string) (catalog.BindingChanges, error)
	PatchBindings(ctx context.Context, folder, project string, patch map[string]*string) (catalog.BindingChanges, error)

	CreateEnvironment(ctx context.Context, folder, name string, in catalog.EnvironmentInput) (catalog.Environment, error)
	UpdateEnvironment(ctx context.Context, folder, name string, in catalog.EnvironmentInput) (catalog.Environment, error)
	GetEnvironment(ctx context.Context, folder, name string) (catalog.Environment, error)
	Environments(ctx context.Context, folder string) ([]catalog.Environment, error)
	DeleteEnvironment(ctx context.Context, folder, name string) error

	Resolve(ctx context.Context, folder, project, pkg string, env *catalog.EnvRef, given map[string]any) (catalog.Resolved, error)
}

func (s *Server) catalogRoutes() []Route {
	return []Route{
		{"GET", "/v1/folders", auth.Reader, s.listFolders},
		{"POST", "/v1/folders", auth.Admin, s.createFolder},
		{"GET", "/v1/folders/{folder}", auth.Reader, s.getFolder},
		{"DELETE", "/v1/folders/{folder}", auth.Admin, s.deleteFolder},
		{"GET", "/v1/folders/{folder}/projects", auth.Reader, s.listProjects},
		{"PUT", "/v1/folders/{folder}/projects/{project}", auth.Admin, s.deployProject},
		{"GET", "/v1/folders/{folder}/projects/{project}", auth.Reader, s.describeProject},
		{"DELETE", "/v1/folders/{folder}/projects/{project}", auth.Admin, s.deleteProject},
		{"GET", "/v1/folders/{folder}/projects/{project}/versions", auth.Reader, s.listVersions},
		{"POST", "/v1/folders/{folder}/projects/{project}/restore", auth.Admin, s.restoreProject},
		{"PUT", "/v1/folders/{folder}/projects/{project}/references", auth.Admin, s.setReferences},
		{"PUT", "/v1/folders/{folder}/projects/{project}/bindings", auth.Admin, s.setBindings},
		{"PATCH", "/v1/folders/{folder}/projects/{project}/bindings", auth.Admin, s.patchBindings},
		{"GET", "/v1/folders/{folder}/environments", auth.Reader, s.listEnvironments},
		{"POST", "/v1/folders/{folder}/environments", auth.Admin, s.createEnvironment},
		{"GET", "/v1/folders/{folder}/environments/{environment}", auth.Reader, s.getEnvironment},
		{"PUT", "/v1/folders/{folder}/environments/{environment}", auth.Admin, s.updateEnvironment},
		{"DELETE", "/v1/folders/{folder}/environments/{environment}", auth.Admin, s.deleteEnvironment},
	}
}

func caller(r *http.Request) string {
	p, _ := auth.FromContext(r.Context())
	return p.Name
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request) error {
	var req scaleouttype.CreateFolderRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	f, err := s.catalog.CreateFolder(r.Context(), req.Name, req.Description)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/folders/"+f.Name)
	writeJSON(w, http.StatusCreated, f)
	return nil
}

func (s *Server) listFolders(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	page, err := s.catalog.ListFolders(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func limitParam(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, badRequest(fmt.Sprintf("query parameter limit=%q: give a whole number from 1 to 1000", v))
	}
	return n, nil
}

func (s *Server) getFolder(w http.ResponseWriter, r *http.Request) error {
	f, err := s.catalog.GetFolder(r.Context(), r.PathValue("folder"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) deleteFolder(w http.ResponseWriter, r *http.Request) error {
	if err := s.catalog.DeleteFolder(r.Context(), r.PathValue("folder")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.catalog.Projects(r.Context(), r.PathValue("folder"))
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []catalog.ProjectSummary{}
	}
	writeJSON(w, http.StatusOK, scaleouttype.ProjectList{Projects: ps})
	return nil
}

// deployProject deploys a bundle as the project's next version: 201 with
// the version.
func (s *Server) deployProject(w http.ResponseWriter, r *http.Request) error {
	var b catalog.Bundle
	if err := decode(w, r, &b); err != nil {
		return err
	}
	v, err := s.catalog.Deploy(r.Context(), r.PathValue("folder"), r.PathValue("project"), b, caller(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/folders/"+r.PathValue("folder")+"/projects/"+r.PathValue("project"))
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) describeProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.catalog.DescribeProject(r.Context(), r.PathValue("folder"), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if err := s.catalog.DeleteProject(r.Context(), r.PathValue("folder"), r.PathValue("project")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.catalog.Versions(r.Context(), r.PathValue("folder"), r.PathValue("project"))
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []catalog.Version{}
	}
	writeJSON(w, http.StatusOK, scaleouttype.VersionList{Versions: vs})
	return nil
}

func (s *Server) restoreProject(w http.ResponseWriter, r *http.Request) error {
	var req scaleouttype.RestoreRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Version < 1 {
		return badRequest("version: give the number of the version to restore (1 or more)")
	}
	v, err := s.catalog.Restore(r.Context(), r.PathValue("folder"), r.PathValue("project"), req.Version, caller(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) setReferences(w http.ResponseWriter, r *http.Request) error {
	var req scaleouttype.ReferencesRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	folder, project := r.PathValue("folder"), r.PathValue("project")
	if err := s.catalog.SetReferences(r.Context(), folder, project, req.References); err != nil {
		return err
	}
	return s.describeProject(w, r)
}

func (s *Server) setBindings(w http.ResponseWriter, r *http.Request) error {
	var req scaleouttype.BindingsRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	folder, project := r.PathValue("folder"), r.PathValue("project")
	changes, err := s.catalog.SetBindings(r.Context(), folder, project, req.Bindings)
	if err != nil {
		return err
	}
	return s.bindingsResponse(w, r, changes)
}

func (s *Server) patchBindings(w http.ResponseWriter, r *http.Request) error {
	var req scaleouttype.BindingsPatch
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if len(req.Bindings) == 0 {
		return badRequest(`bindings: give the parameters to bind, {"parameter": "variable"}, or to unbind, {"parameter": null}`)
	}
	folder, project := r.PathValue("folder"), r.PathValue("project")
	changes, err := s.catalog.PatchBindings(r.Context(), folder, project, req.Bindings)
	if err != nil {
		return err
	}
	return s.bindingsResponse(w, r, changes)
}

func (s *Server) bindingsResponse(w http.ResponseWriter, r *http.Request, changes catalog.BindingChanges) error {
	p, err := s.catalog.DescribeProject(r.Context(), r.PathValue("folder"), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, scaleouttype.BindingsResponse{Project: p, Changes: changes})
	return nil
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	es, err := s.catalog.Environments(r.Context(), r.PathValue("folder"))
	if err != nil {
		return err
	}
	if es == nil {
		es = []catalog.Environment{}
	}
	writeJSON(w, http.StatusOK, scaleouttype.EnvironmentList{Environments: es})
	return nil
}

func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request) error {
	var req scaleouttype.CreateEnvironmentRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	e, err := s.catalog.CreateEnvironment(r.Context(), r.PathValue("folder"), req.Name, req.EnvironmentInput)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/folders/"+e.Folder+"/environments/"+e.Name)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.catalog.GetEnvironment(r.Context(), r.PathValue("folder"), r.PathValue("environment"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) updateEnvironment(w http.ResponseWriter, r *http.Request) error {
	var in catalog.EnvironmentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err := s.catalog.UpdateEnvironment(r.Context(), r.PathValue("folder"), r.PathValue("environment"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) deleteEnvironment(w http.ResponseWriter, r *http.Request) error {
	if err := s.catalog.DeleteEnvironment(r.Context(), r.PathValue("folder"), r.PathValue("environment")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
