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
// the project's parameters (project.yaml, or .yml or .json).
const ProjectFile = "project.yaml"

// ReadBundle builds the bundle to deploy from a project folder:
//
//   - every *.yaml, *.yml and *.json file at its top is a package, named by
//     its `name:` or else by the file's name without the extension;
//   - project.yaml (or project.yml, project.json), if there is one, holds
//     the project's parameters as `parameters: {name: {type: ...}}`;
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
			params, err := projectParameters(data)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
			b.Parameters = params
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

// projectParameters reads project.yaml: `parameters:` and nothing else.
func projectParameters(data []byte) (map[string]scaleouttype.Parameter, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	for k := range doc {
		if k != "parameters" {
			return nil, fmt.Errorf("unknown field %q: the project file holds `parameters:` only", k)
		}
	}
	raw, err := json.Marshal(doc["parameters"])
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var params map[string]scaleouttype.Parameter
	if err := dec.Decode(&params); err != nil {
		return nil, fmt.Errorf("parameters: write `name: {type: string|int|float|bool|datetime|list, required, default, sensitive, description}`: %w", err)
	}
	return params, nil
}
