package stack

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/wiring/config"
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
	// A role's ARN (arn:aws:iam::<account>:role/<name>) admits its sessions
	// (arn:aws:sts::<account>:assumed-role/<name>/<session>), whatever the
	// role's path; see auth.Gateway.
	ContextIAMRoles = "iamRoles"
	// ContextBuildDir is the folder `make build` writes the Lambda
	// bootstraps to, relative to the working directory (default "build").
	ContextBuildDir = "buildDir"
	// ContextSourceDir is the folder holding the worker's Dockerfile (the
	// repository root), relative to the working directory (default ".").
	ContextSourceDir = "sourceDir"
	// ContextVersion is the version the worker image reports (the
	// Dockerfile's VERSION build argument; `make deploy` passes the
	// Makefile's VERSION). Unset, the image reports "devel".
	ContextVersion = "version"

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
	// ContextWorkerPlatform is where a pool's workers run: "fargate"
	// (default: an ECS Fargate service) or "ec2" (an Auto Scaling group of
	// Graviton instances running the worker binary under systemd; see
	// ec2.go). minTasks and maxTasks then count instances and
	// workerConcurrency is per instance; workerCpu and workerMemory do not
	// apply. Per pool like the numbers: "ec2" or "etl=ec2".
	ContextWorkerPlatform = "workerPlatform"
	// ContextInstanceType is an EC2 pool's instance type, a Graviton
	// (arm64) one (default t4g.small: 2 vCPU, 2 GiB). Per pool: "m7g.large"
	// or "etl=c7g.xlarge".
	ContextInstanceType = "instanceType"
	// ContextWorkerImage is where a pool's worker image comes from: "stock"
	// (default: the Dockerfile at the repository root), "dir:<folder>" (a
	// folder holding a Dockerfile, built by `cdk deploy` as an image asset
	// with the worker's sources as the build context "scaleout"; see
	// examples/images) or "uri:<image>" (an image in ECR, which the
	// workers' roles may pull, or in a public registry). Per pool like the
	// numbers: "etl=dir:examples/images/dbt,sql=uri:public.ecr.aws/org/img:1".
	// An EC2 pool with an image other than the stock one runs it with
	// Docker on its instances (infra/ec2's container unit).
	ContextWorkerImage = "workerImage"
	// ContextBuckets are the S3 buckets a pool's s3 tasks may use: the
	// workers' role is granted list, get, put and delete on them and on
	// nothing else (default none: no S3 grant). Names separated by spaces,
	// per pool: "etl=landing-bucket archive-bucket" or a JSON object of
	// lists, {"etl": ["landing-bucket"]}.
	ContextBuckets = "buckets"

	// ContextAPIAuth is how API Gateway authorizes calls to the API: "iam"
	// (default: SigV4-signed requests) or "jwt" (a JWT authorizer: bearer
	// tokens from jwtIssuer for jwtAudience). GET /v1/health stays open.
	ContextAPIAuth = "apiAuth"
	// ContextJWTIssuer is the JWT issuer's URL (https; for a Cognito user
	// pool https://cognito-idp.<region>.amazonaws.com/<user pool id>).
	ContextJWTIssuer = "jwtIssuer"
	// ContextJWTAudience lists the accepted audiences (the "aud" claim, or
	// a Cognito app client ID): "a,b" or a JSON array.
	ContextJWTAudience = "jwtAudience"
	// ContextJWTRoleClaim names the token claim that gives callers their
	// Scaleout role (default cognito:groups; "scope" for machine clients).
	ContextJWTRoleClaim = "jwtRoleClaim"
	// ContextJWTRoles maps the claim's values (groups, scopes) to roles:
	// "data-platform=admin,etl-operators=executor" or a JSON object. A
	// value named admin, executor or reader is that role without a mapping.
	ContextJWTRoles = "jwtRoles"

	// ContextAlarmEmail subscribes an address to the alarm topic (default
	// none: subscribe later, in SNS).
	ContextAlarmEmail = "alarmEmail"
	// ContextLogRetentionDays is how long every log group keeps its logs,
	// in days CloudWatch offers (1, 3, 5, 7, 14, 30, 60, 90, ...; default 30).
	ContextLogRetentionDays = "logRetentionDays"
	// ContextNATGateways is the number of NAT gateways of the workers' VPC:
	// 1 (default) lets tasks reach the internet (http tasks) through one
	// NAT gateway in the first AZ; 2 puts one in each AZ, so that an AZ's
	// outage does not cut the other AZ's tasks off (about $33 a month
	// more); 0 leaves them in isolated subnets that reach AWS through VPC
	// endpoints only.
	ContextNATGateways = "natGateways"

	// ContextAPIThrottleRate is the HTTP API stage's steady request rate
	// limit, requests per second across all callers (default
	// DefaultAPIThrottleRate); API Gateway answers 429 above it.
	ContextAPIThrottleRate = "apiThrottleRate"
	// ContextAPIThrottleBurst is the stage's burst limit, requests (default
	// DefaultAPIThrottleBurst).
	ContextAPIThrottleBurst = "apiThrottleBurst"
	// ContextAPIConcurrency is the API function's reserved concurrency:
	// the most instances it may run at once, kept from the account's
	// pool so that an API burst cannot take the concurrency the stream
	// function needs (default DefaultAPIConcurrency; 0 reserves none and
	// leaves the API uncapped, for accounts whose concurrency quota is too
	// small to reserve from).
	ContextAPIConcurrency = "apiConcurrency"
	// ContextTableDeletionProtection set to "false" turns the tables'
	// deletion protection off (default true; see newTable).
	ContextTableDeletionProtection = "tableDeletionProtection"
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
	// MinTasks and MaxTasks bound the service's auto scaling (instances
	// on EC2).
	MinTasks, MaxTasks int
	// Platform is where the workers run; the zero value is Fargate.
	Platform Platform
	// InstanceType is an EC2 pool's instance type ("": DefaultInstanceType).
	InstanceType string
	// Image is where the pool's worker image comes from (zero: the stock
	// image; see ContextWorkerImage).
	Image Image
	// Buckets are the S3 buckets the pool's workers may list, read, write
	// and delete in (s3 tasks); none: no S3 grant.
	Buckets []string
}

