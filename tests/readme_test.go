package tests

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// The README's sections whose shell blocks TestREADME runs, in order, with
// their subsections.
var readmeSections = []string{"The first ten minutes", "HTTP API"}

// TestREADME runs every ```sh block of the README's "The first ten
// minutes" and "HTTP API" sections, in order, as a new user would, and fails
// when a command fails or prints something else than the README shows.
//
// The rules, so that what runs is what the README says:
//
//   - The blocks run with bash (-e -o pipefail) in a fresh copy of the
//     repository (no bin/, no localstack/.standins), with an empty HOME,
//     PATH starting with $HOME/go/bin (where `go install` puts the command)
//     and none of the caller's SCALEOUT_ or AWS_ variables. Go's module and
//     build caches are the caller's, so nothing is downloaded again and only
//     the repository's own packages are built again (at the copy's path).
//   - The block that says `make run` is the first terminal: its lines before
//     `make run` run, then the Makefile's run recipe, whose last line
//     (`bin/scaleout dev`) is the stack: it gets `--addr` (a free port, not
//     8080), `--in-memory` and its own table prefix, and uses the stand-ins
//     the tests started. Every other block runs in the second terminal,
//     which keeps what a block exports for the next ones.
//   - The API is not on 127.0.0.1:8080, so the blocks' text has that address
//     replaced with the stack's, SCALEOUT_ENDPOINT names it for the command,
//     and the stack's address in their output reads 127.0.0.1:8080 again.
//   - curl fails on an HTTP error, with the answer's body shown
//     (fail-with-body in $HOME/.curlrc), as any other failing command does.
//   - Lines that start with `#>` are what the command before them prints
//     (its stdout and stderr): the lines must be the same, in order, with ids,
//     dates, times, durations and the token masked and runs of spaces read
//     as one. `...` in a line stands for any text; a line that is `...` for
//     any number of lines. A command with no `#>` lines is only checked to
//     succeed.
//   - A block after an HTML comment `<!-- readme-test: skip REASON -->` is
//     not run; the test says which and why.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("README: about a minute")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's blocks use %s, which is not on PATH: `make test` installs it (tools/readme/install.sh), or install it yourself", tool)
		}
	}
	text, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	blocks, err := parseReadme(string(text), readmeSections)
	require.NoError(t, err)
	require.NotEmpty(t, blocks)
	makefile, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	build, devArgs, err := runRecipe(string(makefile))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	repo := t.TempDir()
	require.NoError(t, copyRepo("..", repo))
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, ".curlrc"), []byte("fail-with-body\nshow-error\n"), 0o644))
	addr := freeAddr(t)
	term := readmeEnv(t, home, "http://"+addr)

	var d *dev
	for _, b := range blocks {
		start := time.Now()
		if b.Skip != "" {
			t.Logf("README.md:%d: not run: %s", b.Line, b.Skip)
			continue
		}
		if b.MakeRun {
			require.Nil(t, d, "README.md:%d: a second `make run`", b.Line)
			// The first terminal: what the block does before `make run`, then the
			// recipe's build; its exports are the stack's environment.
			first := slices.Concat(b.Before, build) // a fresh slice: b.Before is not ours to grow
			env, out, err := runShell(ctx, repo, term, strings.Join(first, "\n"), "")
			require.NoError(t, err, "README.md:%d: %s\n%s", b.Line, strings.Join(first, "\n"), out)
			env = append(env, awsEnv()...)
			cmd := exec.Command(filepath.Join(repo, "bin", "scaleout"),
				append(devArgs, "--addr", addr, "--in-memory", "--prefix", readmePrefix(t))...)
			cmd.Dir, cmd.Env = repo, env
			d = runDev(t, cmd, "http://"+addr)
			t.Logf("README.md:%d: the stack is up (%s)", b.Line, time.Since(start).Round(time.Millisecond))
			continue
		}
		require.NotNil(t, d, "README.md:%d: a block runs before the one that says `make run`", b.Line)
		term = runBlock(ctx, t, b, repo, term, addr)
		t.Logf("README.md:%d: ran (%s)", b.Line, time.Since(start).Round(time.Millisecond))
	}
	require.NotNil(t, d, "no README block says `make run`")
}

