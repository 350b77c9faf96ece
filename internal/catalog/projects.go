package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/scaleouttype"
)

// EnvRef is a project's reference to an environment, in its own folder
type EnvRef = scaleouttype.EnvRef

// in returns the reference with its folder filled in.
func refIn(r EnvRef, folder string) EnvRef {
	if r.Folder == "" {
		r.Folder = folder
	}
	return r
}

// Version describes one deployed version of a project.
type Version = scaleouttype.Version

// ProjectSummary is one project of a folder listing.
type ProjectSummary = scaleouttype.ProjectSummary

// PackageInfo describes a deployed package.
type PackageInfo = scaleouttype.PackageInfo

// Project describes a project's latest version and its configuration.
type Project = scaleouttype.Project

// project reads a project; a missing project is a *NotFoundError naming
// the folder when the folder is missing too.
func (s *Catalog) project(ctx context.Context, folder, name string) (ProjectRecord, error) {
	if err := checkNames("folder", folder, "project", name); err != nil {
		return ProjectRecord{}, err
	}
	p, err := s.st.GetProject(ctx, folder, name)
	if err != nil {
		return ProjectRecord{}, s.missing(ctx, err, KindProject, folder, name)
	}
	return p, nil
}

// version reads version n of a project (0: the latest); only the last
// Keep exist, whatever the Storage still holds.
func (s *Catalog) version(ctx context.Context, p ProjectRecord, n int) (VersionRecord, error) {
	if n == 0 {
		n = p.Latest
	}
	what := fmt.Sprintf("%s/%s version %d", p.Folder, p.Name, n)
	if !s.kept(p, n) {
		return VersionRecord{}, notFound("version", what)
	}
	v, err := s.st.GetVersion(ctx, p, n)
	if errors.Is(err, scaleouttype.ErrNotFound) {
		return VersionRecord{}, notFound("version", what)
	}
	return v, err
}

// kept reports whether version n of p is one of its last Keep.
func (s *Catalog) kept(p ProjectRecord, n int) bool {
	return n >= 1 && n <= p.Latest && n > p.Latest-s.keep
}

// bundle reads and decodes version n of a project (0: the latest).
func (s *Catalog) bundle(ctx context.Context, p ProjectRecord, n int) (Bundle, VersionRecord, error) {
	v, err := s.version(ctx, p, n)
	if err != nil {
		return Bundle{}, VersionRecord{}, err
	}
	b, err := decodeBundle(v.Bundle)
	if err != nil {
		return Bundle{}, VersionRecord{}, fmt.Errorf("project %s/%s version %d: %w", p.Folder, p.Name, v.Version, err)
	}
	return b, v, nil
}

// Deploy validates a bundle and stores it as the project's next version,
// creating the project (version 1) if it is new. Every problem is listed
// in a *ValidationError. Concurrent deploys of one project each get their
// own version: the write of version N+1 is conditional on N being the
// latest, and the loser reads again and retries. Only the last Keep
// versions are kept. by names who deployed (for the record).
func (s *Catalog) Deploy(ctx context.Context, folder, project string, b Bundle, by string) (Version, error) {
	var ps problems
	ps.name("folder", folder)
	ps.name("project", project)
	bps, names := checkBundle(b, s.types)
	ps = append(ps, bps...)
	if err := ps.err(); err != nil {
		return Version{}, err
	}
	data, err := encodeBundle(b)
	if err != nil {
		return Version{}, err
	}
	return s.store(ctx, folder, project, names, data, by, 0)
}

// store writes a checked, encoded bundle as the next version.
func (s *Catalog) store(ctx context.Context, folder, project string, packages []string, data []byte, by string, restoredFrom int) (Version, error) {
	what := folder + "/" + project
	for attempt := range changeAttempts {
		if err := retry(ctx, attempt); err != nil {
			return Version{}, err
		}
		now := s.clock()
		p, err := s.st.GetProject(ctx, folder, project)
		switch {
		case errors.Is(err, scaleouttype.ErrNotFound):
			p = ProjectRecord{Folder: folder, Name: project, UID: uuid.NewString(), CreatedAt: now}
		case err != nil:
			return Version{}, fmt.Errorf("deploy %s: %w", what, err)
		}
		p.Latest++
		p.DeployedAt, p.DeployedBy = now, by
		v := VersionRecord{Version: p.Latest, DeployedAt: now, DeployedBy: by, RestoredFrom: restoredFrom,
			Packages: packages, Size: len(data), Bundle: data}
		err = s.st.AddVersion(ctx, p, v)
		switch {
		case errors.Is(err, ErrConflict):
			continue
		case errors.Is(err, scaleouttype.ErrNotFound):
			return Version{}, s.folderNotFound(ctx, folder)
		case err != nil:
			return Version{}, err
		}
		s.prune(ctx, p)
		return v.info(), nil
	}
	return Version{}, fmt.Errorf("deploy %s: %d attempts lost to concurrent deploys: %w", what, changeAttempts, ErrConflict)
}

// prune deletes the versions older than the last Keep. A failure is
// logged: the next deploy prunes them, and reads never show them.
func (s *Catalog) prune(ctx context.Context, p ProjectRecord) {
	oldest := p.Latest - s.keep + 1
	if oldest <= 1 {
		return
	}
	if err := s.st.DeleteVersions(ctx, p, oldest); err != nil {
		s.log.WarnContext(ctx, "old project versions not deleted yet", "folder", p.Folder, "project", p.Name, "error", err)
	}
}

