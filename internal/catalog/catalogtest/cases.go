package catalogtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/scaleouttype"
)

const hello = `name: hello
parameters:
  who: {type: string, default: world}
  token: {type: string, sensitive: true}
  count: {type: int}
tasks:
  - name: greet
    type: exec
    with: {command: [echo, "hello ${params.who} ${params.region}"]}
`

const other = `{"name": "other", "tasks": [{"name": "t", "type": "sleep", "with": {"duration": "1s"}}]}`

func project(text string) catalog.Bundle {
	return catalog.Bundle{
		Packages:   map[string]string{"hello": text, "other": other},
		Parameters: map[string]pkgfile.Parameter{"region": {Type: pkgfile.String, Default: "eu"}, "who": {Type: pkgfile.Int}},
		Files:      map[string]string{"sql/load.sql": "select 1"},
	}
}

func testFolders(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()

	f, err := s.GetFolder(ctx, folder)
	require.NoError(t, err)
	require.Equal(t, folder, f.Name)
	require.Equal(t, "test folder", f.Description)
	require.False(t, f.CreatedAt.IsZero())

	_, err = s.CreateFolder(ctx, folder, "")
	require.ErrorIs(t, err, catalog.ErrExists)

	for _, bad := range []string{"", "a/b", "a#b", ".hidden", strings.Repeat("x", 129), "sp ace"} {
		_, err = s.CreateFolder(ctx, bad, "")
		require.ErrorIs(t, err, catalog.ErrInvalid, bad)
	}

	_, err = s.GetFolder(ctx, "nope-"+folder)
	var nf *catalog.NotFoundError
	require.ErrorAs(t, err, &nf)
	require.Equal(t, "folder", nf.Kind)
	require.ErrorIs(t, s.DeleteFolder(ctx, "nope-"+folder), scaleouttype.ErrNotFound)

	// Listing pages through every folder, the new ones among them.
	prefix := uniqueName("list")
	for i := range 5 {
		_, err := s.CreateFolder(ctx, fmt.Sprintf("%s-%d", prefix, i), "")
		require.NoError(t, err)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10_000)
		page, err := s.ListFolders(ctx, cursor, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Folders), 2)
		for _, f := range page.Folders {
			if strings.HasPrefix(f.Name, prefix) {
				seen = append(seen, f.Name)
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	require.Equal(t, []string{prefix + "-0", prefix + "-1", prefix + "-2", prefix + "-3", prefix + "-4"}, seen)
	_, err = s.ListFolders(ctx, "garbage!", 2)
	require.ErrorIs(t, err, catalog.ErrInvalid)

	require.NoError(t, s.DeleteFolder(ctx, prefix+"-0"))
	_, err = s.GetFolder(ctx, prefix+"-0")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
}

func testFolderDeleteRefusedWhileNotEmpty(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()
	_, err := s.Deploy(ctx, folder, "etl", project(hello), "ada")
	require.NoError(t, err)
	_, err = s.CreateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{})
	require.NoError(t, err)

	f, err := s.GetFolder(ctx, folder)
	require.NoError(t, err)
	require.Equal(t, 1, f.Projects)
	require.Equal(t, 1, f.Environments)

	err = s.DeleteFolder(ctx, folder)
	require.ErrorIs(t, err, catalog.ErrNotEmpty)
	var ne *catalog.NotEmptyError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, []string{"etl"}, ne.Projects)
	require.Equal(t, []string{"prod"}, ne.Environments)
	require.ErrorContains(t, err, "projects etl and environments prod")

	require.NoError(t, s.DeleteProject(ctx, folder, "etl"))
	require.ErrorIs(t, s.DeleteFolder(ctx, folder), catalog.ErrNotEmpty)
	require.NoError(t, s.DeleteEnvironment(ctx, folder, "prod"))
	require.NoError(t, s.DeleteFolder(ctx, folder))

	// Nothing can be created in a deleted folder.
	_, err = s.Deploy(ctx, folder, "etl", project(hello), "ada")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	_, err = s.CreateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{})
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
}