// readmePrefix is a table and queue prefix of the stack's own, whose tables
// and queues go when the test ends: the stand-ins the tests share outlive
// them, and the README's steps start from an empty catalog.
func readmePrefix(t *testing.T) string {
	t.Helper()
	prefix := testenv.Name("readme")
	set, err := resources.New(prefix, resources.DefaultPool)
	require.NoError(t, err)
	clients := testenv.AWS(t).Clients
	t.Cleanup(func() { // registered before the stack's, so it runs after the stack stopped
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, tb := range set.Tables() {
			_, _ = clients.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(tb.Name)})
		}
		for _, q := range set.Pools {
			for _, name := range []string{q.Name, q.DeadLetter.Name} {
				if u, err := clients.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err == nil {
					_, _ = clients.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: u.QueueUrl})
				}
			}
		}
	})
	return prefix
}

// runBlock runs one block in the second terminal and checks each command's
// output; it returns the terminal's environment after the block.
func runBlock(ctx context.Context, t *testing.T, b readmeBlock, dir string, env []string, addr string) []string {
	t.Helper()
	marker := fmt.Sprintf("@@readme-%d@@", time.Now().UnixNano())
	var script strings.Builder
	for _, s := range b.Segments {
		script.WriteString(strings.ReplaceAll(s.Code, "127.0.0.1:8080", addr))
		fmt.Fprintf(&script, "\necho %s\n", marker)
	}
	bctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	after, out, err := runShell(bctx, dir, env, script.String(), addr)
	parts := strings.Split(out, marker+"\n")
	if err != nil {
		failed := b.Segments[min(len(parts)-1, len(b.Segments)-1)]
		t.Fatalf("README.md:%d: %v in\n%s\n-- output:\n%s", failed.Line, err, failed.Code, parts[len(parts)-1])
	}
	token := envValue(after, "SCALEOUT_TOKEN")
	for i, s := range b.Segments {
		if len(s.Expected) == 0 {
			continue
		}
		if err := matchOutput(s.Expected, parts[i], token); err != nil {
			t.Errorf("README.md:%d: the output of\n%s\nno longer matches the README's: %v", s.Line, s.Code, err)
		}
	}
	return after
}

// runShell runs script with bash -e -o pipefail in dir and returns the
// environment it ends with and what it printed (stdout and stderr as one,
// with addr read back as 127.0.0.1:8080).
func runShell(ctx context.Context, dir string, env []string, script, addr string) ([]string, string, error) {
	envFile := filepath.Join(os.TempDir(), fmt.Sprintf("readme-env-%d", time.Now().UnixNano()))
	defer func() { _ = os.Remove(envFile) }() // absent when the script failed early
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c",
		script+"\nenv -0 > "+envFile)
	cmd.Dir, cmd.Env = dir, env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := out.String()
	if addr != "" {
		text = strings.ReplaceAll(text, addr, "127.0.0.1:8080")
	}
	if ctx.Err() != nil {
		return nil, text, fmt.Errorf("no end within its time (%w)", ctx.Err())
	}
	if err != nil {
		return nil, text, err
	}
	raw, err := os.ReadFile(envFile)
	if err != nil {
		return nil, text, err
	}
	var after []string
	for _, kv := range strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00") {
		if k, _, _ := strings.Cut(kv, "="); k != "_" && k != "SHLVL" && k != "PWD" && k != "OLDPWD" {
			after = append(after, kv)
		}
	}
	return after, text, nil
}

// readmeEnv is a new terminal's environment: the caller's, without its
// SCALEOUT_, AWS_ and Go path settings, with home as HOME and the caller's Go
// caches.
func readmeEnv(t *testing.T, home, endpoint string) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	require.NoError(t, err)
	caches := strings.Fields(string(out))
	require.Len(t, caches, 2, "go env GOCACHE GOMODCACHE: %s", out)
	env := []string{"HOME=" + home, "GOCACHE=" + caches[0], "GOMODCACHE=" + caches[1], "SCALEOUT_ENDPOINT=" + endpoint}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "SCALEOUT_"), strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "XDG_"),
			strings.HasPrefix(k, "CURL_"), k == "HOME", k == "GOPATH", k == "GOBIN", k == "GOCACHE", k == "GOMODCACHE", k == "GOENV":
		case k == "PATH":
			env = append(env, "PATH="+filepath.Join(home, "go", "bin")+string(os.PathListSeparator)+v)
		default:
			env = append(env, kv)
		}
	}
	return env
}

// awsEnv is the AWS_ settings TestMain made, which point `scaleout dev` at
// the tests' stand-ins.
func awsEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// copyRepo copies the repository at src into dst as a fresh clone has it:
// without .git and what the build and the stand-ins leave behind.
func copyRepo(src, dst string) error {
	skip := map[string]bool{".git": true, "bin": true, "build": true, "cdk.out": true, "scaleout": true,
		filepath.Join("localstack", ".standins"): true}
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if skip[rel] || e.IsDir() && e.Name() == "node_modules" {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(target, 0o755)
		case e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".test"):
			info, err := e.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil
	})
}

