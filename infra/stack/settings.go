package stack

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/scaleout/scaleout/pkg/config"
	"github.com/scaleout/scaleout/pkg/resources"
)

// Context keys read by SettingsFrom (`cdk synth -c key=value`, or the
// "context" object of cdk.json).
const (
	// ContextStage names the installation: "dev", "prod", ... (default "dev").
	ContextStage = "stage"
	// ContextPrefix overrides the resource prefix (default "scaleout-<stage>").
	ContextPrefix = "prefix"
	// ContextPools lists the pools: "a,b" or a JSON array (default "default").
	ContextPools = "pools"
	// ContextIAMRoles maps caller ARNs to Scaleout roles, in the format of
	// SCALEOUT_IAM_ROLES ("arn=role,...") or as a JSON object {"arn": "role"}.
	ContextIAMRoles = "iamRoles"
	// ContextBuildDir is the folder `make build` writes the Lambda
	// bootstraps to, relative to the working directory (default "build").
	ContextBuildDir = "buildDir"
	// ContextSourceDir is the folder holding the worker's Dockerfile (the
	// repository root), relative to the working directory (default ".").
	ContextSourceDir = "sourceDir"

	// The worker service of each pool. Each takes one number for every
	// pool ("1024"), or per pool "default=1024,etl=2048" or a JSON object
	// {"etl": 2048}; pools not named keep the default.
	//
	// ContextWorkerCPU is a task's CPU units (default 512 = 0.5 vCPU).
	ContextWorkerCPU = "workerCpu"
	// ContextWorkerMemory is a task's memory in MiB (default 1024); it must
	// be a size Fargate offers for the CPU.
	ContextWorkerMemory = "workerMemory"
	// ContextWorkerConcurrency is how many executions a task runs at once
	// (SCALEOUT_WORKER_CONCURRENCY, default 4). It is also the scaling
	// target: the backlog per task the service scales to.
	ContextWorkerConcurrency = "workerConcurrency"
	// ContextMinTasks is the fewest tasks of a pool (default 0: a pool with
	// no work costs nothing; the first message starts a task).
	ContextMinTasks = "minTasks"
	// ContextMaxTasks is the most tasks of a pool (default 4).
	ContextMaxTasks = "maxTasks"

	// ContextAlarmEmail subscribes an address to the alarm topic (default
	// none: subscribe later, in SNS).
	ContextAlarmEmail = "alarmEmail"
	// ContextLogRetentionDays is how long every log group keeps its logs,
	// in days CloudWatch offers (1, 3, 5, 7, 14, 30, 60, 90, ...; default 30).
	ContextLogRetentionDays = "logRetentionDays"
	// ContextNATGateways is the number of NAT gateways of the workers' VPC:
	// 1 (default) lets tasks reach the internet (http tasks); 0 leaves them
	// in isolated subnets that reach AWS through VPC endpoints only.
	ContextNATGateways = "natGateways"
	// ContextWorkers set to "false" leaves the worker services (and their
	// VPC) out: for LocalStack plans without ECS, where workers run as
	// processes (bin/worker) against it instead. Default true.
	ContextWorkers = "workers"
)

// Worker is a pool's worker service.
type Worker struct {
	// CPU is a task's CPU units and MemoryMiB its memory (Fargate sizes).
	CPU, MemoryMiB int
	// Concurrency is SCALEOUT_WORKER_CONCURRENCY: executions per task.
	Concurrency int
	// MinTasks and MaxTasks bound the service's auto scaling.
	MinTasks, MaxTasks int
}

// DefaultWorker is a pool's worker service unless settings say otherwise.
var DefaultWorker = Worker{CPU: 512, MemoryMiB: 1024, Concurrency: 4, MinTasks: 0, MaxTasks: 4}

// DefaultLogRetentionDays is how long logs are kept unless settings say otherwise.
const DefaultLogRetentionDays = 30

// DefaultStage is the stage when none is given.
const DefaultStage = "dev"