// A folder delete racing with creates of projects and environments: either
// the folder survives with counts that match what it holds, or it is gone
// and nothing was created in it.
func testFolderDeleteRace(t *testing.T, newCatalog NewCatalog) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			t.Parallel()
			s, folder := setup(t, newCatalog, 0)
			ctx := context.Background()
			var wg sync.WaitGroup
			created := make(chan string, 20)
			for i := range 6 {
				wg.Go(func() {
					name := fmt.Sprintf("p%d", i)
					if _, err := s.Deploy(ctx, folder, name, project(hello), ""); err == nil {
						created <- name
					} else {
						assert.ErrorIs(t, err, scaleouttype.ErrNotFound)
					}
				})
				wg.Go(func() {
					name := fmt.Sprintf("e%d", i)
					if _, err := s.CreateEnvironment(ctx, folder, name, catalog.EnvironmentInput{}); err == nil {
						created <- name
					} else {
						assert.ErrorIs(t, err, scaleouttype.ErrNotFound)
					}
				})
			}
			wg.Go(func() {
				if err := s.DeleteFolder(ctx, folder); err != nil {
					assert.ErrorIs(t, err, catalog.ErrNotEmpty)
				}
			})
			wg.Wait()
			close(created)
			var n int
			for range created {
				n++
			}
			f, err := s.GetFolder(ctx, folder)
			if n == 0 && err != nil {
				require.ErrorIs(t, err, scaleouttype.ErrNotFound)
				// Nothing was left behind in the deleted folder: one of
				// the same name starts empty.
				_, err = s.CreateFolder(ctx, folder, "")
				require.NoError(t, err)
				ps, err := s.Projects(ctx, folder)
				require.NoError(t, err)
				es, err := s.Environments(ctx, folder)
				require.NoError(t, err)
				require.Empty(t, ps)
				require.Empty(t, es)
				return
			}
			require.NoError(t, err, "a folder holding %d items was deleted", n)
			require.Equal(t, n, f.Projects+f.Environments)
			ps, err := s.Projects(ctx, folder)
			require.NoError(t, err)
			es, err := s.Environments(ctx, folder)
			require.NoError(t, err)
			require.Equal(t, n, len(ps)+len(es), "every create that succeeded is stored, and only those")
		})
	}
}

func testDeployDescribeRestore(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()

	v1, err := s.Deploy(ctx, folder, "etl", project(hello), "ada")
	require.NoError(t, err)
	require.Equal(t, 1, v1.Version)
	require.Equal(t, "ada", v1.DeployedBy)
	require.Equal(t, []string{"hello", "other"}, v1.Packages)

	second := project(strings.Replace(hello, "default: world", "default: moon", 1))
	delete(second.Files, "sql/load.sql")
	v2, err := s.Deploy(ctx, folder, "etl", second, "bob")
	require.NoError(t, err)
	require.Equal(t, 2, v2.Version)

	// References and bindings survive a redeploy.
	_, err = s.CreateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"name": {Type: pkgfile.String, Value: "Ada"},
	}})
	require.NoError(t, err)
	require.NoError(t, s.SetReferences(ctx, folder, "etl", []catalog.EnvRef{{Environment: "prod"}}))
	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"region": "name"})
	require.NoError(t, err)

	p, err := s.DescribeProject(ctx, folder, "etl")
	require.NoError(t, err)
	require.Equal(t, 2, p.Version)
	require.Equal(t, "bob", p.DeployedBy)
	require.Len(t, p.Packages, 2)
	require.Equal(t, "hello", p.Packages[0].Name)
	require.Equal(t, "moon", p.Packages[0].Parameters["who"].Default)
	require.True(t, p.Packages[0].Parameters["token"].Sensitive)
	require.Equal(t, pkgfile.String, p.Parameters["region"].Type)
	require.Empty(t, p.Files)

	v3, err := s.Restore(ctx, folder, "etl", 1, "carol")
	require.NoError(t, err)
	require.Equal(t, 3, v3.Version)
	require.Equal(t, 1, v3.RestoredFrom)

	b3, info, err := s.ProjectBundle(ctx, folder, "etl", 0)
	require.NoError(t, err)
	require.Equal(t, 3, info.Version)
	b1, _, err := s.ProjectBundle(ctx, folder, "etl", 1)
	require.NoError(t, err)
	require.Equal(t, b1, b3)
	require.Equal(t, hello, b3.Packages["hello"])
	require.Equal(t, map[string]string{"sql/load.sql": "select 1"}, b3.Files)

	p, err = s.DescribeProject(ctx, folder, "etl")
	require.NoError(t, err)
	require.Equal(t, 3, p.Version)
	require.Equal(t, 1, p.RestoredFrom)
	require.Equal(t, "world", p.Packages[0].Parameters["who"].Default)
	require.Equal(t, []catalog.EnvRef{{Folder: folder, Environment: "prod"}}, p.References)
	require.Equal(t, map[string]string{"region": "name"}, p.Bindings)

	vs, err := s.Versions(ctx, folder, "etl")
	require.NoError(t, err)
	require.Len(t, vs, 3)
	require.Equal(t, []int{3, 2, 1}, []int{vs[0].Version, vs[1].Version, vs[2].Version})
	require.Equal(t, "carol", vs[0].DeployedBy)

	list, err := s.Projects(ctx, folder)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, 3, list[0].Version)

	for _, tc := range []struct {
		name    string
		version int
		want    error
	}{
		{"zero", 0, catalog.ErrInvalid},
		{"future", 9, scaleouttype.ErrNotFound},
	} {
		_, err := s.Restore(ctx, folder, "etl", tc.version, "")
		require.ErrorIs(t, err, tc.want, tc.name)
	}
	_, err = s.Restore(ctx, folder, "nope", 1, "")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	_, err = s.DescribeProject(ctx, "nope-"+folder, "etl")
	var nf *catalog.NotFoundError
	require.ErrorAs(t, err, &nf)
	require.Equal(t, "folder", nf.Kind)

	// A deleted project starts again at version 1.
	require.NoError(t, s.DeleteProject(ctx, folder, "etl"))
	_, err = s.DescribeProject(ctx, folder, "etl")
	require.ErrorAs(t, err, &nf)
	require.Equal(t, "project", nf.Kind)
	require.ErrorIs(t, s.DeleteProject(ctx, folder, "etl"), scaleouttype.ErrNotFound)
	v, err := s.Deploy(ctx, folder, "etl", project(hello), "")
	require.NoError(t, err)
	require.Equal(t, 1, v.Version)
	p, err = s.DescribeProject(ctx, folder, "etl")
	require.NoError(t, err)
	require.Empty(t, p.References)
}