// Platform is where a pool's workers run (see ContextWorkerPlatform).
type Platform string

// The platforms; "" means PlatformFargate.
const (
	PlatformFargate Platform = "fargate"
	PlatformEC2     Platform = "ec2"
)

// EC2 reports whether the pool's workers run on EC2 instances.
func (w Worker) EC2() bool { return w.Platform == PlatformEC2 }

// Instance is InstanceType with its default.
func (w Worker) Instance() string {
	if w.InstanceType == "" {
		return DefaultInstanceType
	}
	return w.InstanceType
}

// DefaultInstanceType is an EC2 pool's instance type unless settings say
// otherwise: 2 burstable Graviton vCPUs and 2 GiB, close to the default
// Fargate task's cost.
const DefaultInstanceType = "t4g.small"

// WorkerBinary is where, under the build folder, EC2 pools take the worker
// binary from (linux/arm64, static):
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o build/worker-linux-arm64/worker ./cmd/scaleout-worker
const WorkerBinary = "worker-linux-arm64/worker"

// API authorization modes (see ContextAPIAuth); "" means APIAuthIAM.
const (
	APIAuthIAM = "iam"
	APIAuthJWT = "jwt"
)

// DefaultWorker is a pool's worker service unless settings say otherwise.
var DefaultWorker = Worker{CPU: 512, MemoryMiB: 1024, Concurrency: 4, MinTasks: 0, MaxTasks: 4}

// DefaultLogRetentionDays is how long logs are kept unless settings say otherwise.
const DefaultLogRetentionDays = 30

