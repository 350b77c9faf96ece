package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/scaleout/scaleout/infra/ec2"
)

// workerCaps are the worker binary's file capabilities in an image: to
// start and stop exec tasks as the task user (cap_kill, cap_setgid,
// cap_setuid), and to hand it each run's scratch directory and remove what
// it left there (scratchCaps).
const workerCaps = "cap_chown,cap_dac_override,cap_fowner,cap_kill,cap_setgid,cap_setuid"

// scratchCaps are the capabilities the scratch directory needs: chown it
// to the task user, write in it, and remove what the task left there
// whatever its modes (read-only, unreadable, sticky).
var scratchCaps = []string{"cap_chown", "cap_dac_override", "cap_fowner"}

// instruction is one Dockerfile instruction: its keyword in upper case
// and its arguments, continuation lines joined.
type instruction struct {
	line int
	cmd  string
	args string
}

// parseDockerfile splits a Dockerfile into instructions: comments and
// blank lines dropped, lines ending in '\' joined with the next. Heredocs
// and parser directives other than the default escape are not read.
func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" && cur.Len() == 0 {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		more := strings.HasSuffix(trimmed, `\`)
		cur.WriteString(strings.TrimSuffix(trimmed, `\`))
		cur.WriteByte(' ')
		if more {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
	}
	return out
}

// secretName matches the names of build arguments and environment
// variables that would put a secret into the image's layers or metadata.
var secretName = regexp.MustCompile(`(?i)(passw(or)?d|secret|token|credential|private_?key|access_?key|api_?key)`)

// awsAccessKey matches an AWS access key id written into a Dockerfile.
var awsAccessKey = regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)

// CheckWorkerDockerfile checks that a Dockerfile builds a worker image
// Scaleout can run, as the stock one (the repository root's) does: its
// final stage copies in the worker binary (scaleout-worker) and runs it as
// its ENTRYPOINT in exec form (so that SIGTERM reaches the worker and
// starts its drain), gives the binary the capabilities that start tasks
// as another user, creates the task user (SCALEOUT_TASK_USER) with uid
// ec2.TaskUID, runs as a user other than root, and holds no secret in a
// build argument or an environment variable. It reports every problem,
// each with its line.
func CheckWorkerDockerfile(text string) error {
	all := parseDockerfile(text)
	last := -1
	for i, in := range all {
		if in.cmd == "FROM" {
			last = i
		}
	}
	if last < 0 {
		return errors.New("no FROM: not a Dockerfile")
	}
	var errs []error
	problem := func(line int, format string, args ...any) {
		if line > 0 {
			format = "line %d: " + format
			args = append([]any{line}, args...)
		}
		errs = append(errs, fmt.Errorf(format, args...))
	}
	// Secrets, in every stage: build arguments and environment variables
	// stay in the image's history or its configuration.
	for _, in := range all {
		if awsAccessKey.MatchString(in.args) {
			problem(in.line, "%s holds an AWS access key id: the workers get their credentials from their role; remove it (and deactivate the key)", in.cmd)
		}
		if in.cmd != "ARG" && in.cmd != "ENV" {
			continue
		}
		for _, name := range variableNames(in.args) {
			if secretName.MatchString(name) {
				problem(in.line, "%s %s: a secret in a build argument or an environment variable stays in the image; "+
					"give tasks secrets through sensitive parameters or connections (sealed at rest), or read them at run time", in.cmd, name)
			}
		}
	}

	final := all[last+1:]
	var binary, entrypoint, user, taskUser string
	var setcap, userLine bool
	var missingCaps []string
	var capsLine int
	var entryLine int
	taskUsers := map[string]bool{}
	createUser := regexp.MustCompile(`\b(useradd|adduser)\b[^&;|]*`)
	for _, in := range final {
		switch in.cmd {
		case "COPY", "ADD":
			fields := strings.Fields(in.args)
			var paths []string
			for _, f := range fields {
				if !strings.HasPrefix(f, "--") {
					paths = append(paths, f)
				}
			}
			if len(paths) >= 2 && path.Base(paths[len(paths)-1]) == "scaleout-worker" {
				binary = paths[len(paths)-1]
			}
		case "ENTRYPOINT":
			entryLine = in.line
			var argv []string
			if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
				entrypoint = "shell form"
				continue
			}
			entrypoint = argv[0]
		case "USER":
			user, userLine = in.args, true
		case "ENV":
			for name, v := range envValues(in.args) {
				if name == "SCALEOUT_TASK_USER" {
					taskUser = v
				}
			}
		case "RUN":
			if strings.Contains(in.args, "setcap") && strings.Contains(in.args, "cap_setuid") && strings.Contains(in.args, "cap_setgid") {
				setcap = true
				for _, c := range scratchCaps {
					if !strings.Contains(in.args, c) {
						missingCaps = append(missingCaps, c)
					}
				}
				capsLine = in.line
			}
			for _, m := range createUser.FindAllString(in.args, -1) {
				if regexp.MustCompile(`(^|\s)(-u|--uid)[ =]?` + strconv.Itoa(ec2.TaskUID) + `(\s|$)`).MatchString(m) {
					f := strings.Fields(m)
					taskUsers[f[len(f)-1]] = true
				}
			}
		}
	}
	switch {
	case binary == "":
		problem(0, "the final stage copies no worker binary: COPY --from=<build stage> /out/scaleout-worker /usr/local/bin/scaleout-worker (see examples/images)")
	case entrypoint == "":
		problem(0, `no ENTRYPOINT: end with ENTRYPOINT ["%s"]`, binary)
	case entrypoint == "shell form":
		problem(entryLine, `ENTRYPOINT in shell form runs a shell as PID 1, which keeps SIGTERM from the worker (no drain): give ENTRYPOINT ["%s"]`, binary)
	case path.Clean(entrypoint) != path.Clean(binary):
		problem(entryLine, "ENTRYPOINT runs %s, not the worker binary the image copies to %s", entrypoint, binary)
	}
	if binary != "" && !setcap {
		problem(0, "the worker binary gets no capabilities: add RUN setcap %s=ep %s (after the COPY), "+
			"which start and stop exec tasks as the task user, hand it each run's scratch directory and remove what it left there", workerCaps, binary)
	}
	if setcap && len(missingCaps) > 0 {
		problem(capsLine, "setcap gives the worker binary no %s: without them it cannot hand the task user each run's scratch directory "+
			"(cap_chown) or remove what the task left there (cap_dac_override, cap_fowner); give setcap %s=ep",
			strings.Join(missingCaps, ", "), workerCaps)
	}
	switch u, _, _ := strings.Cut(user, ":"); {
	case !userLine:
		problem(0, "no USER: the worker would run as root; add USER 10001:10001 (the stock image's scaleout user)")
	case u == "root" || u == "0":
		problem(0, "USER %s: the worker must not run as root (exec tasks then could become root); give USER 10001:10001", user)
	}
	switch {
	case taskUser == "":
		problem(0, "no ENV SCALEOUT_TASK_USER: exec tasks would run as the worker's user and could read its environment; "+
			"create the user with uid %d and add ENV SCALEOUT_TASK_USER=%s", ec2.TaskUID, ec2.TaskUser)
	case !taskUsers[taskUser]:
		problem(0, "SCALEOUT_TASK_USER=%s is not created with uid %d in the final stage (useradd --uid %d ... %s): "+
			"an EC2 instance's firewall rules keep that uid off the metadata endpoints", taskUser, ec2.TaskUID, ec2.TaskUID, taskUser)
	}
	return errors.Join(errs...)
}

// variableNames are the names an ARG or ENV instruction sets: ARG a=1 b,
// ENV a=1 b=2, or the legacy ENV name value.
func variableNames(args string) []string {
	var out []string
	for name := range envValues(args) {
		out = append(out, name)
	}
	return out
}

// envValues reads the name=value pairs of an ARG or ENV instruction
// (values unquoted), or the legacy "ENV name value".
func envValues(args string) map[string]string {
	out := map[string]string{}
	fields := strings.Fields(args)
	if len(fields) > 0 && !strings.Contains(fields[0], "=") && len(fields) > 1 {
		out[fields[0]] = strings.Join(fields[1:], " ")
		return out
	}
	for _, f := range fields {
		name, v, _ := strings.Cut(f, "=")
		out[name] = strings.Trim(v, `"'`)
	}
	return out
}