// Restore makes a new version whose content is that of an earlier one, as
// SSIS does: restoring version 1 of a project at version 2 gives version 3.
func (s *Catalog) Restore(ctx context.Context, folder, project string, version int, by string) (Version, error) {
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return Version{}, err
	}
	if version < 1 {
		return Version{}, invalid("version", "%d: give a version number (1 or more)", version)
	}
	old, err := s.version(ctx, p, version)
	if err != nil {
		return Version{}, err
	}
	return s.store(ctx, folder, project, old.Packages, old.Bundle, by, version)
}

// Projects lists the projects of a folder, by name.
func (s *Catalog) Projects(ctx context.Context, folder string) ([]ProjectSummary, error) {
	if _, err := s.GetFolder(ctx, folder); err != nil {
		return nil, err
	}
	ps, err := s.st.Projects(ctx, folder)
	if err != nil {
		return nil, err
	}
	out := make([]ProjectSummary, len(ps))
	for i, p := range ps {
		out[i] = p.summary()
	}
	return out, nil
}

// DescribeProject describes the project's latest version and its
// configuration.
func (s *Catalog) DescribeProject(ctx context.Context, folder, project string) (Project, error) {
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return Project{}, err
	}
	b, v, err := s.bundle(ctx, p, 0)
	if err != nil {
		return Project{}, err
	}
	out := Project{ProjectSummary: p.summary(), RestoredFrom: v.RestoredFrom, Parameters: b.Parameters, Connections: b.Connections,
		Files: slices.Sorted(maps.Keys(b.Files)), References: p.References, Bindings: p.Bindings}
	if out.References == nil {
		out.References = []EnvRef{}
	}
	if out.Bindings == nil {
		out.Bindings = map[string]string{}
	}
	for _, name := range slices.Sorted(maps.Keys(b.Packages)) {
		info := PackageInfo{Name: name}
		if pk, err := pkgfile.Parse([]byte(b.Packages[name]), name); err == nil {
			info.Description, info.Parameters = pk.Description, pk.Parameters
		}
		out.Packages = append(out.Packages, info)
	}
	return out, nil
}

// Versions lists the kept versions of a project, newest first.
func (s *Catalog) Versions(ctx context.Context, folder, project string) ([]Version, error) {
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return nil, err
	}
	vs, err := s.st.Versions(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(vs))
	for _, v := range slices.Backward(vs) {
		if s.kept(p, v.Version) {
			out = append(out, v.info())
		}
	}
	return out, nil
}

// ProjectBundle returns what a version holds (0: the latest).
func (s *Catalog) ProjectBundle(ctx context.Context, folder, project string, version int) (Bundle, Version, error) {
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return Bundle{}, Version{}, err
	}
	b, v, err := s.bundle(ctx, p, version)
	if err != nil {
		return Bundle{}, Version{}, err
	}
	return b, v.info(), nil
}

// DeleteProject deletes a project and all its versions, and lowers its
// folder's count, conditional on the project read: a deploy racing with
// it either lands before (and its version is deleted too) or after (and
// creates the project anew).
func (s *Catalog) DeleteProject(ctx context.Context, folder, project string) error {
	for attempt := range changeAttempts {
		if err := retry(ctx, attempt); err != nil {
			return err
		}
		p, err := s.project(ctx, folder, project)
		if err != nil {
			return err
		}
		err = s.st.DeleteProject(ctx, p)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("delete project %s/%s: %d attempts lost to concurrent changes: %w", folder, project, changeAttempts, ErrConflict)
}

// SetReferences replaces the environments a project may run with. Each
// must exist now (a reference to an environment deleted later fails at
// resolution). References live on the project, not on its versions: a
// redeploy or restore keeps them. The write is conditional on the project
// read (its configuration revision too), so the bindings it keeps are
// those read.
func (s *Catalog) SetReferences(ctx context.Context, folder, project string, refs []EnvRef) error {
	var ps problems
	ps.name("folder", folder)
	ps.name("project", project)
	seen := map[EnvRef]bool{}
	norm := make([]EnvRef, 0, len(refs))
	for i, r := range refs {
		if r.Folder != "" {
			ps.name(fmt.Sprintf("references[%d].folder", i), r.Folder)
		}
		ps.name(fmt.Sprintf("references[%d].environment", i), r.Environment)
		r = refIn(r, folder)
		if !seen[r] {
			seen[r] = true
			norm = append(norm, r)
		}
	}
	if len(norm) > 100 {
		ps.add("", "references", "%d references, at most 100", len(norm))
	}
	if err := ps.err(); err != nil {
		return err
	}
	for attempt := range changeAttempts {
		if err := retry(ctx, attempt); err != nil {
			return err
		}
		p, err := s.project(ctx, folder, project)
		if err != nil {
			return err
		}
		for _, r := range norm {
			if _, err := s.env(ctx, r.Folder, r.Environment); err != nil {
				return err
			}
		}
		err = s.st.SetConfig(ctx, p, norm, p.Bindings)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("set references of project %s/%s: %d attempts lost to concurrent changes: %w", folder, project, changeAttempts, ErrConflict)
}

// Files returns the files a version of a project carries (its bundle's
// Files: relative path to content), for the workers that run its
// packages. The version must be one of the kept ones; a *NotFoundError
// says which part is missing otherwise. An empty map when it carries none.
func (s *Catalog) Files(ctx context.Context, folder, project string, version int) (map[string]string, error) {
	if version < 1 {
		return nil, invalid("version", "%d: give a version number (1 or more)", version)
	}
	p, err := s.project(ctx, folder, project)
	if err != nil {
		return nil, err
	}
	b, _, err := s.bundle(ctx, p, version)
	if err != nil {
		return nil, err
	}
	if b.Files == nil {
		return map[string]string{}, nil
	}
	return b.Files, nil
}