func testRetention(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 3)
	ctx := context.Background()
	for i := 1; i <= 7; i++ {
		v, err := s.Deploy(ctx, folder, "etl", project(hello), "")
		require.NoError(t, err)
		require.Equal(t, i, v.Version)
	}
	vs, err := s.Versions(ctx, folder, "etl")
	require.NoError(t, err)
	require.Len(t, vs, 3)
	require.Equal(t, []int{7, 6, 5}, []int{vs[0].Version, vs[1].Version, vs[2].Version})
	_, _, err = s.ProjectBundle(ctx, folder, "etl", 4)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	_, err = s.Restore(ctx, folder, "etl", 2, "")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	v, err := s.Restore(ctx, folder, "etl", 5, "")
	require.NoError(t, err)
	require.Equal(t, 8, v.Version)
}

func testConcurrentDeploys(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, catalog.MaxKeep)
	ctx := context.Background()
	const n = 8
	versions := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			v, err := s.Deploy(ctx, folder, "etl", project(hello), "")
			if assert.NoError(t, err) {
				versions <- v.Version
			}
		})
	}
	wg.Wait()
	close(versions)
	seen := map[int]bool{}
	for v := range versions {
		require.False(t, seen[v], "version %d given twice", v)
		seen[v] = true
	}
	for i := 1; i <= n; i++ {
		require.True(t, seen[i], "version %d missing", i)
	}
	f, err := s.GetFolder(ctx, folder)
	require.NoError(t, err)
	require.Equal(t, 1, f.Projects)
}

func testDeployInvalid(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()
	bad := `name: hello
tasks:
  - name: greet
    type: exek
    with: {command: [echo, "${params.missing}"]}
`
	b := catalog.Bundle{
		Packages: map[string]string{"hello": bad, "other": `{"name": "renamed", "tasks": []}`, "bad name!": other},
		Parameters: map[string]pkgfile.Parameter{
			"n":      {Type: pkgfile.Int, Default: "x"},
			"weird":  {Type: "decimal"},
			"1bad":   {Type: pkgfile.String},
			"strict": {Type: pkgfile.Int, Required: true, Default: 1},
		},
		Files: map[string]string{"../up": "x", "bin": "a\x00b"},
	}
	_, err := s.Deploy(ctx, folder, "etl", b, "")
	require.ErrorIs(t, err, catalog.ErrInvalid)
	var ve *catalog.ValidationError
	require.ErrorAs(t, err, &ve)
	msg := err.Error()
	for _, want := range []string{
		`package "hello" line 4: tasks[0] "greet".type: unknown task type "exek"`,
		`params.missing`,
		`package "other": name: the file names the package "renamed"`,
		`package "other"`, `a package needs at least one task`,
		`packages["bad name!"]`,
		`parameters.n.default: want int, got "x"`, `parameters.weird.type: unknown type "decimal"`, `parameters["1bad"]`,
		`parameters.strict.required`,
		`files["../up"]`, `files["bin"]: not a text file`,
	} {
		require.Contains(t, msg, want)
	}
	_, err = s.DescribeProject(ctx, folder, "etl")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound, "nothing was stored")

	for _, tc := range []struct {
		name string
		b    catalog.Bundle
		want string
	}{
		{"no packages", catalog.Bundle{}, "at least one package"},
		{"files too big", catalog.Bundle{Packages: map[string]string{"other": other},
			Files: map[string]string{"a": strings.Repeat("x", catalog.MaxFilesSize+1)}}, "at most 262144"},
		{"bundle too big", catalog.Bundle{Packages: map[string]string{"big": bigPackage(t)}},
			"KB compressed (gzip), at most 350 KB"},
	} {
		_, err := s.Deploy(ctx, folder, "etl", tc.b, "")
		require.ErrorIs(t, err, catalog.ErrInvalid, tc.name)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	_, err = s.Deploy(ctx, folder, "bad/name", project(hello), "")
	require.ErrorIs(t, err, catalog.ErrInvalid)
}

