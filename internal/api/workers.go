package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Workers is the Scale Out Manager's view of the workers.
type Workers interface {
	List(ctx context.Context) ([]registrytype.Worker, error)
	Get(ctx context.Context, id string) (registrytype.Worker, error)
	SetEnabled(ctx context.Context, id string, enabled bool) (registrytype.Worker, error)
	Update(ctx context.Context, id string, c registrytype.Changes) (registrytype.Worker, error)
	Remove(ctx context.Context, id string) error
}

func (s *Server) listWorkers(w http.ResponseWriter, r *http.Request) error {
	list, err := s.workers.List(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []registrytype.Worker{}
	}
	writeJSON(w, http.StatusOK, scaleouttype.WorkerList{Workers: list})
	return nil
}

func (s *Server) getWorker(w http.ResponseWriter, r *http.Request) error {
	wk, err := s.workers.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wk)
	return nil
}

func (s *Server) enableWorker(w http.ResponseWriter, r *http.Request) error {
	return s.setWorkerEnabled(w, r, true)
}

func (s *Server) disableWorker(w http.ResponseWriter, r *http.Request) error {
	return s.setWorkerEnabled(w, r, false)
}

func (s *Server) setWorkerEnabled(w http.ResponseWriter, r *http.Request, enabled bool) error {
	wk, err := s.workers.SetEnabled(r.Context(), r.PathValue("id"), enabled)
	if err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	s.log.InfoContext(r.Context(), "worker enabled changed", "worker_id", wk.ID, "enabled", enabled, "by", p.Name)
	writeJSON(w, http.StatusOK, wk)
	return nil
}

func (s *Server) updateWorker(w http.ResponseWriter, r *http.Request) error {
	var req scaleouttype.UpdateWorkerRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.DisplayName == nil && req.Description == nil && req.Tags == nil {
		return badRequest("give at least one of display_name, description or tags")
	}
	wk, err := s.workers.Update(r.Context(), r.PathValue("id"),
		registrytype.Changes{DisplayName: req.DisplayName, Description: req.Description, Tags: req.Tags})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wk)
	return nil
}

func (s *Server) removeWorker(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.workers.Remove(r.Context(), id); err != nil {
		return err
	}
	p, _ := auth.FromContext(r.Context())
	s.log.InfoContext(r.Context(), "worker removed", "worker_id", id, "by", p.Name)
	writeJSON(w, http.StatusOK, map[string]string{"removed": id, "note": fmt.Sprintf(
		"worker %s was offline and is forgotten; a worker process started again with this id registers again", id)})
	return nil
}