// Settings are what one installation chooses. The zero value is not valid:
// build Settings with SettingsFrom or fill Prefix, IAMRoles and BuildDir.
type Settings struct {
	// Stage names the installation in tags and in the default prefix.
	Stage string
	// Prefix names every table, queue and function, and the stack.
	Prefix string
	// Pools are the installation's worker pools, one queue each.
	Pools []string
	// IAMRoles is SCALEOUT_IAM_ROLES for the API function: "arn=role,...",
	// where an ARN may end in '*' to match a prefix.
	IAMRoles string
	// BuildDir holds api/bootstrap and stream/bootstrap (from `make build`).
	// Relative paths are relative to the working directory.
	BuildDir string
	// SourceDir holds the worker's Dockerfile (default ".").
	SourceDir string
	// Workers are the pools' worker services; a pool missing here gets
	// DefaultWorker (see Worker).
	Workers map[string]Worker
	// AlarmEmail, when set, is subscribed to the alarm topic.
	AlarmEmail string
	// LogRetentionDays is every log group's retention (0: the default, 30).
	LogRetentionDays int
	// NATGateways is 0 or 1 (see ContextNATGateways); nil means 1.
	NATGateways *int
	// NoWorkers leaves the worker services out (see ContextWorkers).
	NoWorkers bool
}

// Worker is pool's worker service, with DefaultWorker's values for what
// s does not set.
func (s Settings) Worker(pool string) Worker {
	w, ok := s.Workers[pool]
	if !ok {
		return DefaultWorker
	}
	return w
}

// Retention is LogRetentionDays with its default.
func (s Settings) Retention() int {
	if s.LogRetentionDays == 0 {
		return DefaultLogRetentionDays
	}
	return s.LogRetentionDays
}

// NAT is the number of NAT gateways, with its default (1).
func (s Settings) NAT() int {
	if s.NATGateways == nil {
		return 1
	}
	return *s.NATGateways
}

// SettingsFrom reads the settings through get, which returns a context
// value or nil (in the app: the CDK node's TryGetContext).
func SettingsFrom(get func(key string) any) (Settings, error) {
	var errs []error
	str := func(key, def string) string {
		switch v := get(key).(type) {
		case nil:
			return def
		case string:
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
			return def
		default:
			errs = append(errs, fmt.Errorf("context %q: give a string, got %T", key, v))
			return def
		}
	}
	s := Settings{Stage: str(ContextStage, DefaultStage)}
	s.Prefix = str(ContextPrefix, "scaleout-"+s.Stage)
	s.BuildDir = str(ContextBuildDir, "build")

	switch v := get(ContextPools).(type) {
	case nil:
	case string:
		s.Pools = splitList(v)
	case []any:
		for _, p := range v {
			name, ok := p.(string)
			if !ok {
				errs = append(errs, fmt.Errorf("context %q: list pool names as strings, got %T", ContextPools, p))
				continue
			}
			s.Pools = append(s.Pools, strings.TrimSpace(name))
		}
	default:
		errs = append(errs, fmt.Errorf("context %q: give \"a,b\" or a JSON array, got %T", ContextPools, v))
	}
	if len(s.Pools) == 0 {
		s.Pools = []string{resources.DefaultPool}
	}

	switch v := get(ContextIAMRoles).(type) {
	case nil:
	case string:
		s.IAMRoles = strings.Join(splitList(v), ",")
	case map[string]any:
		var entries []string
		for _, arn := range slices.Sorted(maps.Keys(v)) {
			role, ok := v[arn].(string)
			if !ok {
				errs = append(errs, fmt.Errorf("context %q: the role of %q is not a string", ContextIAMRoles, arn))
				continue
			}
			entries = append(entries, arn+"="+role)
		}
		s.IAMRoles = strings.Join(entries, ",")
	default:
		errs = append(errs, fmt.Errorf("context %q: give \"arn=role,...\" or a JSON object, got %T", ContextIAMRoles, v))
	}
	s.SourceDir = str(ContextSourceDir, ".")
	s.AlarmEmail = str(ContextAlarmEmail, "")
	s.LogRetentionDays = intFrom(get, ContextLogRetentionDays, DefaultLogRetentionDays, &errs)
	if get(ContextNATGateways) != nil {
		n := intFrom(get, ContextNATGateways, 1, &errs)
		s.NATGateways = &n
	}

	switch v := get(ContextWorkers).(type) {
	case nil:
	case bool:
		s.NoWorkers = !v
	case string:
		switch strings.TrimSpace(v) {
		case "false":
			s.NoWorkers = true
		case "true", "":
		default:
			errs = append(errs, fmt.Errorf("context %q: give true or false, got %q", ContextWorkers, v))
		}
	default:
		errs = append(errs, fmt.Errorf("context %q: give true or false, got %T", ContextWorkers, v))
	}

	s.Workers = map[string]Worker{}
	for _, pool := range s.Pools {
		s.Workers[pool] = DefaultWorker
	}
	for key, field := range map[string]func(*Worker) *int{
		ContextWorkerCPU:         func(w *Worker) *int { return &w.CPU },
		ContextWorkerMemory:      func(w *Worker) *int { return &w.MemoryMiB },
		ContextWorkerConcurrency: func(w *Worker) *int { return &w.Concurrency },
		ContextMinTasks:          func(w *Worker) *int { return &w.MinTasks },
		ContextMaxTasks:          func(w *Worker) *int { return &w.MaxTasks },
	} {
		perPool(get(key), key, s.Pools, &errs, func(pool string, n int) {
			w := s.Workers[pool]
			*field(&w) = n
			s.Workers[pool] = w
		})
	}
	if err := errors.Join(append(errs, s.Validate())...); err != nil {
		return s, err
	}
	return s, nil
}

