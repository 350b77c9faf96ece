package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
	"github.com/scaleout/scaleout/internal/testkit/testlog"
)

// runIn runs the command with stdin.
func (c cli) runIn(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out, errOut testlog.Buffer
	root := newRoot()
	root.SetArgs(c.args(args))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// catalogSession runs commands and keeps everything they printed, errors
// included, to check that no sensitive value ever shows.
type catalogSession struct {
	t     *testing.T
	c     cli
	shown strings.Builder
}

func (s *catalogSession) keep(out, errOut string, err error) {
	s.shown.WriteString(out)
	s.shown.WriteString(errOut)
	if err != nil {
		s.shown.WriteString(err.Error())
	}
}

// ok runs a command that must succeed and returns its stdout.
func (s *catalogSession) ok(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.c.run(s.t, args...)
	s.keep(out, errOut, err)
	require.NoError(s.t, err, "scaleout %s\n%s%s", strings.Join(args, " "), out, errOut)
	return out
}

// fails runs a command that must fail and returns its error.
func (s *catalogSession) fails(args ...string) error {
	s.t.Helper()
	out, errOut, err := s.c.run(s.t, args...)
	s.keep(out, errOut, err)
	require.Error(s.t, err, "scaleout %s\n%s", strings.Join(args, " "), out)
	require.Equal(s.t, 1, exitCode(err))
	return err
}

// The catalog as SSMS manages it: folders, project versions, environments
// with sensitive variables, references and bindings, and a run that takes
// its parameters from an environment.
func testCatalogCommands(t *testing.T, c cli) {
	s := &catalogSession{t: t, c: c}
	folder, empty := testenv.Name("cat"), testenv.Name("cat-empty")
	onCommandLine, inFile, onStdin := "s3cret-"+testenv.Name("cli"), "s3cret-"+testenv.Name("file"), "s3cret-"+testenv.Name("stdin")

	// Folders.
	require.Equal(t, "created folder "+folder+"\n", s.ok("folders", "create", folder, "--description", "the CLI's catalog test"))
	s.ok("folders", "create", empty)
	require.ErrorContains(t, s.fails("folders", "create", folder), "already exists (conflict, HTTP 409)")
	require.Regexp(t, folder+`\s+0\s+0\s+\S+ ago\s+the CLI's catalog test\n`, s.ok("folders", "list", "--limit", "1000"))
	var page struct {
		Folders []struct{ Name string } `json:"folders"`
		Next    string                  `json:"next"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.ok("folders", "list", "--limit", "1", "-o", "json")), &page))
	require.Len(t, page.Folders, 1)
	require.NotEmpty(t, page.Next, "two folders at least: there is a next page")
	_, errOut, err := c.run(t, "folders", "list", "--limit", "1")
	require.NoError(t, err)
	require.Contains(t, errOut, "more: add --cursor "+page.Next)

	// Projects: list, describe, versions, restore.
	s.ok("deploy", "../../examples", "--folder", folder)
	require.Regexp(t, `(?m)^examples\s+1\s+\S+ ago\s+`, s.ok("projects", "list", "--folder", folder))

	// A typo in a name gets the closest existing one as a hint, as a
	// parameter's does; a package name far from all lists the packages.
	require.ErrorContains(t, s.fails("run", "helo", "--folder", folder, "--project", "examples"),
		`package "`+folder+`/examples/helo" not found; did you mean "hello"? (not_found, HTTP 404)`)
	require.ErrorContains(t, s.fails("run", "nothing-like-it", "--folder", folder, "--project", "examples"),
		`package "`+folder+`/examples/nothing-like-it" not found; there are failure-handled, hello, load-sales, retry`)
	require.ErrorContains(t, s.fails("run", "hello", "--folder", folder, "--project", "exampels"),
		`project "`+folder+`/exampels" not found; did you mean "examples"?`)
	typo := folder[:len(folder)-1]
	require.ErrorContains(t, s.fails("run", "hello", "--folder", typo, "--project", "examples"),
		`folder "`+typo+`" not found; did you mean "`+folder+`"?`)
	require.ErrorContains(t, s.fails("projects", "describe", "exmaples", "--folder", folder), `did you mean "examples"?`)
	require.NotContains(t, s.fails("projects", "describe", "zzzzzzzz", "--folder", folder).Error(), "did you mean")
	out := s.ok("projects", "describe", "examples", "--folder", folder)
	require.Regexp(t, `Project:\s+`+folder+`/examples\n`, out)
	require.Regexp(t, `hello\s+Says hello\.`, out)
	require.Regexp(t, `who\s+hello\s+string\s+world\s*\n`, out, "not bound yet")
	require.Contains(t, s.ok("deploy", "../../examples", "--folder", folder), "version 2")
	out = s.ok("projects", "versions", "examples", "--folder", folder)
	require.Regexp(t, `(?m)^2\s+\S+ ago\s+.*failure-handled, hello, load-sales, retry\s+current$`, out)
	require.Regexp(t, `(?m)^1\s+\S+ ago\s+`, out)
	require.Equal(t, "restored "+folder+"/examples version 1 as version 3 (4 packages: failure-handled, hello, load-sales, retry)\n",
		s.ok("projects", "restore", "examples", "--folder", folder, "--version", "1"))
	var versions struct {
		Versions []struct {
			Version      int `json:"version"`
			RestoredFrom int `json:"restored_from"`
		} `json:"versions"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.ok("projects", "versions", "examples", "--folder", folder, "-o", "json")), &versions))
	require.Len(t, versions.Versions, 3)
	require.Equal(t, 3, versions.Versions[0].Version)
	require.Equal(t, 1, versions.Versions[0].RestoredFrom)
	require.Regexp(t, `Version:\s+3 \(restored from version 1\)`, s.ok("projects", "show", "examples", "--folder", folder))
	require.ErrorContains(t, s.fails("projects", "restore", "examples", "--folder", folder, "--version", "9"), "not_found")
	require.ErrorContains(t, s.fails("projects", "list"), `required flag(s) "folder" not set`)

	// An environment with sensitive variables: from the command line and
	// from a file.
	secretFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(secretFile, []byte(inFile+"\n"), 0o600))
	out = s.ok("environments", "create", "prod", "--folder", folder, "--description", "production",
		"--var", "greeting=hello there", "--var", "batch=500:int", "--var", "when=2026-11-25T10:00:00Z:datetime",
		"--var", "url=http://db:5432", "--secret", "who="+onCommandLine, "--secret-file", "token="+secretFile)
	require.Contains(t, out, "created environment "+folder+"/prod (revision 1)\n")
	require.Regexp(t, `batch\s+int\s+500\s*\n`, out)
	require.Regexp(t, `url\s+string\s+http://db:5432\s*\n`, out, "a value with a colon that names no type stays whole")
	require.Regexp(t, `when\s+datetime\s+2026-11-25T10:00:00Z\s*\n`, out)
	require.Regexp(t, `who\s+string, sensitive\s+\*\*\*\s*\n`, out)
	require.Regexp(t, `token\s+string, sensitive\s+\*\*\*\s*\n`, out)
	var env struct {
		Description string `json:"description"`
		Revision    int    `json:"revision"`
		Variables   map[string]struct {
			Type      string `json:"type"`
			Value     any    `json:"value"`
			Sensitive bool   `json:"sensitive"`
		} `json:"variables"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.ok("environments", "show", "prod", "--folder", folder, "-o", "json")), &env))
	require.True(t, env.Variables["who"].Sensitive)
	require.Nil(t, env.Variables["who"].Value)
	require.Equal(t, 500.0, env.Variables["batch"].Value)
	require.Regexp(t, `Revision:\s+1`, s.ok("environments", "show", "prod", "--folder", folder))
	require.Regexp(t, `(?m)^prod\s+6\s+2\s+1\s+\S+ ago\s+production$`, s.ok("environments", "list", "--folder", folder))
	require.Contains(t, s.ok("environments", "list", "--folder", folder, "-o", "json"), `"sensitive": true`)

	// Wrong values are caught here, a sensitive one without showing it;
	// the API's problems are shown.
	require.ErrorContains(t, s.fails("environments", "create", "bad", "--folder", folder, "--var", "n=lots:int"), `--var n="lots": not a valid int`)
	err = s.fails("environments", "create", "bad", "--folder", folder, "--secret", "pin="+onCommandLine+":int")
	require.ErrorContains(t, err, "--secret pin: the value is not a valid int (it is not shown)")
	require.ErrorContains(t, s.fails("environments", "create", "bad", "--folder", folder, "--var", "a=1", "--secret", "a=2"), "variable a is given twice")
	require.ErrorContains(t, s.fails("environments", "create", "bad", "--folder", folder, "--var", "bad name=1"), "use letters, digits and '_'")
	require.ErrorContains(t, s.fails("environments", "create", "prod", "--folder", folder), "already exists")

	// Reference and bind: the run takes who from the sensitive variable.
	require.ErrorContains(t, s.fails("run", "hello", "--folder", folder, "--project", "examples", "--environment", "prod"),
		"add the reference first")
	require.Equal(t, "project "+folder+"/examples references "+folder+"/prod\n",
		s.ok("projects", "reference", "examples", "--folder", folder, "--environment", "prod"))
	require.ErrorContains(t, s.fails("projects", "reference", "examples", "--folder", folder, "-e", "prod", "-e", "nope"),
		`environment "`+folder+`/nope" not found`)
	require.ErrorContains(t, s.fails("projects", "reference", "examples", "--folder", folder, "-e", "prdo"),
		`environment "`+folder+`/prdo" not found; did you mean "prod"?`)
	require.ErrorContains(t, s.fails("environments", "show", "pord", "--folder", folder), `did you mean "prod"?`)
	require.Equal(t, "project "+folder+"/examples binds who=who\nadded 1 binding: who=who\n", s.ok("projects", "bind", "examples", "--folder", folder, "who=who"))
	// A binding that does not fit is refused, saying what is known; what
	// a change replaces and removes is said.
	err = s.fails("projects", "bind", "examples", "--folder", folder, "who=whom", "wh0=who", "batch_size=greeting")
	require.ErrorContains(t, err, `bindings.wh0: project `+folder+`/examples (version 3) has no parameter "wh0" (declared: api_token, batch_size, date, dir, regions, source_url, who); did you mean "who"?`)
	require.ErrorContains(t, err, `bindings.who: environment `+folder+`/prod has no variable "whom" (it has: batch, greeting, token, url, when, who); did you mean "who"?`)
	require.ErrorContains(t, err, `bindings.batch_size: variable "greeting" of environment `+folder+`/prod is of type string, which the parameter cannot take: package "load-sales" declares it int (want int, got "hello there")`)
	require.Equal(t, "project "+folder+"/examples binds api_token=token, batch_size=batch, who=who\nadded 2 bindings: api_token=token, batch_size=batch\n",
		s.ok("projects", "bind", "examples", "--folder", folder, "--merge", "batch_size=batch", "api_token=token"))
	require.Equal(t, "project "+folder+"/examples binds api_token=token, who=greeting\nreplaced 1 binding: who=greeting (was who)\nremoved 1 binding: batch_size=batch\n",
		s.ok("projects", "bind", "examples", "--folder", folder, "who=greeting", "api_token=token"))
	require.Equal(t, "project "+folder+"/examples binds who=greeting\nremoved 1 binding: api_token=token\n",
		s.ok("projects", "bind", "examples", "--folder", folder, "--unbind", "api_token"))
	require.Equal(t, "project "+folder+"/examples binds who=who\nreplaced 1 binding: who=who (was greeting)\n",
		s.ok("projects", "bind", "examples", "--folder", folder, "who=who"))
	require.Equal(t, "project "+folder+"/examples binds who=who\nno binding changed\n", s.ok("projects", "bind", "examples", "--folder", folder, "who=who"))
	require.ErrorContains(t, s.fails("projects", "bind", "examples", "--folder", folder, "--unbind", "dir"), "parameter dir is not bound, so it cannot be unbound (bound: who)")
	require.ErrorContains(t, s.fails("projects", "bind", "examples", "--folder", folder, "--clear", "--merge"), "give --clear alone")
	require.ErrorContains(t, s.fails("projects", "bind", "examples", "--folder", folder, "who"), "write PARAMETER=VARIABLE")
	out = s.ok("projects", "describe", "examples", "--folder", folder)
	require.Regexp(t, `References:\s+`+folder+`/prod`, out)
	require.Regexp(t, `who\s+hello\s+string\s+world\s+who\s*\n`, out)
	out = s.ok("run", "hello", "--folder", folder, "--project", "examples", "--environment", "prod", "--wait", "--interval", "200ms")
	require.Contains(t, out, "greet | hello, ***", "the bound sensitive value, redacted")

	// set replaces the variables: who from stdin, token kept as it is.
	out, errOut, err = c.runIn(t, onStdin+"\n", "environments", "set", "prod", "--folder", folder,
		"--secret-file", "who=-", "--keep", "token", "--var", "batch=1000:int")
	s.keep(out, errOut, err)
	require.NoError(t, err, errOut)
	require.Contains(t, out, "updated environment "+folder+"/prod (revision 2)")
	require.NotContains(t, out, "greeting")
	require.ErrorContains(t, s.fails("environments", "set", "prod", "--folder", folder, "--keep", "nothing"), "the environment has no variable nothing (it has: batch, token, who)")
	env.Variables = nil // json.Unmarshal would merge into the map
	require.NoError(t, json.Unmarshal([]byte(s.ok("environments", "show", "prod", "--folder", folder, "-o", "json")), &env))
	require.Equal(t, 2, env.Revision)
	require.Equal(t, "production", env.Description, "kept without --description")
	require.Len(t, env.Variables, 3)
	require.True(t, env.Variables["token"].Sensitive)

	// The values reach the task exactly: a package that compares them with
	// files holding them (the definition is shown: it must not hold them).
	dir := t.TempDir()
	want := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(want, "who"), []byte(onStdin), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(want, "token"), []byte(inFile), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "check.yaml"), []byte(`name: check
parameters:
  who: {type: string, required: true}
  token: {type: string, required: true}
  batch: {type: int, required: true}
tasks:
  - name: compare
    type: exec
    with:
      command: [sh, -c, 'test "$1" = "$(cat "$4/who")" && test "$2" = "$(cat "$4/token")" && test "$3" = 1000 && echo values match',
        sh, "${params.who}", "${params.token}", "${params.batch}", "`+want+`"]
`), 0o600))
	s.ok("deploy", dir, "--folder", folder, "--project", "check")
	s.ok("projects", "reference", "check", "--folder", folder, "--environment", folder+"/prod")
	require.Equal(t, "project "+folder+"/check binds batch=batch, token=token, who=who\nadded 3 bindings: batch=batch, token=token, who=who\n",
		s.ok("projects", "bind", "check", "--folder", folder, "who=who", "token=token", "batch=batch"))
	out, errOut, err = c.run(t, "run", "check", "--folder", folder, "--project", "check", "--environment", "prod", "--wait", "--interval", "200ms", "-o", "json")
	s.keep(out, errOut, err)
	require.NoError(t, err, errOut)
	require.Contains(t, errOut, "compare | values match")
	var ended struct {
		Status     string         `json:"status"`
		Parameters map[string]any `json:"parameters"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &ended), out)
	require.Equal(t, "succeeded", ended.Status)
	require.Equal(t, "***", ended.Parameters["who"])

	// Deletes: a folder only once it is empty.
	err = s.fails("folders", "delete", folder)
	require.ErrorContains(t, err, `folder "`+folder+`" is not empty: it holds projects check, examples and environments prod; delete them first (conflict, HTTP 409)`)
	require.Equal(t, "deleted environment "+folder+"/prod\n", s.ok("environments", "delete", "prod", "--folder", folder))
	require.ErrorContains(t, s.fails("environments", "show", "prod", "--folder", folder), "not_found")
	require.ErrorContains(t, s.fails("run", "hello", "--folder", folder, "--project", "examples", "--environment", "prod"), "not found")
	require.Equal(t, "deleted project "+folder+"/examples\n", s.ok("projects", "delete", "examples", "--folder", folder))
	require.Empty(t, s.ok("projects", "delete", "check", "--folder", folder, "-o", "json"))
	require.ErrorContains(t, s.fails("projects", "describe", "examples", "--folder", folder), "not_found")
	require.Equal(t, "deleted folder "+folder+"\n", s.ok("folders", "delete", folder))
	require.ErrorContains(t, s.fails("folders", "delete", folder), "not_found")
	s.ok("folders", "delete", empty)

	// A reader sees the catalog but may not change it.
	_, _, err = run(t, "folders", "create", testenv.Name("ro"), "--endpoint", c.stack.URL, "--token", c.stack.ReaderToken)
	require.ErrorContains(t, err, "needs the admin role")

	shown := s.shown.String()
	for _, secret := range []string{onCommandLine, inFile, onStdin} {
		require.NotContains(t, shown, secret, "a sensitive value was shown")
	}
}

func TestVarFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		flags varFlags
		want  map[string]any // name to value; sensitive ones prefixed "!"
		err   string
	}{
		{name: "types", flags: varFlags{vars: []string{"s=a", "n=5:int", "f=1.5:float", "b=true:bool", "l=x,y:list", "t=a:int:string"}},
			want: map[string]any{"s": "a", "n": 5, "f": 1.5, "b": true, "l": []any{"x", "y"}, "t": "a:int"}},
		{name: "colon without type", flags: varFlags{vars: []string{"u=http://h:80/x"}}, want: map[string]any{"u": "http://h:80/x"}},
		{name: "empty value", flags: varFlags{vars: []string{"e="}}, want: map[string]any{"e": ""}},
		{name: "secret", flags: varFlags{secrets: []string{"p=hunter2", "n=7:int"}}, want: map[string]any{"!p": "hunter2", "!n": 7}},
		{name: "no name", flags: varFlags{vars: []string{"=x"}}, err: `--var "=x": write name=value`},
		{name: "bad int", flags: varFlags{vars: []string{"n=x:int"}}, err: `--var n="x": not a valid int`},
		{name: "unknown type", flags: varFlags{vars: []string{"n=1:integer"}}, err: `--var n: the value's type: unknown type "integer" (known: string, int`},
		{name: "time is text", flags: varFlags{vars: []string{"at=10:30"}}, want: map[string]any{"at": "10:30"}},
		{name: "secret with an unknown type not shown", flags: varFlags{secrets: []string{"p=hunter2:hunter"}}, err: "--secret p: the value ends in a word"},
		{name: "secret not shown", flags: varFlags{secrets: []string{"hunter2"}}, err: "--secret: write name=value"},
		{name: "bad secret not shown", flags: varFlags{secrets: []string{"p=hunter2:bool"}}, err: "--secret p: the value is not a valid bool"},
		{name: "twice", flags: varFlags{vars: []string{"a=1"}, secrets: []string{"a=2"}}, err: "variable a is given twice"},
		{name: "stdin twice", flags: varFlags{secretFiles: []string{"a=-", "b=-"}}, err: "stdin is read for one variable only"},
		{name: "missing file", flags: varFlags{secretFiles: []string{"a=/nonexistent/x"}}, err: "--secret-file a: open /nonexistent/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.flags.variables(strings.NewReader("from stdin\r\n"), &strings.Builder{}, nil)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.NotContains(t, err.Error(), "hunter2")
				return
			}
			require.NoError(t, err)
			want := map[string]any{}
			for name, v := range got {
				if v.Sensitive {
					name = "!" + name
				}
				want[name] = v.Value
			}
			require.Equal(t, tc.want, want)
		})
	}
	got, err := (&varFlags{secretFiles: []string{"p=-:int"}}).variables(strings.NewReader("42\n"), &strings.Builder{}, nil)
	require.NoError(t, err)
	require.Equal(t, 42, got["p"].Value)
	require.True(t, got["p"].Sensitive)
}