// The API's throttling defaults. At the API function's typical 20-100 ms
// a request, 1000 requests a second keep 20-100 instances busy, within
// DefaultAPIConcurrency; API Gateway's own account quota is 10,000 a
// second.
const (
	DefaultAPIThrottleRate  = 1000
	DefaultAPIThrottleBurst = 2000
	DefaultAPIConcurrency   = 100
)

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
	// where an ARN may end in '*' to match a prefix, and a role's ARN
	// admits the role's sessions.
	IAMRoles string
	// BuildDir holds api/bootstrap and stream/bootstrap (from `make build`)
	// and, for EC2 pools, WorkerBinary.
	// Relative paths are relative to the working directory.
	BuildDir string
	// SourceDir holds the worker's Dockerfile (default ".").
	SourceDir string
	// Version is stamped into the worker image (ContextVersion).
	Version string
	// Workers are the pools' worker services; a pool missing here gets
	// DefaultWorker (see Worker).
	Workers map[string]Worker
	// AlarmEmail, when set, is subscribed to the alarm topic.
	AlarmEmail string
	// LogRetentionDays is every log group's retention (0: the default, 30).
	LogRetentionDays int
	// NATGateways is 0, 1 or 2 (see ContextNATGateways); nil means 1.
	NATGateways *int
	// APIThrottleRate and APIThrottleBurst are the HTTP API stage's
	// limits (0: DefaultAPIThrottleRate, DefaultAPIThrottleBurst).
	APIThrottleRate, APIThrottleBurst int
	// APIConcurrency is the API function's reserved concurrency (nil:
	// DefaultAPIConcurrency; 0: none reserved).
	APIConcurrency *int
	// TableDeletionProtection turns the tables' deletion protection on
	// (nil: on).
	TableDeletionProtection *bool
	// NoWorkers leaves the worker services out (see ContextWorkers).
	NoWorkers bool
	// APIAuth is APIAuthIAM ("" too) or APIAuthJWT, with JWTIssuer and
	// JWTAudience (see ContextAPIAuth).
	APIAuth     string
	JWTIssuer   string
	JWTAudience []string
	// JWTRoleClaim and JWTRoles become SCALEOUT_JWT_ROLE_CLAIM and
	// SCALEOUT_JWT_ROLES (see ContextJWTRoleClaim, ContextJWTRoles).
	JWTRoleClaim string
	JWTRoles     string
}

// JWT reports whether API Gateway authorizes calls with a JWT authorizer.
func (s Settings) JWT() bool { return s.APIAuth == APIAuthJWT }

// EventBusName names the custom EventBridge bus the stream function sends
// executions' final statuses to (SCALEOUT_EVENT_BUS).
func (s Settings) EventBusName() string { return s.Prefix + "-executions" }

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

// ThrottleRate is APIThrottleRate with its default.
func (s Settings) ThrottleRate() int { return orDefault(s.APIThrottleRate, DefaultAPIThrottleRate) }

// ThrottleBurst is APIThrottleBurst with its default.
func (s Settings) ThrottleBurst() int { return orDefault(s.APIThrottleBurst, DefaultAPIThrottleBurst) }

// APIReserved is APIConcurrency with its default; 0 reserves none.
func (s Settings) APIReserved() int {
	if s.APIConcurrency == nil {
		return DefaultAPIConcurrency
	}
	return *s.APIConcurrency
}