// runRecipe reads the Makefile's run recipe: the lines that build, and the
// arguments of its last line, `bin/scaleout dev ...`, the stack.
func runRecipe(makefile string) (build []string, devArgs []string, err error) {
	in := false
	var lines []string
	for _, line := range strings.Split(makefile, "\n") {
		if strings.HasPrefix(line, "run:") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			break
		}
		line = strings.TrimPrefix(strings.TrimSpace(line), "@")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, strings.ReplaceAll(line, "$(GO)", "go"))
	}
	if len(lines) == 0 {
		return nil, nil, fmt.Errorf("the Makefile has no run recipe: TestREADME runs it for `make run`")
	}
	last := strings.Fields(lines[len(lines)-1])
	if len(last) < 2 || last[0] != "bin/scaleout" || last[1] != "dev" {
		return nil, nil, fmt.Errorf("the Makefile's run recipe ends with %q, not bin/scaleout dev: TestREADME's rule for `make run` needs updating", lines[len(lines)-1])
	}
	for _, l := range lines {
		if strings.Contains(l, "$(") || strings.Contains(l, "$$") {
			return nil, nil, fmt.Errorf("the Makefile's run recipe line %q uses make variables TestREADME does not know", l)
		}
	}
	return lines[:len(lines)-1], last[1:], nil
}

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	Line     int       // the line of its opening fence
	Skip     string    // why it is not run, from a readme-test: skip comment
	MakeRun  bool      // it says `make run`: Before are its lines before that
	Before   []string  // the lines before `make run`
	Segments []segment // its commands and their outputs
}

// segment is a block's commands up to the output the README shows for them.
type segment struct {
	Line     int
	Code     string
	Expected []string
}

var (
	fenceRe = regexp.MustCompile("^( *)```([A-Za-z]*)\\s*$")
	skipRe  = regexp.MustCompile(`^\s*<!--\s*readme-test:\s*skip\s+(.+?)\s*-->\s*$`)
)

// parseReadme returns the ```sh blocks of the named level-2 sections, and of
// their subsections, in order.
func parseReadme(text string, sections []string) ([]readmeBlock, error) {
	want := map[string]bool{}
	for _, s := range sections {
		want[s] = true
	}
	found := map[string]bool{}
	lines := strings.Split(text, "\n")
	var blocks []readmeBlock
	in, fenced := false, false
	var cur *readmeBlock
	var indent int
	lastText := ""
	for i, line := range lines {
		n := i + 1
		if !fenced {
			if strings.HasPrefix(line, "## ") {
				name := strings.TrimSpace(strings.TrimPrefix(line, "## "))
				in = want[name]
				found[name] = true
				continue
			}
			m := fenceRe.FindStringSubmatch(line)
			if m == nil {
				if strings.TrimSpace(line) != "" {
					lastText = line
				}
				continue
			}
			fenced = true
			if in && m[2] == "sh" {
				cur = &readmeBlock{Line: n}
				if s := skipRe.FindStringSubmatch(lastText); s != nil {
					cur.Skip = s[1]
				}
				indent = len(m[1])
			}
			continue
		}
		if strings.TrimSpace(line) == "```" {
			fenced = false
			lastText = ""
			if cur != nil {
				blocks = append(blocks, *cur)
				cur = nil
			}
			continue
		}
		if cur == nil {
			continue
		}
		if len(line) >= indent && strings.TrimSpace(line[:indent]) == "" {
			line = line[indent:]
		}
		if err := cur.add(n, line); err != nil {
			return nil, err
		}
	}
	for _, s := range sections {
		if !found[s] {
			return nil, fmt.Errorf("README.md has no section %q", s)
		}
	}
	return blocks, nil
}