// bigPackage is a valid package whose description does not compress:
// 600 KB of base64 takes about 450 KB as gzip.
func bigPackage(t *testing.T) string {
	t.Helper()
	b := make([]byte, 450_000)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return fmt.Sprintf(`{"name": "big", "description": %q, "tasks": [{"name": "t", "type": "sleep", "with": {"duration": "1s"}}]}`,
		base64.StdEncoding.EncodeToString(b))
}

func testEnvironments(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()
	in := catalog.EnvironmentInput{Description: "production", Variables: map[string]catalog.Variable{
		"name":    {Type: pkgfile.String, Value: "Ada"},
		"count":   {Type: pkgfile.Int, Value: json.Number("3")},
		"regions": {Type: pkgfile.List, Value: []any{"eu", "us"}},
		"token":   {Type: pkgfile.String, Value: "s3cret-plaintext", Sensitive: true, Description: "API token"},
	}}
	e, err := s.CreateEnvironment(ctx, folder, "prod", in)
	require.NoError(t, err)
	require.Equal(t, 1, e.Revision)
	require.Nil(t, e.Variables["token"].Value)
	require.True(t, e.Variables["token"].Sensitive)
	require.Equal(t, 3, e.Variables["count"].Value)

	_, err = s.CreateEnvironment(ctx, folder, "prod", in)
	require.ErrorIs(t, err, catalog.ErrExists)

	got, err := s.GetEnvironment(ctx, folder, "prod")
	require.NoError(t, err)
	require.Equal(t, e, got)
	j, err := json.Marshal(got)
	require.NoError(t, err)
	require.NotContains(t, string(j), "s3cret")
	require.Contains(t, string(j), `"token":{"type":"string","value":null,"sensitive":true`)

	list, err := s.Environments(ctx, folder)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Nil(t, list[0].Variables["token"].Value)

	// Update: the sensitive value is kept when not sent again.
	up := catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"name":  {Type: pkgfile.String, Value: "Grace"},
		"token": {Type: pkgfile.String, Sensitive: true},
	}}
	e2, err := s.UpdateEnvironment(ctx, folder, "prod", up)
	require.NoError(t, err)
	require.Equal(t, 2, e2.Revision)
	require.Len(t, e2.Variables, 2)

	for _, tc := range []struct {
		name string
		vars map[string]catalog.Variable
		want string
	}{
		{"wrong type", map[string]catalog.Variable{"count": {Type: pkgfile.Int, Value: "three"}}, `variables.count.value: want int, got "three"`},
		{"fraction for int", map[string]catalog.Variable{"count": {Type: pkgfile.Int, Value: 1.5}}, "want int"},
		{"sensitive wrong type", map[string]catalog.Variable{"pin": {Type: pkgfile.Int, Value: "hidden-pin", Sensitive: true}}, "got a value of another type"},
		{"unknown type", map[string]catalog.Variable{"x": {Type: "money", Value: 1}}, `unknown type "money"`},
		{"missing value", map[string]catalog.Variable{"x": {Type: pkgfile.String}}, "variables.x.value: missing"},
		{"bad name", map[string]catalog.Variable{"a-b": {Type: pkgfile.String, Value: ""}}, `variables["a-b"]`},
		{"too big", map[string]catalog.Variable{"x": {Type: pkgfile.String, Value: strings.Repeat("x", 5000)}}, "at most 4096"},
	} {
		_, err := s.CreateEnvironment(ctx, folder, "bad", catalog.EnvironmentInput{Variables: tc.vars})
		require.ErrorIs(t, err, catalog.ErrInvalid, tc.name)
		require.ErrorContains(t, err, tc.want, tc.name)
		require.NotContains(t, err.Error(), "hidden-pin")
		_, err = s.UpdateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: tc.vars})
		require.ErrorIs(t, err, catalog.ErrInvalid, tc.name)
	}
	_, err = s.GetEnvironment(ctx, folder, "bad")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	_, err = s.UpdateEnvironment(ctx, folder, "nope", up)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	require.ErrorIs(t, s.DeleteEnvironment(ctx, folder, "nope"), scaleouttype.ErrNotFound)
	require.NoError(t, s.DeleteEnvironment(ctx, folder, "prod"))
	f, err := s.GetFolder(ctx, folder)
	require.NoError(t, err)
	require.Equal(t, 0, f.Environments)
}