// TablesProtected reports whether the tables have deletion protection.
func (s Settings) TablesProtected() bool {
	return s.TableDeletionProtection == nil || *s.TableDeletionProtection
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
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

	list := func(key, what string) []string {
		var out []string
		switch v := get(key).(type) {
		case nil:
		case string:
			out = splitList(v)
		case []any:
			for _, p := range v {
				name, ok := p.(string)
				if !ok {
					errs = append(errs, fmt.Errorf("context %q: list %s as strings, got %T", key, what, p))
					continue
				}
				out = append(out, strings.TrimSpace(name))
			}
		default:
			errs = append(errs, fmt.Errorf("context %q: give \"a,b\" or a JSON array, got %T", key, v))
		}
		return out
	}
	s.Pools = list(ContextPools, "pool names")
	if len(s.Pools) == 0 {
		s.Pools = []string{resources.DefaultPool}
	}

	s.IAMRoles = roleMap(get(ContextIAMRoles), ContextIAMRoles, "arn=role", &errs)
	s.SourceDir = str(ContextSourceDir, ".")
	s.Version = str(ContextVersion, "")
	s.APIAuth = str(ContextAPIAuth, "")
	s.JWTIssuer = str(ContextJWTIssuer, "")
	s.JWTAudience = list(ContextJWTAudience, "audiences")
	s.JWTRoleClaim = str(ContextJWTRoleClaim, "")
	s.JWTRoles = roleMap(get(ContextJWTRoles), ContextJWTRoles, "group=role", &errs)
	s.AlarmEmail = str(ContextAlarmEmail, "")
	s.LogRetentionDays = intFrom(get, ContextLogRetentionDays, DefaultLogRetentionDays, &errs)
	if get(ContextNATGateways) != nil {
		n := intFrom(get, ContextNATGateways, 1, &errs)
		s.NATGateways = &n
	}

	s.APIThrottleRate = intFrom(get, ContextAPIThrottleRate, 0, &errs)
	s.APIThrottleBurst = intFrom(get, ContextAPIThrottleBurst, 0, &errs)
	if get(ContextAPIConcurrency) != nil {
		n := intFrom(get, ContextAPIConcurrency, DefaultAPIConcurrency, &errs)
		s.APIConcurrency = &n
	}
	if v, ok := boolFrom(get, ContextTableDeletionProtection, &errs); ok {
		s.TableDeletionProtection = &v
	}
	if v, ok := boolFrom(get, ContextWorkers, &errs); ok {
		s.NoWorkers = !v
	}

	s.Workers = map[string]Worker{}
	for _, pool := range s.Pools {
		s.Workers[pool] = DefaultWorker
	}
	update := func(pool string, f func(*Worker)) {
		w := s.Workers[pool]
		f(&w)
		s.Workers[pool] = w
	}
	for key, field := range map[string]func(*Worker) *int{
		ContextWorkerCPU:         func(w *Worker) *int { return &w.CPU },
		ContextWorkerMemory:      func(w *Worker) *int { return &w.MemoryMiB },
		ContextWorkerConcurrency: func(w *Worker) *int { return &w.Concurrency },
		ContextMinTasks:          func(w *Worker) *int { return &w.MinTasks },
		ContextMaxTasks:          func(w *Worker) *int { return &w.MaxTasks },
	} {
		perPool(get(key), key, s.Pools, &errs, func(pool string, v any) error {
			n, ok := number(v)
			if !ok {
				return fmt.Errorf("give a whole number, got %v", v)
			}
			update(pool, func(w *Worker) { *field(w) = n })
			return nil
		})
	}
	perPool(get(ContextWorkerPlatform), ContextWorkerPlatform, s.Pools, &errs, func(pool string, v any) error {
		p, _ := v.(string)
		update(pool, func(w *Worker) { w.Platform = Platform(strings.ToLower(strings.TrimSpace(p))) })
		return nil // checked by Validate
	})
	perPool(get(ContextInstanceType), ContextInstanceType, s.Pools, &errs, func(pool string, v any) error {
		t, _ := v.(string)
		update(pool, func(w *Worker) { w.InstanceType = strings.TrimSpace(t) })
		return nil
	})
	perPool(get(ContextWorkerImage), ContextWorkerImage, s.Pools, &errs, func(pool string, v any) error {
		text, ok := v.(string)
		if !ok {
			return fmt.Errorf("give stock, dir:<folder> or uri:<image> as a string, got %T", v)
		}
		img, err := ParseImage(text)
		if err != nil {
			return err
		}
		update(pool, func(w *Worker) { w.Image = img })
		return nil
	})
	perPool(get(ContextBuckets), ContextBuckets, s.Pools, &errs, func(pool string, v any) error {
		var names []string
		switch v := v.(type) {
		case string:
			names = strings.Fields(v)
		case []any:
			for _, b := range v {
				name, ok := b.(string)
				if !ok {
					return fmt.Errorf("give bucket names, got %v", b)
				}
				names = append(names, strings.TrimSpace(name))
			}
		default:
			return fmt.Errorf("give bucket names separated by spaces, or a list, got %v", v)
		}
		update(pool, func(w *Worker) { w.Buckets = names })
		return nil // checked by Validate
	})
	if err := errors.Join(append(errs, s.Validate())...); err != nil {
		return s, err
	}
	return s, nil
}

