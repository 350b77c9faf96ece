package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Folder holds projects and environments.
type Folder = scaleouttype.Folder

// FolderPage is one page of a folder listing.
type FolderPage = scaleouttype.FolderPage

// MaxDescription caps descriptions.
const MaxDescription = 4096

func (ps *problems) description(d string) {
	if len(d) > MaxDescription {
		ps.add("", "description", "%d bytes, at most %d", len(d), MaxDescription)
	}
}

// CreateFolder creates an empty folder; ErrExists if the name is taken.
func (s *Catalog) CreateFolder(ctx context.Context, name, description string) (Folder, error) {
	var ps problems
	ps.name("folder", name)
	ps.description(description)
	if err := ps.err(); err != nil {
		return Folder{}, err
	}
	f := Folder{Name: name, Description: description, CreatedAt: s.clock()}
	if err := s.st.CreateFolder(ctx, f); err != nil {
		return Folder{}, err
	}
	return f, nil
}

// GetFolder reads one folder.
func (s *Catalog) GetFolder(ctx context.Context, name string) (Folder, error) {
	if err := checkNames("folder", name); err != nil {
		return Folder{}, err
	}
	f, err := s.st.GetFolder(ctx, name)
	if err != nil {
		return Folder{}, s.missing(ctx, err, KindFolder, name, "")
	}
	return f, nil
}

// ListFolders returns folders in name order, limit at a time (default and
// most 1000), after the position cursor holds ("" for the first page).
func (s *Catalog) ListFolders(ctx context.Context, cursor string, limit int) (FolderPage, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return FolderPage{}, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	folders, more, err := s.st.ListFolders(ctx, after, limit)
	if err != nil {
		return FolderPage{}, err
	}
	page := FolderPage{Folders: folders}
	if page.Folders == nil {
		page.Folders = []Folder{}
	}
	if more && len(folders) > 0 {
		page.Next = encodeCursor(folders[len(folders)-1].Name)
	}
	return page, nil
}

// DeleteFolder deletes an empty folder. While it holds projects or
// environments it answers a *NotEmptyError naming them. The delete is
// conditional on the folder's counts, which every child create and delete
// changes atomically with the child, so a child created concurrently
// either makes the delete fail or fails itself.
func (s *Catalog) DeleteFolder(ctx context.Context, name string) error {
	if err := checkNames("folder", name); err != nil {
		return err
	}
	err := s.st.DeleteFolder(ctx, name)
	if errors.Is(err, ErrNotEmpty) {
		return s.notEmpty(ctx, name)
	}
	return s.missing(ctx, err, KindFolder, name, "")
}

// notEmpty names (some of) what a folder holds.
func (s *Catalog) notEmpty(ctx context.Context, folder string) error {
	e := &NotEmptyError{Folder: folder}
	for _, kind := range []struct {
		kind Kind
		into *[]string
	}{{KindProject, &e.Projects}, {KindEnvironment, &e.Environments}} {
		names, err := s.st.Names(ctx, kind.kind, folder)
		if err != nil {
			return fmt.Errorf("%w (listing it: %v)", e, err)
		}
		for _, n := range names {
			*kind.into = appendCapped(*kind.into, n)
		}
	}
	return e
}

func appendCapped(l []string, s string) []string {
	const most = 20
	switch {
	case len(l) < most:
		return append(l, s)
	case len(l) == most:
		return append(l, "...")
	}
	return l
}