// otherWho is the package other declaring who itself, as a string, as
// hello does: the project's who (an int) then reaches no package.
const otherWho = `{"name": "other", "parameters": {"who": {"type": "string"}},
  "tasks": [{"name": "t", "type": "sleep", "with": {"duration": "1s"}}]}`

func testResolve(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()
	shared, err := s.CreateFolder(ctx, uniqueName("shared"), "")
	require.NoError(t, err)

	b := project(hello)
	b.Packages["other"] = otherWho
	_, err = s.Deploy(ctx, folder, "etl", b, "")
	require.NoError(t, err)
	prodVars := map[string]catalog.Variable{
		"name":   {Type: pkgfile.String, Value: "Ada"},
		"secret": {Type: pkgfile.String, Value: "s3cret-plaintext", Sensitive: true},
		"num":    {Type: pkgfile.Int, Value: 7},
		"when":   {Type: pkgfile.DateTime, Value: "2026-11-25T06:00:00Z"},
	}
	_, err = s.CreateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: prodVars})
	require.NoError(t, err)
	_, err = s.CreateEnvironment(ctx, shared.Name, "common", catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"name": {Type: pkgfile.String, Value: "Shared"},
	}})
	require.NoError(t, err)
	_, err = s.CreateEnvironment(ctx, folder, "unreferenced", catalog.EnvironmentInput{})
	require.NoError(t, err)
	require.NoError(t, s.SetReferences(ctx, folder, "etl", []catalog.EnvRef{{Environment: "prod"}}))
	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"who": "name", "token": "secret", "count": "num"})
	require.NoError(t, err)

	prod := &catalog.EnvRef{Environment: "prod"}
	r, err := s.Resolve(ctx, folder, "etl", "hello", prod, nil)
	require.NoError(t, err)
	require.Equal(t, 1, r.ProjectVersion)
	require.Equal(t, map[string]any{"who": "Ada", "token": "s3cret-plaintext", "count": 7, "region": "eu"}, r.Params)
	require.Equal(t, []string{"token"}, r.Sensitive)
	var def pkgfile.Package
	require.NoError(t, json.Unmarshal(r.Definition, &def))
	require.Equal(t, "hello", def.Name)
	require.Equal(t, pkgfile.String, def.Parameters["region"].Type, "project parameter merged in")
	require.Equal(t, pkgfile.String, def.Parameters["who"].Type, "the package's declaration wins")
	require.NotContains(t, string(r.Definition), "s3cret")

	// A given value overrides the binding.
	r, err = s.Resolve(ctx, folder, "etl", "hello", prod, map[string]any{"who": "Grace", "count": json.Number("9")})
	require.NoError(t, err)
	require.Equal(t, "Grace", r.Params["who"])
	require.Equal(t, 9, r.Params["count"])

	// Another folder's environment, referenced after the bindings were
	// set: a reference is not refused for the bindings, but every binding
	// of the package's parameters must name a variable the chosen
	// environment has, and the run says which it lacks.
	require.NoError(t, s.SetReferences(ctx, folder, "etl", []catalog.EnvRef{
		{Environment: "prod"}, {Folder: shared.Name, Environment: "common"},
	}))
	common := &catalog.EnvRef{Folder: shared.Name, Environment: "common"}
	_, err = s.Resolve(ctx, folder, "etl", "hello", common, nil)
	require.ErrorIs(t, err, catalog.ErrInvalid)
	require.ErrorContains(t, err, `parameters.count: bound to variable "num", which environment `+shared.Name+`/common does not have: add it to the environment, or bind the parameter again (it has: name); did you mean "name"?`)
	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"who": "name"})
	require.NoError(t, err)
	r, err = s.Resolve(ctx, folder, "etl", "hello", common, nil)
	require.NoError(t, err)
	require.Equal(t, "Shared", r.Params["who"])

	// Without an environment: defaults.
	r, err = s.Resolve(ctx, folder, "etl", "hello", nil, nil)
	require.NoError(t, err)
	require.Equal(t, "world", r.Params["who"])

	// A parameter bound to a sensitive variable becomes sensitive.
	require.NoError(t, s.SetReferences(ctx, folder, "etl", []catalog.EnvRef{{Environment: "prod"}}))
	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"region": "secret"})
	require.NoError(t, err)
	r, err = s.Resolve(ctx, folder, "etl", "hello", prod, nil)
	require.NoError(t, err)
	require.Equal(t, "s3cret-plaintext", r.Params["region"])
	require.Equal(t, []string{"region", "token"}, r.Sensitive)
	require.NoError(t, json.Unmarshal(r.Definition, &def))
	require.True(t, def.Parameters["region"].Sensitive)

	for _, tc := range []struct {
		name  string
		pkg   string
		env   *catalog.EnvRef
		given map[string]any
		want  error
		msg   string
	}{
		{"unknown package", "nope", nil, nil, scaleouttype.ErrNotFound, `package "` + folder + `/etl/nope" not found`},
		{"unreferenced environment", "hello", &catalog.EnvRef{Environment: "unreferenced"}, nil, catalog.ErrInvalid, "does not reference environment"},
		{"missing environment", "hello", &catalog.EnvRef{Folder: "nope", Environment: "prod"}, nil, catalog.ErrInvalid, "does not reference"},
		{"wrong given type", "hello", nil, map[string]any{"count": "x"}, catalog.ErrInvalid, `parameters.count: want int, got "x"`},
		{"sensitive given wrong type", "hello", nil, map[string]any{"token": 5}, catalog.ErrInvalid, "parameters.token: want string, got a value of another type"},
		{"unknown given", "hello", nil, map[string]any{"nope": 1}, catalog.ErrInvalid, "declares no such parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Resolve(ctx, folder, "etl", tc.pkg, tc.env, tc.given)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.msg)
			require.NotContains(t, err.Error(), "s3cret")
		})
	}

	// An environment changed after the bindings were set: the run says
	// what no longer fits, and never shows a sensitive value.
	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"count": "num", "who": "name"})
	require.NoError(t, err)
	changed := map[string]catalog.Variable{
		"num":    {Type: pkgfile.DateTime, Value: "2026-11-25T06:00:00Z"},
		"secret": {Type: pkgfile.String, Sensitive: true},
	}
	_, err = s.UpdateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: changed})
	require.NoError(t, err)
	_, err = s.Resolve(ctx, folder, "etl", "hello", prod, nil)
	require.ErrorIs(t, err, catalog.ErrInvalid)
	require.ErrorContains(t, err, `parameters.count: bound to variable "num" of environment `+folder+`/prod, of type datetime: want int`)
	require.ErrorContains(t, err, `parameters.who: bound to variable "name", which environment `+folder+`/prod does not have: add it to the environment, or bind the parameter again (it has: num, secret); did you mean "num"?`)
	changed["num"] = catalog.Variable{Type: pkgfile.String, Value: "", Sensitive: true}
	_, err = s.UpdateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: changed})
	require.NoError(t, err)
	_, err = s.Resolve(ctx, folder, "etl", "hello", prod, nil)
	require.ErrorContains(t, err, "parameters.count: bound to variable \"num\" of environment "+folder+"/prod, of type string: want int, got a value of another type")
	_, err = s.UpdateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: prodVars})
	require.NoError(t, err)

	// A required parameter missing.
	req := project(strings.Replace(hello, "count: {type: int}", "count: {type: int, required: true}", 1))
	_, err = s.Deploy(ctx, folder, "strict", req, "")
	require.NoError(t, err)
	_, err = s.Resolve(ctx, folder, "strict", "hello", nil, nil)
	require.ErrorIs(t, err, catalog.ErrInvalid)
	require.ErrorContains(t, err, "parameters.count: required")

	_, err = s.Resolve(ctx, folder, "nope", "hello", nil, nil)
	var nf *catalog.NotFoundError
	require.ErrorAs(t, err, &nf)
	require.Equal(t, "project", nf.Kind)
	_, err = s.Resolve(ctx, "nope-"+folder, "etl", "hello", nil, nil)
	require.ErrorAs(t, err, &nf)
	require.Equal(t, "folder", nf.Kind)

	// An environment deleted after it was referenced.
	_, err = s.SetBindings(ctx, folder, "etl", nil)
	require.NoError(t, err)
	require.NoError(t, s.SetReferences(ctx, folder, "etl", []catalog.EnvRef{{Environment: "prod"}, *common}))
	require.NoError(t, s.DeleteEnvironment(ctx, shared.Name, "common"))
	_, err = s.Resolve(ctx, folder, "etl", "hello", common, nil)
	require.ErrorAs(t, err, &nf)
	require.Equal(t, "environment", nf.Kind)

	// References must exist when set.
	err = s.SetReferences(ctx, folder, "etl", []catalog.EnvRef{{Environment: "ghost"}})
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"a-b": "x"})
	require.ErrorIs(t, err, catalog.ErrInvalid)
	_, err = s.SetBindings(ctx, folder, "nope", nil)
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
}