// boolFrom reads a context value given as true/false or "true"/"false";
// ok is false when it is not set.
func boolFrom(get func(string) any, key string, errs *[]error) (v, ok bool) {
	switch v := get(key).(type) {
	case nil:
	case bool:
		return v, true
	case string:
		switch strings.TrimSpace(v) {
		case "false":
			return false, true
		case "true":
			return true, true
		case "":
		default:
			*errs = append(*errs, fmt.Errorf("context %q: give true or false, got %q", key, v))
		}
	default:
		*errs = append(*errs, fmt.Errorf("context %q: give true or false, got %T", key, v))
	}
	return false, false
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

// perPool reads a per-pool value: one value for every pool (a number, or
// a string without '='), "pool=v,..." or a JSON object {"pool": v},
// calling set for each pool it names.
func perPool(v any, key string, pools []string, errs *[]error, set func(pool string, v any) error) {
	entries := map[string]any{}
	switch v := v.(type) {
	case nil:
		return
	case float64, int:
		for _, p := range pools {
			entries[p] = v
		}
	case string:
		if !strings.Contains(v, "=") {
			for _, p := range pools {
				entries[p] = strings.TrimSpace(v)
			}
			break
		}
		for _, e := range splitList(v) {
			pool, val, _ := strings.Cut(e, "=")
			entries[strings.TrimSpace(pool)] = strings.TrimSpace(val)
		}
	case map[string]any:
		entries = v
	default:
		*errs = append(*errs, fmt.Errorf("context %q: give one value, \"pool=value,...\" or a JSON object, got %T", key, v))
		return
	}
	for _, pool := range slices.Sorted(maps.Keys(entries)) {
		if !slices.Contains(pools, pool) {
			*errs = append(*errs, fmt.Errorf("context %q: %q is not one of the pools %v", key, pool, pools))
			continue
		}
		if err := set(pool, entries[pool]); err != nil {
			*errs = append(*errs, fmt.Errorf("context %q: pool %q: %w", key, pool, err))
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
		if err != nil && !s.JWT() {
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
			errs = append(errs, s.Worker(pool).validate(pool), s.Worker(pool).Image.validate(pool, s.NAT()))
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
	if n := s.NAT(); n < 0 || n > maxAZs {
		errs = append(errs, fmt.Errorf("context %q: %d: give 0 (VPC endpoints only, no internet), 1 (one NAT gateway) or %d (one in each AZ)",
			ContextNATGateways, n, maxAZs))
	}
	if s.APIThrottleRate < 0 || s.APIThrottleBurst < 0 {
		errs = append(errs, fmt.Errorf("context %q=%d, %q=%d: give requests per second and a burst of 1 or more",
			ContextAPIThrottleRate, s.APIThrottleRate, ContextAPIThrottleBurst, s.APIThrottleBurst))
	}
	if n := s.APIReserved(); n < 0 {
		errs = append(errs, fmt.Errorf("context %q: %d: give the API function's reserved concurrency, or 0 for none", ContextAPIConcurrency, n))
	}
	if e := s.AlarmEmail; e != "" && (!strings.Contains(e, "@") || strings.ContainsAny(e, " ,;")) {
		errs = append(errs, fmt.Errorf("context %q: %q is not one e-mail address", ContextAlarmEmail, e))
	}
	errs = append(errs, s.validateAPIAuth())
	if s.onEC2Binary() && !s.NoWorkers {
		if bin := filepath.Join(s.BuildDir, WorkerBinary); s.BuildDir != "" && !isFile(bin) {
			errs = append(errs, fmt.Errorf("%s=ec2 needs the worker binary %s: build it with "+
				"GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o %s ./cmd/scaleout-worker",
				ContextWorkerPlatform, bin, bin))
		}
	}
	// The stock image builds from the repository root, and so do the
	// images built from a folder (its named context "scaleout").
	if s.SourceDir != "" && !s.NoWorkers && (s.onFargateStock() || s.imageFromDir()) {
		if _, err := os.Stat(filepath.Join(s.SourceDir, "Dockerfile")); err != nil {
			errs = append(errs, fmt.Errorf("no worker Dockerfile in %q: set the context value %s to the repository root", s.SourceDir, ContextSourceDir))
		}
	}
	return cfg, errors.Join(errs...)
}

// validateAPIAuth checks apiAuth and the JWT authorizer's settings.
func (s Settings) validateAPIAuth() error {
	var errs []error
	switch s.APIAuth {
	case "", APIAuthIAM:
		if s.JWTIssuer != "" || len(s.JWTAudience) > 0 {
			errs = append(errs, fmt.Errorf("context %q or %q is set but %q is iam: add -c %s=jwt, or drop them",
				ContextJWTIssuer, ContextJWTAudience, ContextAPIAuth, ContextAPIAuth))
		}
	case APIAuthJWT:
		if s.JWTIssuer == "" {
			errs = append(errs, fmt.Errorf("context %q is jwt but no issuer is set: add -c %s=https://<issuer> "+
				"(for a Cognito user pool https://cognito-idp.<region>.amazonaws.com/<user pool id>)", ContextAPIAuth, ContextJWTIssuer))
		} else if u, err := url.Parse(s.JWTIssuer); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("context %q: %q: give the issuer's https URL, as in the tokens' \"iss\" claim", ContextJWTIssuer, s.JWTIssuer))
		}
		if len(s.JWTAudience) == 0 {
			errs = append(errs, fmt.Errorf("context %q is jwt but no audience is set: add -c %s=<audience>,... "+
				"(the tokens' \"aud\" claim; for Cognito the app client ID)", ContextAPIAuth, ContextJWTAudience))
		}
	default:
		errs = append(errs, fmt.Errorf("context %q: %q: give iam (SigV4, the default) or jwt", ContextAPIAuth, s.APIAuth))
	}
	return errors.Join(errs...)
}

// onEC2 reports whether any pool runs on EC2.
func (s Settings) onEC2() bool {
	for _, pool := range s.Pools {
		if s.Worker(pool).EC2() {
			return true
		}
	}
	return false
}

// onFargateStock reports whether a Fargate pool runs the stock image.
func (s Settings) onFargateStock() bool {
	for _, pool := range s.Pools {
		if w := s.Worker(pool); !w.EC2() && w.Image.Stock() {
			return true
		}
	}
	return false
}

// imageFromDir reports whether a pool's image is built from a folder.
func (s Settings) imageFromDir() bool {
	for _, pool := range s.Pools {
		if s.Worker(pool).Image.Kind == ImageDir {
			return true
		}
	}
	return false
}

// onEC2Container reports whether an EC2 pool runs its worker in a
// container (an image other than the stock one).
func (s Settings) onEC2Container() bool {
	for _, pool := range s.Pools {
		if w := s.Worker(pool); w.EC2() && !w.Image.Stock() {
			return true
		}
	}
	return false
}

// onEC2Binary reports whether an EC2 pool runs the worker binary.
func (s Settings) onEC2Binary() bool {
	for _, pool := range s.Pools {
		if w := s.Worker(pool); w.EC2() && w.Image.Stock() {
			return true
		}
	}
	return false
}

// onFargate reports whether any pool runs on Fargate.
func (s Settings) onFargate() bool {
	for _, pool := range s.Pools {
		if !s.Worker(pool).EC2() {
			return true
		}
	}
	return false
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
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

// maxAZs is how many availability zones the workers' VPC spans (newVPC),
// and so the most NAT gateways it can use.
const maxAZs = 2

// maxTasks bounds a pool's service, a guard against a typo's bill.
const maxTasks = 100

// graviton matches the Graviton (arm64) instance types: a family with a
// "g" after its generation (t4g, m7g, c7gn, r8gd, x2gd, im4gn, ...) or a1.
var graviton = regexp.MustCompile(`^([a-z]+[0-9]+g[a-z]*|a1)\.[a-z0-9-]+$`)

// bucketName matches S3's general purpose bucket names.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (w Worker) validate(pool string) error {
	var errs []error
	switch w.Platform {
	case "", PlatformFargate:
		if m, ok := fargateMemory[w.CPU]; !ok {
			errs = append(errs, fmt.Errorf("pool %q: %s=%d: Fargate offers 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units", pool, ContextWorkerCPU, w.CPU))
		} else if w.MemoryMiB < m[0] || w.MemoryMiB > m[1] || (w.MemoryMiB-m[0])%m[2] != 0 || w.CPU == 256 && w.MemoryMiB == 1536 {
			errs = append(errs, fmt.Errorf("pool %q: %s=%d: with %d CPU units Fargate offers %d to %d MiB in steps of %d",
				pool, ContextWorkerMemory, w.MemoryMiB, w.CPU, m[0], m[1], m[2]))
		}
		if w.InstanceType != "" {
			errs = append(errs, fmt.Errorf("pool %q: %s=%s applies to EC2 pools only: add -c %s=%s=ec2, or drop it",
				pool, ContextInstanceType, w.InstanceType, ContextWorkerPlatform, pool))
		}
	case PlatformEC2:
		// The instance type is the size; workerCpu and workerMemory do not apply.
		if !graviton.MatchString(w.Instance()) {
			errs = append(errs, fmt.Errorf("pool %q: %s=%s: give a Graviton (arm64) instance type such as t4g.small, m7g.large or c7g.xlarge",
				pool, ContextInstanceType, w.Instance()))
		}
	default:
		errs = append(errs, fmt.Errorf("pool %q: %s=%s: give fargate (the default) or ec2", pool, ContextWorkerPlatform, w.Platform))
	}
	for _, b := range w.Buckets {
		if !bucketName.MatchString(b) || strings.Contains(b, "..") {
			errs = append(errs, fmt.Errorf("pool %q: %s: %q is not an S3 bucket name (3-63 lower-case letters, digits, '.' and '-', "+
				"starting and ending with a letter or digit)", pool, ContextBuckets, b))
		}
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
	if s.JWT() {
		env["SCALEOUT_AUTH"] = "jwt"
		if s.JWTRoleClaim != "" {
			env["SCALEOUT_JWT_ROLE_CLAIM"] = s.JWTRoleClaim
		}
		if s.JWTRoles != "" {
			env["SCALEOUT_JWT_ROLES"] = s.JWTRoles
		}
		return env
	}
	env["SCALEOUT_AUTH"] = "iam"
	env["SCALEOUT_IAM_ROLES"] = s.IAMRoles
	return env
}

// roleMap reads a context value that maps names (caller ARNs, JWT groups)
// to roles, given as "name=role,..." or a JSON object, into the
// "name=role,..." form the API function's environment takes.
func roleMap(v any, key, form string, errs *[]error) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.Join(splitList(v), ",")
	case map[string]any:
		var entries []string
		for _, name := range slices.Sorted(maps.Keys(v)) {
			role, ok := v[name].(string)
			if !ok {
				*errs = append(*errs, fmt.Errorf("context %q: the role of %q is not a string", key, name))
				continue
			}
			entries = append(entries, name+"="+role)
		}
		return strings.Join(entries, ",")
	}
	*errs = append(*errs, fmt.Errorf("context %q: give \"%s,...\" or a JSON object, got %T", key, form, v))
	return ""
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
