package catalogmem

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Storage is an in-memory catalog.Storage, safe for concurrent use.
type Storage struct {
	mu      sync.Mutex
	folders map[string]*folder
}

var _ catalog.Storage = (*Storage)(nil)

// folder is a folder with what it holds; its counts are those of its maps.
type folder struct {
	rec          catalog.Folder
	projects     map[string]*project
	environments map[string]catalog.EnvironmentRecord
}

type project struct {
	rec      catalog.ProjectRecord
	versions map[int]catalog.VersionRecord
}

// New returns an empty Storage.
func New() *Storage {
	return &Storage{folders: map[string]*folder{}}
}

func notFound(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, scaleouttype.ErrNotFound)...)
}

func conflict(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, catalog.ErrConflict)...)
}

func (f *folder) public() catalog.Folder {
	out := f.rec
	out.Projects, out.Environments = len(f.projects), len(f.environments)
	return out
}

func (s *Storage) CreateFolder(_ context.Context, f catalog.Folder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.folders[f.Name]; ok {
		return fmt.Errorf("folder %q: %w", f.Name, catalog.ErrExists)
	}
	f.Projects, f.Environments = 0, 0
	s.folders[f.Name] = &folder{rec: f, projects: map[string]*project{}, environments: map[string]catalog.EnvironmentRecord{}}
	return nil
}

func (s *Storage) GetFolder(_ context.Context, name string) (catalog.Folder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.folders[name]
	if !ok {
		return catalog.Folder{}, notFound("folder %q", name)
	}
	return f.public(), nil
}

func (s *Storage) ListFolders(_ context.Context, after string, limit int) ([]catalog.Folder, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []catalog.Folder
	for _, name := range slices.Sorted(maps.Keys(s.folders)) {
		if name <= after {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, s.folders[name].public())
	}
	return out, false, nil
}

func (s *Storage) DeleteFolder(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.folders[name]
	switch {
	case !ok:
		return notFound("folder %q", name)
	case len(f.projects) > 0 || len(f.environments) > 0:
		return fmt.Errorf("folder %q: %w", name, catalog.ErrNotEmpty)
	}
	delete(s.folders, name)
	return nil
}

func (s *Storage) Names(_ context.Context, kind catalog.Kind, name string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == catalog.KindFolder {
		return slices.Sorted(maps.Keys(s.folders)), nil
	}
	f, ok := s.folders[name]
	switch {
	case kind != catalog.KindProject && kind != catalog.KindEnvironment:
		return nil, fmt.Errorf("list names: unknown kind %q", kind)
	case !ok:
		return []string{}, nil
	case kind == catalog.KindProject:
		return slices.Sorted(maps.Keys(f.projects)), nil
	}
	return slices.Sorted(maps.Keys(f.environments)), nil
}

// project finds a project, with its UID when uid is not "".
func (s *Storage) project(folderName, name, uid string) (*folder, *project, bool) {
	f, ok := s.folders[folderName]
	if !ok {
		return nil, nil, false
	}
	p, ok := f.projects[name]
	if !ok || uid != "" && p.rec.UID != uid {
		return f, nil, false
	}
	return f, p, true
}

func (s *Storage) GetProject(_ context.Context, folderName, name string) (catalog.ProjectRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p, ok := s.project(folderName, name, "")
	if !ok {
		return catalog.ProjectRecord{}, notFound("project %s/%s", folderName, name)
	}
	return cloneProject(p.rec), nil
}

func (s *Storage) Projects(_ context.Context, folderName string) ([]catalog.ProjectRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []catalog.ProjectRecord{}
	if f, ok := s.folders[folderName]; ok {
		for _, name := range slices.Sorted(maps.Keys(f.projects)) {
			out = append(out, cloneProject(f.projects[name].rec))
		}
	}
	return out, nil
}

func (s *Storage) AddVersion(_ context.Context, p catalog.ProjectRecord, v catalog.VersionRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	what := p.Folder + "/" + p.Name
	f, cur, ok := s.project(p.Folder, p.Name, "")
	switch {
	case f == nil:
		return notFound("folder %q", p.Folder)
	case v.Version == 1 && ok:
		return conflict("deploy %s: created meanwhile", what)
	case v.Version == 1:
		cur = &project{rec: cloneProject(p), versions: map[int]catalog.VersionRecord{}}
		f.projects[p.Name] = cur
	case !ok || cur.rec.UID != p.UID || cur.rec.Latest != v.Version-1:
		return conflict("deploy %s: deleted or deployed meanwhile", what)
	default:
		cur.rec.Latest, cur.rec.DeployedAt, cur.rec.DeployedBy = v.Version, p.DeployedAt, p.DeployedBy
	}
	cur.versions[v.Version] = cloneVersion(v)
	return nil
}