// add adds line n to the block.
func (b *readmeBlock) add(n int, line string) error {
	if out, ok := strings.CutPrefix(strings.TrimSpace(line), "#>"); ok {
		if len(b.Segments) == 0 || strings.TrimSpace(b.Segments[len(b.Segments)-1].Code) == "" {
			return fmt.Errorf("README.md:%d: output (#>) with no command before it", n)
		}
		b.Segments[len(b.Segments)-1].Expected = append(b.Segments[len(b.Segments)-1].Expected, strings.TrimPrefix(out, " "))
		return nil
	}
	if cmd, _, _ := strings.Cut(line, "#"); strings.TrimSpace(cmd) == "make run" {
		if b.MakeRun {
			return fmt.Errorf("README.md:%d: a second `make run` in one block", n)
		}
		b.MakeRun = true
		for _, s := range b.Segments {
			if len(s.Expected) > 0 {
				return fmt.Errorf("README.md:%d: output (#>) in the block that says `make run`", n)
			}
			b.Before = append(b.Before, s.Code)
		}
		b.Segments = nil
		return nil
	}
	if b.MakeRun {
		if strings.TrimSpace(line) != "" {
			return fmt.Errorf("README.md:%d: a command after `make run` in its block (the stack runs there until Ctrl-C)", n)
		}
		return nil
	}
	if len(b.Segments) == 0 || len(b.Segments[len(b.Segments)-1].Expected) > 0 {
		b.Segments = append(b.Segments, segment{Line: n})
	}
	s := &b.Segments[len(b.Segments)-1]
	if s.Code != "" {
		s.Code += "\n"
	}
	s.Code += line
	return nil
}