// number reads a whole number given as a JSON number or a string.
func number(v any) (int, bool) {
	switch v := v.(type) {
	case float64:
		return int(v), v == float64(int(v))
	case int:
		return v, true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}

func intFrom(get func(string) any, key string, def int, errs *[]error) int {
	v := get(key)
	if s, ok := v.(string); v == nil || ok && strings.TrimSpace(s) == "" {
		return def
	}
	n, ok := number(v)
	if !ok {
		*errs = append(*errs, fmt.Errorf("context %q: give a whole number, got %v", key, v))
		return def
	}
	return n
}

// perPool reads a per-pool number: one number for every pool, "pool=n,..."
// or a JSON object {"pool": n}, calling set for each pool it names.
func perPool(v any, key string, pools []string, errs *[]error, set func(pool string, n int)) {
	if v == nil {
		return
	}
	if n, ok := number(v); ok {
		for _, p := range pools {
			set(p, n)
		}
		return
	}
	entries := map[string]any{}
	switch v := v.(type) {
	case string:
		for _, e := range splitList(v) {
			pool, n, _ := strings.Cut(e, "=")
			entries[strings.TrimSpace(pool)] = n
		}
	case map[string]any:
		entries = v
	default:
		*errs = append(*errs, fmt.Errorf("context %q: give a number, \"pool=n,...\" or a JSON object, got %T", key, v))
		return
	}
	for _, pool := range slices.Sorted(maps.Keys(entries)) {
		n, ok := number(entries[pool])
		switch {
		case !slices.Contains(pools, pool):
			*errs = append(*errs, fmt.Errorf("context %q: %q is not one of the pools %v", key, pool, pools))
		case !ok:
			*errs = append(*errs, fmt.Errorf("context %q: pool %q: give a whole number, got %v", key, pool, entries[pool]))
		default:
			set(pool, n)
		}
	}
}

// Validate reports every problem with s, checking the functions'
// environment with the same code (package config) that the functions run,
// so that a stack that synthesizes also starts.
func (s Settings) Validate() error {
	_, err := s.config()
	return err
}

// config parses the API function's environment as the function will.
func (s Settings) config() (config.Config, error) {
	var errs []error
	if s.BuildDir == "" {
		errs = append(errs, errors.New("no build folder: set the context value buildDir (default build) and run `make build`"))
	}
	if s.StackName() == "" {
		errs = append(errs, fmt.Errorf("prefix %q: start it with a letter, it also names the CloudFormation stack", s.Prefix))
	}
	env := s.apiEnvironment()
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err == nil {
		_, err = cfg.Authenticator()
		if err != nil {
			err = fmt.Errorf("%w: pass them with -c %s='arn:aws:iam::123456789012:role/ops=admin,...'", err, ContextIAMRoles)
		}
	}
	errs = append(errs, err)
	if err == nil {
		// The workers' environment, parsed as the worker will.
		for _, pool := range s.Pools {
			env := s.workerEnvironment(pool)
			if _, err := config.FromEnv(func(k string) string { return env[k] }); err != nil {
				errs = append(errs, fmt.Errorf("worker of pool %q: %w", pool, err))
			}
			errs = append(errs, s.Worker(pool).validate(pool))
		}
	}
	for pool := range s.Workers {
		if !slices.Contains(s.Pools, pool) {
			errs = append(errs, fmt.Errorf("worker settings for %q, which is not one of the pools %v", pool, s.Pools))
		}
	}
	if !slices.Contains(retentionDays, s.Retention()) {
		errs = append(errs, fmt.Errorf("context %q: %d days is not a retention CloudWatch offers (%v)", ContextLogRetentionDays, s.LogRetentionDays, retentionDays))
	}
	if n := s.NAT(); n < 0 || n > 1 {
		errs = append(errs, fmt.Errorf("context %q: %d: give 0 (VPC endpoints only, no internet) or 1", ContextNATGateways, n))
	}
	if e := s.AlarmEmail; e != "" && (!strings.Contains(e, "@") || strings.ContainsAny(e, " ,;")) {
		errs = append(errs, fmt.Errorf("context %q: %q is not one e-mail address", ContextAlarmEmail, e))
	}
	if s.SourceDir != "" {
		if _, err := os.Stat(filepath.Join(s.SourceDir, "Dockerfile")); err != nil {
			errs = append(errs, fmt.Errorf("no worker Dockerfile in %q: set the context value %s to the repository root", s.SourceDir, ContextSourceDir))
		}
	}
	return cfg, errors.Join(errs...)
}

// retentionDays are the retentions CloudWatch Logs offers.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// fargateMemory lists, per CPU units, the memory sizes Fargate offers (MiB):
// from, to, step.
var fargateMemory = map[int][3]int{
	256:   {512, 2048, 512}, // not 1536: see validate
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// maxTasks bounds a pool's service, a guard against a typo's bill.
const maxTasks = 100

func (w Worker) validate(pool string) error {
	var errs []error
	if m, ok := fargateMemory[w.CPU]; !ok {
		errs = append(errs, fmt.Errorf("pool %q: %s=%d: Fargate offers 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units", pool, ContextWorkerCPU, w.CPU))
	} else if w.MemoryMiB < m[0] || w.MemoryMiB > m[1] || (w.MemoryMiB-m[0])%m[2] != 0 || w.CPU == 256 && w.MemoryMiB == 1536 {
		errs = append(errs, fmt.Errorf("pool %q: %s=%d: with %d CPU units Fargate offers %d to %d MiB in steps of %d",
			pool, ContextWorkerMemory, w.MemoryMiB, w.CPU, m[0], m[1], m[2]))
	}
	if w.MinTasks < 0 || w.MaxTasks < 1 || w.MinTasks > w.MaxTasks || w.MaxTasks > maxTasks {
		errs = append(errs, fmt.Errorf("pool %q: %s=%d, %s=%d: give 0 <= min <= max, 1 <= max <= %d",
			pool, ContextMinTasks, w.MinTasks, ContextMaxTasks, w.MaxTasks, maxTasks))
	}
	return errors.Join(errs...)
}

// StackName is the CloudFormation stack's name: the prefix with '_'
// replaced by '-', or "" when the prefix cannot name a stack.
func (s Settings) StackName() string {
	name := strings.ReplaceAll(s.Prefix, "_", "-")
	if name == "" || !('a' <= name[0] && name[0] <= 'z' || 'A' <= name[0] && name[0] <= 'Z') {
		return ""
	}
	return name
}

// baseEnvironment is what every function reads.
func (s Settings) baseEnvironment() map[string]string {
	return map[string]string{
		"SCALEOUT_PREFIX": s.Prefix,
		"SCALEOUT_POOLS":  strings.Join(s.Pools, ","),
	}
}

// workerEnvironment is the worker service's environment for pool. Its
// stop timeout bounds the grace (see workerStopTimeout).
func (s Settings) workerEnvironment(pool string) map[string]string {
	env := s.baseEnvironment()
	env["SCALEOUT_WORKER_POOL"] = pool
	env["SCALEOUT_WORKER_CONCURRENCY"] = strconv.Itoa(s.Worker(pool).Concurrency)
	env["SCALEOUT_GRACE"] = fmt.Sprintf("%.0fs", workerGrace.Seconds())
	return env
}

// apiEnvironment is the API function's environment.
func (s Settings) apiEnvironment() map[string]string {
	env := s.baseEnvironment()
	env["SCALEOUT_AUTH"] = "iam"
	env["SCALEOUT_IAM_ROLES"] = s.IAMRoles
	return env
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
