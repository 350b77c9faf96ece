package catalog

import (
	"context"
	"time"
)

// Storage is the catalog's persistence port: what a Catalog reads and
// writes, in the catalog's own terms. The Catalog holds every rule
// (validation, bundles, sealing, bindings, resolution, suggestions); a
// Storage only keeps records, and makes each write conditional on what the
// Catalog read, so that a change that can race is atomic.
//
// Errors a Storage returns, matched with errors.Is:
//   - scaleouttype.ErrNotFound: what the method names is missing (a bare
//     sentinel is enough: the Catalog says which, with suggestions);
//   - ErrExists: a create found its item there already;
//   - ErrNotEmpty: a folder delete found projects or environments in it;
//   - ErrConflict: a write's condition on what was read no longer holds
//     (a concurrent change won); the Catalog reads again and retries.
//
// Records are values: a Storage keeps no reference to what it is given and
// gives out none to what it keeps. The DynamoDB adapter is made by New
// from Config.DB and Config.Table; package catalogmem holds an in-memory
// one; package catalogtest is the suite both pass.
type Storage interface {
	// CreateFolder creates a folder with no projects or environments;
	// ErrExists if the name is taken.
	CreateFolder(ctx context.Context, f Folder) error
	// GetFolder reads a folder, its counts included; ErrNotFound.
	GetFolder(ctx context.Context, name string) (Folder, error)
	// ListFolders returns at most limit folders in name order, after the
	// one named after ("" for the first), and whether more may follow.
	ListFolders(ctx context.Context, after string, limit int) (folders []Folder, more bool, err error)
	// DeleteFolder deletes a folder conditional on it holding no project
	// and no environment: ErrNotFound, ErrNotEmpty.
	DeleteFolder(ctx context.Context, name string) error
	// Names lists the names of one kind of item: every folder (folder is
	// then ignored), or a folder's projects or environments.
	Names(ctx context.Context, kind Kind, folder string) ([]string, error)

	// GetProject reads a project; ErrNotFound.
	GetProject(ctx context.Context, folder, name string) (ProjectRecord, error)
	// Projects lists a folder's projects in name order.
	Projects(ctx context.Context, folder string) ([]ProjectRecord, error)
	// AddVersion stores v as project p's latest version, p as it is to be
	// with it (p.Latest == v.Version). A new project (v.Version 1) is
	// created with its folder's project count raised, conditional on the
	// folder existing (ErrNotFound) and the project not (ErrConflict).
	// Otherwise p's Latest, DeployedAt and DeployedBy are written,
	// conditional on its stored UID being p.UID and its Latest v.Version-1
	// (ErrConflict).
	AddVersion(ctx context.Context, p ProjectRecord, v VersionRecord) error
	// GetVersion reads version n of a project (by p's folder, name and
	// UID), bundle included; ErrNotFound.
	GetVersion(ctx context.Context, p ProjectRecord, n int) (VersionRecord, error)
	// Versions lists the stored versions of a project, oldest first,
	// without their bundles.
	Versions(ctx context.Context, p ProjectRecord) ([]VersionRecord, error)
	// DeleteVersions deletes a project's versions numbered below n.
	DeleteVersions(ctx context.Context, p ProjectRecord, below int) error
	// SetConfig writes a project's references and bindings and raises its
	// ConfigRev, conditional on its stored UID, Latest and ConfigRev being
	// read's (ErrConflict, also when it is gone).
	SetConfig(ctx context.Context, read ProjectRecord, refs []EnvRef, bindings map[string]string) error
	// DeleteProject deletes a project and its versions and lowers its
	// folder's project count, conditional on its stored UID and Latest
	// being p's (ErrConflict, also when it is gone).
	DeleteProject(ctx context.Context, p ProjectRecord) error

	// CreateEnvironment creates an environment and raises its folder's
	// environment count, conditional on the folder existing (ErrNotFound)
	// and the environment not (ErrExists).
	CreateEnvironment(ctx context.Context, e EnvironmentRecord) error
	// GetEnvironment reads an environment; ErrNotFound.
	GetEnvironment(ctx context.Context, folder, name string) (EnvironmentRecord, error)
	// Environments lists a folder's environments in name order.
	Environments(ctx context.Context, folder string) ([]EnvironmentRecord, error)
	// UpdateEnvironment replaces an environment, conditional on its stored
	// revision being e.Revision-1 (ErrConflict, also when it is gone).
	UpdateEnvironment(ctx context.Context, e EnvironmentRecord) error
	// DeleteEnvironment deletes an environment and lowers its folder's
	// environment count; ErrNotFound.
	DeleteEnvironment(ctx context.Context, folder, name string) error
}

// Kind is a kind of item Storage.Names lists.
type Kind string

// The kinds of items with names.
const (
	KindFolder      Kind = "folder"
	KindProject     Kind = "project"
	KindEnvironment Kind = "environment"
)

// ProjectRecord is a project as stored: what its latest version is, and
// its configuration, which versions do not hold.
type ProjectRecord struct {
	Folder string
	Name   string
	// UID names this incarnation of the project: one deleted and deployed
	// again gets another, so nothing late about the old one touches it.
	UID        string
	Latest     int
	CreatedAt  time.Time
	DeployedAt time.Time
	DeployedBy string
	References []EnvRef
	Bindings   map[string]string
	// ConfigRev counts changes of References and Bindings.
	ConfigRev int
}

func (p ProjectRecord) summary() ProjectSummary {
	return ProjectSummary{Folder: p.Folder, Name: p.Name, Version: p.Latest, CreatedAt: p.CreatedAt,
		DeployedAt: p.DeployedAt, DeployedBy: p.DeployedBy}
}

// VersionRecord is one deployed version of a project.
type VersionRecord struct {
	Version      int
	DeployedAt   time.Time
	DeployedBy   string
	RestoredFrom int
	Packages     []string
	// Size is len(Bundle).
	Size int
	// Bundle is the bundle as gzip-compressed JSON; Storage.Versions
	// leaves it out.
	Bundle []byte
}

func (v VersionRecord) info() Version {
	return Version{Version: v.Version, DeployedAt: v.DeployedAt, DeployedBy: v.DeployedBy,
		RestoredFrom: v.RestoredFrom, Packages: v.Packages, Size: v.Size}
}

// EnvironmentRecord is an environment as stored, sensitive values sealed.
type EnvironmentRecord struct {
	Folder      string
	Name        string
	Description string
	Variables   map[string]StoredVariable
	Revision    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// StoredVariable is a variable as stored: Value holds a plain value as
// JSON, Sealed a sensitive one, sealed (secrets.Sealer) from its JSON.
type StoredVariable struct {
	Type        string
	Value       string
	Sealed      string
	Sensitive   bool
	Description string
}