func (s *Storage) GetVersion(_ context.Context, p catalog.ProjectRecord, n int) (catalog.VersionRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cur, ok := s.project(p.Folder, p.Name, p.UID)
	if ok {
		if v, ok := cur.versions[n]; ok {
			return cloneVersion(v), nil
		}
	}
	return catalog.VersionRecord{}, notFound("%s/%s version %d", p.Folder, p.Name, n)
}

func (s *Storage) Versions(_ context.Context, p catalog.ProjectRecord) ([]catalog.VersionRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []catalog.VersionRecord{}
	if _, cur, ok := s.project(p.Folder, p.Name, p.UID); ok {
		for _, n := range slices.Sorted(maps.Keys(cur.versions)) {
			v := cloneVersion(cur.versions[n])
			v.Bundle = nil
			out = append(out, v)
		}
	}
	return out, nil
}

func (s *Storage) DeleteVersions(_ context.Context, p catalog.ProjectRecord, below int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, cur, ok := s.project(p.Folder, p.Name, p.UID); ok {
		maps.DeleteFunc(cur.versions, func(n int, _ catalog.VersionRecord) bool { return n < below })
	}
	return nil
}

func (s *Storage) SetConfig(_ context.Context, read catalog.ProjectRecord, refs []catalog.EnvRef, bindings map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cur, ok := s.project(read.Folder, read.Name, read.UID)
	if !ok || cur.rec.Latest != read.Latest || cur.rec.ConfigRev != read.ConfigRev {
		return conflict("configure project %s/%s: deleted, deployed or configured meanwhile", read.Folder, read.Name)
	}
	cur.rec.References, cur.rec.Bindings = slices.Clone(refs), maps.Clone(bindings)
	cur.rec.ConfigRev++
	return nil
}

func (s *Storage) DeleteProject(_ context.Context, p catalog.ProjectRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, cur, ok := s.project(p.Folder, p.Name, p.UID)
	if !ok || cur.rec.Latest != p.Latest {
		return conflict("delete project %s/%s: deleted or deployed meanwhile", p.Folder, p.Name)
	}
	delete(f.projects, p.Name)
	return nil
}

func (s *Storage) CreateEnvironment(_ context.Context, e catalog.EnvironmentRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.folders[e.Folder]
	if !ok {
		return notFound("folder %q", e.Folder)
	}
	if _, ok := f.environments[e.Name]; ok {
		return fmt.Errorf("environment %s/%s: %w", e.Folder, e.Name, catalog.ErrExists)
	}
	f.environments[e.Name] = cloneEnvironment(e)
	return nil
}

func (s *Storage) GetEnvironment(_ context.Context, folderName, name string) (catalog.EnvironmentRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.folders[folderName]; ok {
		if e, ok := f.environments[name]; ok {
			return cloneEnvironment(e), nil
		}
	}
	return catalog.EnvironmentRecord{}, notFound("environment %s/%s", folderName, name)
}

func (s *Storage) Environments(_ context.Context, folderName string) ([]catalog.EnvironmentRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []catalog.EnvironmentRecord{}
	if f, ok := s.folders[folderName]; ok {
		for _, name := range slices.Sorted(maps.Keys(f.environments)) {
			out = append(out, cloneEnvironment(f.environments[name]))
		}
	}
	return out, nil
}

func (s *Storage) UpdateEnvironment(_ context.Context, e catalog.EnvironmentRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.folders[e.Folder]
	var cur catalog.EnvironmentRecord
	if ok {
		cur, ok = f.environments[e.Name]
	}
	if !ok || cur.Revision != e.Revision-1 {
		return conflict("update environment %s/%s: deleted or updated meanwhile", e.Folder, e.Name)
	}
	f.environments[e.Name] = cloneEnvironment(e)
	return nil
}

func (s *Storage) DeleteEnvironment(_ context.Context, folderName, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.folders[folderName]
	if ok {
		_, ok = f.environments[name]
	}
	if !ok {
		return notFound("environment %s/%s", folderName, name)
	}
	delete(f.environments, name)
	return nil
}

func cloneProject(p catalog.ProjectRecord) catalog.ProjectRecord {
	p.References, p.Bindings = slices.Clone(p.References), maps.Clone(p.Bindings)
	return p
}

func cloneVersion(v catalog.VersionRecord) catalog.VersionRecord {
	v.Packages, v.Bundle = slices.Clone(v.Packages), slices.Clone(v.Bundle)
	return v
}

func cloneEnvironment(e catalog.EnvironmentRecord) catalog.EnvironmentRecord {
	e.Variables = maps.Clone(e.Variables)
	return e
}
