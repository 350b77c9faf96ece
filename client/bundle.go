package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/scaleout/scaleout/scaleouttype"
)

// ProjectFile names the optional file of a project folder that declares
// the project's parameters and connections (project.yaml, or .yml or
// .json).
const ProjectFile = "project.yaml"

// ReadBundle builds the bundle to deploy from a project folder:
//
//   - every *.yaml, *.yml and *.json file at its top is a package, named by
//     its `name:` or else by the file's name without the extension;
//   - project.yaml (or project.yml, project.json), if there is one, holds
//     the project's parameters as `parameters: {name: {type: ...}}` and
//     its connections, which every package has as its own, as
//     `connections: {name: {kind: postgres, host: ...}}`;
//   - every other file, in subfolders too, goes with the packages as a
//     file of the project ("sql/load.sql"); names starting with "." are
//     left out.
//
// The server validates the packages and lists every problem; ReadBundle
// only reports what keeps it from building the bundle.
func ReadBundle(fsys fs.FS) (scaleouttype.Bundle, error) {
	b := scaleouttype.Bundle{Packages: map[string]string{}}
	from := map[string]string{} // package name → file
	var errs []error
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ext := path.Ext(p)
		top := !strings.Contains(p, "/")
		switch {
		case top && slices.Contains([]string{"project.yaml", "project.yml", "project.json"}, p):
			pf, err := readProjectFile(data)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
			b.Parameters, b.Connections = pf.Parameters, pf.Connections
		case top && (ext == ".yaml" || ext == ".yml" || ext == ".json"):
			name := packageName(data, strings.TrimSuffix(p, ext))
			if other, dup := from[name]; dup {
				errs = append(errs, fmt.Errorf("%s and %s both hold package %q: give each package its own name", other, p, name))
				return nil
			}
			from[name] = p
			b.Packages[name] = string(data)
		default:
			if b.Files == nil {
				b.Files = map[string]string{}
			}
			b.Files[p] = string(data)
		}
		return nil
	})
	if err != nil {
		return b, err
	}
	if len(b.Packages) == 0 {
		errs = append(errs, errors.New("no package files (*.yaml, *.yml or *.json at the folder's top)"))
	}
	return b, errors.Join(errs...)
}

// packageName is the name a package file gives itself, else def.
func packageName(data []byte, def string) string {
	var head struct {
		Name string `yaml:"name"`
	}
	if yaml.Unmarshal(data, &head) == nil && strings.TrimSpace(head.Name) != "" {
		return head.Name
	}
	return def
}

// projectFile is what project.yaml declares.
type projectFile struct {
	Parameters  map[string]scaleouttype.Parameter  `json:"parameters"`
	Connections map[string]scaleouttype.Connection `json:"connections"`
}

// readProjectFile reads project.yaml: `parameters:` and `connections:`,
// nothing else. The server validates what they hold.
func readProjectFile(data []byte) (projectFile, error) {
	var pf projectFile
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return pf, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	for k := range doc {
		if k != "parameters" && k != "connections" {
			return pf, fmt.Errorf("unknown field %q: the project file holds `parameters:` and `connections:` only", k)
		}
	}
	var errs []error
	if v, ok := doc["parameters"]; ok {
		if err := decodeStrict(v, &pf.Parameters); err != nil {
			errs = append(errs, fmt.Errorf("parameters: write `name: {type: string|int|float|bool|datetime|list, required, default, sensitive, description}`: %w", err))
		}
	}
	if v, ok := doc["connections"]; ok {
		if err := decodeStrict(v, &pf.Connections); err != nil {
			errs = append(errs, fmt.Errorf("connections: write `name: {kind: postgres|mysql|sqlserver|s3, host, port, database, user, password, options, bucket, region, endpoint, path_style}`: %w", err))
		}
	}
	return pf, errors.Join(errs...)
}

// decodeStrict decodes a YAML value into out through JSON, refusing
// unknown fields.
func decodeStrict(v any, out any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}