var (
	shortIDRe  = regexp.MustCompile(`\b[0-9a-f]{8}-\.\.\.`)
	uuidRe     = regexp.MustCompile(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	dateTimeRe = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?`)
	timeRe     = regexp.MustCompile(`\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b`)
	durationRe = regexp.MustCompile(`\b(?:\d+d)?(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m|h|d)\b`)
	spacesRe   = regexp.MustCompile(`[ \t]+`)
)

// mask hides what differs from run to run: ids, dates, times, durations and
// the token; runs of spaces become one and trailing ones (and an HTTP
// header's \r) go.
func mask(line, token string) string {
	if token != "" {
		line = strings.ReplaceAll(line, token, "<token>")
	}
	line = uuidRe.ReplaceAllString(line, "<id>")
	line = dateTimeRe.ReplaceAllString(line, "<time>")
	line = timeRe.ReplaceAllString(line, "<time>")
	line = durationRe.ReplaceAllString(line, "<duration>")
	return strings.TrimRight(spacesRe.ReplaceAllString(line, " "), " \r")
}

// matchOutput checks out against the lines the README shows.
func matchOutput(expected []string, out, token string) error {
	var got []string
	if trimmed := strings.TrimRight(out, "\n"); trimmed != "" {
		for _, l := range strings.Split(trimmed, "\n") {
			got = append(got, mask(l, token))
		}
	}
	type want struct {
		elide bool
		re    *regexp.Regexp
		text  string
	}
	var wants []want
	for _, e := range expected {
		m := mask(shortIDRe.ReplaceAllString(e, "<id>"), token)
		if strings.TrimSpace(m) == "..." {
			wants = append(wants, want{elide: true, text: "..."})
			continue
		}
		parts := strings.Split(m, "...")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		wants = append(wants, want{re: regexp.MustCompile("^" + strings.Join(parts, ".*") + "$"), text: m})
	}
	memo := map[[2]int]bool{}
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i == len(wants) {
			return j == len(got)
		}
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var ok bool
		if wants[i].elide {
			ok = match(i+1, j) || j < len(got) && match(i, j+1)
		} else {
			ok = j < len(got) && wants[i].re.MatchString(got[j]) && match(i+1, j+1)
		}
		memo[k] = ok
		return ok
	}
	if match(0, 0) {
		return nil
	}
	var w []string
	for _, x := range wants {
		w = append(w, x.text)
	}
	return fmt.Errorf("expected (masked):\n\t%s\ngot (masked):\n\t%s", strings.Join(w, "\n\t"), strings.Join(got, "\n\t"))
}

func TestREADMEMatcher(t *testing.T) {
	t.Parallel()
	out := "execution 01a23cab-77b0-7cd8-94a6-9c2f2a472dac pending: default/default/hello on pool default\n" +
		"16:10:00.040 ▶ main started\n" +
		"16:10:00.046   main | hello from Scaleout\n" +
		"16:10:00.046 ✔ main succeeded in 6ms\n" +
		"execution 01a23cab-77b0-7cd8-94a6-9c2f2a472dac succeeded in 1.071s\n"
	for _, tc := range []struct {
		name     string
		expected []string
		out      string
		ok       bool
	}{
		{"the same, masked", []string{
			"execution 01a2149a-... pending: default/default/hello on pool default",
			"21:26:48.692 ▶ main started",
			"21:26:48.698 main | hello from Scaleout",
			"21:26:48.699 ✔ main succeeded in 159ms",
			"execution 01a2149a-... succeeded in 2m3s",
		}, out, true},
		{"elided lines", []string{"execution ...", "...", "execution ... succeeded in 1s"}, out, true},
		{"a line elided at the start and the end", []string{"...", "21:26:48.698 main | hello from Scaleout", "..."}, out, true},
		{"another word", []string{"execution ...", "...", "execution ... failed in 1s"}, out, false},
		{"a line more than shown", []string{"execution ...", "21:26:48.692 ▶ main started", "execution ... succeeded in 1s"}, out, false},
		{"a line missing", []string{"...", "21:26:48.698 main | hello from Scaleout", "21:26:48.698 main | hello again", "..."}, out, false},
		{"lines in another order", []string{"...", "21:26:48.699 ✔ main succeeded in 159ms", "21:26:48.698 main | hello from Scaleout", "..."}, out, false},
		{"nothing printed", []string{"created folder demo"}, "", false},
		{"a count is not masked", []string{"deployed demo/examples version 1 (4 packages)"}, "deployed demo/examples version 2 (4 packages)\n", false},
		{"an id is not any word", []string{"worker 01a2149a-... disabled"}, "worker vm-1 disabled\n", false},
		{"column widths and an HTTP header's CR", []string{"HTTP/1.1 200 OK", "demo 1   1  2m ago"}, "HTTP/1.1 200 OK\r\ndemo  1         1             4.1s ago   \n", true},
		{"days", []string{"created 2d4h ago, ran 1d"}, "created 3h05m ago, ran 23h59m\n", true},
		{"JSON dates", []string{`{"created_at": "2026-11-25T21:00:00Z"}`}, `{"created_at": "2026-12-03T16:10:08.911Z"}` + "\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := matchOutput(tc.expected, tc.out, "")
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestREADMEParse(t *testing.T) {
	t.Parallel()
	readme := strings.Join([]string{
		"# Title",
		"```sh",
		"make test",
		"```",
		"## The first ten minutes",
		"1. Start:",
		"   ```sh",
		"   export SCALEOUT_TOKEN=x   # a comment",
		"   make run    # runs it",
		"   ```",
		"2. Then:",
		"   ```sh",
		"   scaleout run hello \\",
		"     --wait",
		"   #> execution 01a2149a-... pending",
		"   #>   indented",
		"   scaleout folders list",
		"   scaleout pools",
		"   #> POOL",
		"   ```",
		"```text",
		"not run",
		"```",
		"<!-- readme-test: skip it needs an AWS account -->",
		"",
		"```sh",
		"aws cloudformation describe-stacks",
		"```",
		"### A subsection",
		"```sh",
		"echo sub",
		"```",
		"## Architecture",
		"```sh",
		"echo not in a section",
		"```",
	}, "\n")
	blocks, err := parseReadme(readme, []string{"The first ten minutes"})
	require.NoError(t, err)
	require.Len(t, blocks, 4)
	require.True(t, blocks[0].MakeRun)
	require.Equal(t, []string{"export SCALEOUT_TOKEN=x   # a comment"}, blocks[0].Before)
	require.Equal(t, 7, blocks[0].Line)
	require.Equal(t, []segment{
		{Line: 13, Code: "scaleout run hello \\\n  --wait", Expected: []string{"execution 01a2149a-... pending", "  indented"}},
		{Line: 17, Code: "scaleout folders list\nscaleout pools", Expected: []string{"POOL"}},
	}, blocks[1].Segments)
	require.Equal(t, "it needs an AWS account", blocks[2].Skip)
	require.Equal(t, "echo sub", blocks[3].Segments[0].Code)

	_, err = parseReadme(readme, []string{"The first ten minutes", "HTTP API"})
	require.ErrorContains(t, err, `no section "HTTP API"`)
	for name, block := range map[string]string{
		"output first":      "```sh\n#> out\n```",
		"after make run":    "```sh\nmake run\nscaleout pools\n```",
		"output of a stack": "```sh\nexport A=1\n#> out\nmake run\n```",
	} {
		_, err := parseReadme("## The first ten minutes\n"+block, []string{"The first ten minutes"})
		require.Error(t, err, name)
	}
}

func TestREADMEMakeRunRecipe(t *testing.T) {
	t.Parallel()
	makefile, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	build, args, err := runRecipe(string(makefile))
	require.NoError(t, err)
	require.Equal(t, []string{"go build -o bin/scaleout ./cmd/scaleout"}, build)
	require.Equal(t, []string{"dev"}, args)
	_, _, err = runRecipe("run: ## x\n\t$(GO) run ./cmd/scaleout dev\n")
	require.ErrorContains(t, err, "not bin/scaleout dev")
}
