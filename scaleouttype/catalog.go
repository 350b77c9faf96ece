package scaleouttype

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// ParamType is the type of a parameter or variable.
type ParamType string

// Parameter declares one package parameter.
type Parameter struct {
	Type        ParamType `json:"type"`
	Required    bool      `json:"required,omitempty"`
	Default     any       `json:"default,omitempty"`
	Sensitive   bool      `json:"sensitive,omitempty"`
	Description string    `json:"description,omitempty"`
}

// Connection declares one named connection, of a package or of a project:
// a database (kind postgres, mysql or sqlserver) or an S3 bucket (kind s3).
// Every field is text that may hold ${...} interpolations of parameters and
// system values, resolved when the run starts, so that each can come from
// a parameter (and so from a project environment's variable bound to it).
// The password must: a literal one is refused, and the parameters it names
// must be sensitive.
type Connection struct {
	Kind     string `json:"kind"`
	Host     string `json:"host,omitempty"`
	Port     Scalar `json:"port,omitempty"` // 0 or absent: the kind's default
	Database string `json:"database,omitempty"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Options are the driver's own settings (sslmode, tls, encrypt, ...).
	Options map[string]string `json:"options,omitempty"`

	Bucket    string `json:"bucket,omitempty"`
	Region    string `json:"region,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"` // an S3-compatible service's URL
	PathStyle Scalar `json:"path_style,omitempty"`
}

// Scalar is a field written as text, a number or true/false (port: 5432,
// path_style: true, or "${params.port}"), kept as its text.
type Scalar string

// UnmarshalJSON reads a string, a number or a boolean.
func (s *Scalar) UnmarshalJSON(b []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	switch x := v.(type) {
	case string:
		*s = Scalar(x)
	case json.Number:
		*s = Scalar(x.String())
	case bool:
		*s = Scalar(strconv.FormatBool(x))
	default:
		return fmt.Errorf("want text, a number or true/false")
	}
	return nil
}

// Folder holds projects and environments.
type Folder struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Projects and Environments count what the folder holds.
	Projects     int `json:"projects"`
	Environments int `json:"environments"`
}

// FolderPage is one page of a folder listing.
type FolderPage struct {
	Folders []Folder `json:"folders"`
	// Next is the cursor of the next page; empty on the last one.
	Next string `json:"next,omitempty"`
}

// EnvRef is a project's reference to an environment, in its own folder
// (Folder empty) or in another.
type EnvRef struct {
	Folder      string `json:"folder,omitempty" dynamodbav:"folder"`
	Environment string `json:"environment" dynamodbav:"environment"`
}

// Version describes one deployed version of a project.
type Version struct {
	Version    int       `json:"version"`
	DeployedAt time.Time `json:"deployed_at"`
	DeployedBy string    `json:"deployed_by,omitempty"`
	// RestoredFrom is the version this one restored, if any.
	RestoredFrom int      `json:"restored_from,omitempty"`
	Packages     []string `json:"packages"`
	// Size is the bundle's stored (compressed) size in bytes.
	Size int `json:"size"`
}

// ProjectSummary is one project of a folder listing.
type ProjectSummary struct {
	Folder     string    `json:"folder"`
	Name       string    `json:"name"`
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	DeployedAt time.Time `json:"deployed_at"`
	DeployedBy string    `json:"deployed_by,omitempty"`
}

// PackageInfo describes a deployed package.
type PackageInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Parameters are those the package declares itself.
	Parameters map[string]Parameter `json:"parameters,omitempty"`
}

// Project describes a project's latest version and its configuration.
type Project struct {
	ProjectSummary
	RestoredFrom int                  `json:"restored_from,omitempty"`
	Parameters   map[string]Parameter `json:"parameters,omitempty"`
	// Connections are the project's connections, as deployed: their
	// fields' text, ${...} and all (a password is always a reference to
	// a sensitive parameter, never a value).
	Connections map[string]Connection `json:"connections,omitempty"`
	Packages    []PackageInfo         `json:"packages"`
	Files       []string              `json:"files,omitempty"`
	// References and Bindings are the project's configuration, kept
	// across deploys.
	References []EnvRef          `json:"references"`
	Bindings   map[string]string `json:"bindings"`
}

// Bundle is what a deploy sends: a project's packages, its parameters and
// the small files its packages need.
type Bundle struct {
	// Packages maps a package's name to its file's text (YAML or JSON).
	// The file's own name, if it has one, must be the same.
	Packages map[string]string `json:"packages"`
	// Parameters are the project's parameters. Every package sees them
	// as its own parameters, unless it declares one of the same name,
	// whose declaration then wins for that package.
	Parameters map[string]Parameter `json:"parameters,omitempty"`
	// Connections are the project's connections (SSIS's project
	// connection managers). Every package has them as its own, unless it
	// declares one of the same name, whose declaration then wins for that
	// package. Their fields may read the project's parameters, and a
	// password must come from a sensitive one.
	Connections map[string]Connection `json:"connections,omitempty"`
	// Files maps a relative path ("sql/load.sql") to a small text file's
	// content, at most MaxFilesSize in all. Larger files will go to S3.
	Files map[string]string `json:"files,omitempty"`
}

// Variable is one typed environment variable.
type Variable struct {
	Type ParamType `json:"type"`
	// Value is of the type (as pkgfile.Convert gives it). A sensitive
	// variable's value is never returned: it is nil when read.
	Value       any    `json:"value"`
	Sensitive   bool   `json:"sensitive,omitempty"`
	Description string `json:"description,omitempty"`
}

// EnvironmentInput is what creating or updating an environment sends.
type EnvironmentInput struct {
	Description string              `json:"description,omitempty"`
	Variables   map[string]Variable `json:"variables"`
}

// Environment is a named set of variables in a folder, which projects that
// reference it bind their parameters to.
type Environment struct {
	Folder      string              `json:"folder"`
	Name        string              `json:"name"`
	Description string              `json:"description,omitempty"`
	Variables   map[string]Variable `json:"variables"`
	// Revision counts the environment's changes.
	Revision  int       `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// BindingChanges says what a change of a project's bindings did, each
// binding as parameter name to variable name.
type BindingChanges struct {
	// Added are the parameters that were not bound before.
	Added map[string]string `json:"added"`
	// Changed are the parameters now bound to another variable.
	Changed map[string]BindingChange `json:"changed"`
	// Removed are the bindings that are gone: with SetBindings, every
	// binding the new set leaves out.
	Removed map[string]string `json:"removed"`
	// Unchanged names the parameters bound as before, sorted.
	Unchanged []string `json:"unchanged"`
}

// BindingChange is a parameter bound to another variable.
type BindingChange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// String is "folder/environment".
func (r EnvRef) String() string { return r.Folder + "/" + r.Environment }

// Parameter and variable types.
const (
	TypeString   ParamType = "string"
	TypeInt      ParamType = "int"
	TypeFloat    ParamType = "float"
	TypeBool     ParamType = "bool"
	TypeDateTime ParamType = "datetime" // RFC 3339
	TypeList     ParamType = "list"     // a JSON list
)

// ParamTypes lists every type.
var ParamTypes = []ParamType{TypeString, TypeInt, TypeFloat, TypeBool, TypeDateTime, TypeList}