// Bindings are checked when set, as a run would resolve them, against the
// project's latest version and every environment it references; the
// answer says what changed.
func testSetBindingsChecks(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()
	_, err := s.Deploy(ctx, folder, "etl", project(hello), "")
	require.NoError(t, err)

	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"region": "name"})
	require.ErrorIs(t, err, catalog.ErrInvalid)
	require.ErrorContains(t, err, "bindings: project "+folder+"/etl references no environment")

	vars := map[string]catalog.Variable{
		"name":   {Type: pkgfile.String, Value: "Ada"},
		"num":    {Type: pkgfile.Int, Value: 7},
		"secret": {Type: pkgfile.String, Value: "s3cret-plaintext", Sensitive: true},
		"flag":   {Type: pkgfile.Bool, Value: true},
	}
	_, err = s.CreateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: vars})
	require.NoError(t, err)
	_, err = s.CreateEnvironment(ctx, folder, "test", catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"name": {Type: pkgfile.String, Value: "Test"},
	}})
	require.NoError(t, err)
	require.NoError(t, s.SetReferences(ctx, folder, "etl", []catalog.EnvRef{{Environment: "prod"}, {Environment: "test"}}))

	prod, test := folder+"/prod", folder+"/test"
	for _, tc := range []struct {
		name     string
		bindings map[string]string
		want     []string
	}{
		{"unknown parameter", map[string]string{"regoin": "name"}, []string{
			`bindings.regoin: project ` + folder + `/etl (version 1) has no parameter "regoin" (declared: count, region, token, who); did you mean "region"?`}},
		{"variable missing in one referenced environment", map[string]string{"count": "num"}, []string{
			`bindings.count: environment ` + test + ` has no variable "num" (it has: name)`}},
		{"variable missing everywhere", map[string]string{"region": "nmae"}, []string{
			`bindings.region: environment ` + prod + ` has no variable "nmae" (it has: flag, name, num, secret); did you mean "name"?`,
			`bindings.region: environment ` + test + ` has no variable "nmae" (it has: name); did you mean "name"?`}},
		{"a package the value does not fit", map[string]string{"who": "name"}, []string{
			`bindings.who: variable "name" of environment ` + prod + ` is of type string, which the parameter cannot take: package "other" declares it int (want int, got "Ada")`}},
		{"a sensitive value that does not fit", map[string]string{"who": "secret"}, []string{
			`bindings.who: variable "secret" of environment ` + prod + ` is of type string, which the parameter cannot take: package "other" declares it int (want int, got a value of another type)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SetBindings(ctx, folder, "etl", tc.bindings)
			require.ErrorIs(t, err, catalog.ErrInvalid)
			for _, want := range tc.want {
				require.ErrorContains(t, err, want)
			}
			require.NotContains(t, err.Error(), "s3cret")
			p, err := s.DescribeProject(ctx, folder, "etl")
			require.NoError(t, err)
			require.Empty(t, p.Bindings, "a refused change changes nothing")
		})
	}

	// Every variable the references have: a change says what it did.
	_, err = s.UpdateEnvironment(ctx, folder, "test", catalog.EnvironmentInput{Variables: vars})
	require.NoError(t, err)
	ch, err := s.SetBindings(ctx, folder, "etl", map[string]string{"region": "name", "count": "num", "token": "secret"})
	require.NoError(t, err)
	require.Equal(t, catalog.BindingChanges{
		Added:   map[string]string{"region": "name", "count": "num", "token": "secret"},
		Changed: map[string]catalog.BindingChange{}, Removed: map[string]string{}, Unchanged: []string{},
	}, ch)
	ch, err = s.SetBindings(ctx, folder, "etl", map[string]string{"region": "secret", "count": "num"})
	require.NoError(t, err)
	require.Equal(t, catalog.BindingChanges{
		Added:     map[string]string{},
		Changed:   map[string]catalog.BindingChange{"region": {From: "name", To: "secret"}},
		Removed:   map[string]string{"token": "secret"},
		Unchanged: []string{"count"},
	}, ch)

	// A patch binds some and unbinds others, keeping the rest.
	name := "name"
	ch, err = s.PatchBindings(ctx, folder, "etl", map[string]*string{"token": &name, "count": nil})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"token": "name"}, ch.Added)
	require.Equal(t, map[string]string{"count": "num"}, ch.Removed)
	p, err := s.DescribeProject(ctx, folder, "etl")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"region": "secret", "token": "name"}, p.Bindings)
	_, err = s.PatchBindings(ctx, folder, "etl", map[string]*string{"cuont": nil, "token": &name})
	require.ErrorIs(t, err, catalog.ErrInvalid)
	require.ErrorContains(t, err, `bindings.cuont: parameter cuont is not bound, so it cannot be unbound (bound: region, token)`)
	ghost := "ghost"
	_, err = s.PatchBindings(ctx, folder, "etl", map[string]*string{"count": &ghost})
	require.ErrorContains(t, err, `environment `+prod+` has no variable "ghost"`)

	// Later changes are not refused: a redeploy without a parameter keeps
	// its binding (runs ignore it); a referenced environment deleted is
	// named when bindings are set next.
	_, err = s.Deploy(ctx, folder, "etl", project(strings.Replace(hello, "  token: {type: string, sensitive: true}\n", "", 1)), "")
	require.NoError(t, err)
	p, err = s.DescribeProject(ctx, folder, "etl")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"region": "secret", "token": "name"}, p.Bindings)
	r, err := s.Resolve(ctx, folder, "etl", "hello", &catalog.EnvRef{Environment: "prod"}, nil)
	require.NoError(t, err)
	require.NotContains(t, r.Params, "token")
	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"region": "secret", "token": "name"})
	require.ErrorContains(t, err, `has no parameter "token"`)
	require.NoError(t, s.DeleteEnvironment(ctx, folder, "test"))
	_, err = s.SetBindings(ctx, folder, "etl", map[string]string{"region": "secret"})
	require.ErrorContains(t, err, "references: project "+folder+"/etl references environment "+test+", which no longer exists")
	ch, err = s.SetBindings(ctx, folder, "etl", nil)
	require.NoError(t, err, "removing every binding needs no check")
	require.Equal(t, map[string]string{"region": "secret", "token": "name"}, ch.Removed)
}

// Concurrent patches each land, and each reports its own change: every
// write is conditional on the bindings read.
func testPatchBindingsRace(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 0)
	ctx := context.Background()
	b := project(hello)
	var params []string
	for i := range 8 {
		params = append(params, fmt.Sprintf("p%d", i))
		b.Parameters[params[i]] = pkgfile.Parameter{Type: pkgfile.String}
	}
	_, err := s.Deploy(ctx, folder, "etl", b, "")
	require.NoError(t, err)
	_, err = s.CreateEnvironment(ctx, folder, "prod", catalog.EnvironmentInput{Variables: map[string]catalog.Variable{
		"v": {Type: pkgfile.String, Value: "x"},
	}})
	require.NoError(t, err)
	require.NoError(t, s.SetReferences(ctx, folder, "etl", []catalog.EnvRef{{Environment: "prod"}}))
	var wg sync.WaitGroup
	v := "v"
	for _, param := range params {
		wg.Go(func() {
			ch, err := s.PatchBindings(ctx, folder, "etl", map[string]*string{param: &v})
			if assert.NoError(t, err) {
				assert.Equal(t, map[string]string{param: "v"}, ch.Added)
				assert.NotContains(t, ch.Unchanged, param)
			}
		})
	}
	wg.Wait()
	p, err := s.DescribeProject(ctx, folder, "etl")
	require.NoError(t, err)
	require.Len(t, p.Bindings, len(params))
}

// testFiles: each version's files, as deployed, for the workers; versions
// no longer kept, unknown projects and bad versions are refused.
func testFiles(t *testing.T, newCatalog NewCatalog) {
	s, folder := setup(t, newCatalog, 2)
	ctx := context.Background()
	first := project(hello)
	first.Files = map[string]string{"sql/load.sql": "select 1", "conf/a.txt": "a\n"}
	_, err := s.Deploy(ctx, folder, "etl", first, "")
	require.NoError(t, err)
	second := project(hello)
	second.Files = nil
	_, err = s.Deploy(ctx, folder, "etl", second, "")
	require.NoError(t, err)

	files, err := s.Files(ctx, folder, "etl", 1, "")
	require.NoError(t, err)
	require.Equal(t, first.Files, files)
	files, err = s.Files(ctx, folder, "etl", 2, "")
	require.NoError(t, err)
	require.Empty(t, files)
	require.NotNil(t, files)

	_, err = s.Deploy(ctx, folder, "etl", first, "")
	require.NoError(t, err)
	_, err = s.Files(ctx, folder, "etl", 1, "")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound, "version 1 is no longer kept (keep 2)")
	_, err = s.Files(ctx, folder, "etl", 9, "")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	_, err = s.Files(ctx, folder, "elt", 3, "")
	require.ErrorIs(t, err, scaleouttype.ErrNotFound)
	require.ErrorContains(t, err, `"etl"`, "did you mean")
	_, err = s.Files(ctx, folder, "etl", 0, "")
	require.ErrorIs(t, err, catalog.ErrInvalid)
}
