package standins

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Environment variables read by this package (only here, in one place).
const (
	// EnvDir overrides DefaultDir.
	EnvDir = "SCALEOUT_STANDINS_DIR"
	// EnvDynamoDBPort overrides the default DynamoDB Local port when Options.DynamoDBPort is zero.
	EnvDynamoDBPort = "SCALEOUT_DYNAMODB_PORT"
	// EnvSQSPort overrides the default SQS (fauxqs) port when Options.SQSPort is zero.
	EnvSQSPort = "SCALEOUT_SQS_PORT"
	// EnvS3Port overrides the default S3 stand-in port when Options.S3Port is zero.
	EnvS3Port = "SCALEOUT_S3_PORT"
)

// Defaults for Options.
const (
	DefaultHost         = "127.0.0.1"
	DefaultDynamoDBPort = 8000
	DefaultSQSPort      = 9324
	DefaultS3Port       = 9325
	DefaultStartTimeout = 60 * time.Second
)

// Names of the stand-ins, as returned by Stack.Started and used in file names.
const (
	ServiceDynamoDB = "dynamodb"
	ServiceSQS      = "sqs"
	ServiceS3       = "s3"
)

// Region and credentials that Env exports and the readiness checks use. The stand-ins accept any.
const (
	Region          = "us-east-1"
	AccessKeyID     = "test"
	SecretAccessKey = "test"
)

const modulePath = "github.com/scaleout/scaleout"

// Options says where the stand-ins live and listen. The zero value is ready to use.
type Options struct {
	// Dir is the install and state folder (npm packages, pid files, logs, lock). Default: DefaultDir().
	Dir string
	// Host is the address the endpoints and checks use. The stand-ins themselves always run on this
	// machine and listen on all interfaces (neither has a flag to change that). Default "127.0.0.1".
	Host string
	// DynamoDBPort is DynamoDB Local's port. Default: $SCALEOUT_DYNAMODB_PORT, else 8000.
	DynamoDBPort int
	// SQSPort is fauxqs's port. Default: $SCALEOUT_SQS_PORT, else 9324.
	SQSPort int
	// S3Port is the S3 stand-in's port. Default: $SCALEOUT_S3_PORT, else 9325.
	S3Port int
	// S3Command, when set, is the program and arguments that serve the S3
	// stand-in (localstack/s3standin) as a process of its own, to which
	// Start adds "--port N": `scaleout standins up` gives its own binary's
	// `standins serve-s3`. Empty: Start leaves S3 alone (`scaleout dev`
	// serves it in its own process, tests in theirs).
	S3Command []string
	// StartTimeout bounds the wait for each started process to answer. Default 60 s.
	StartTimeout time.Duration
	// Logger receives progress (install, start, reuse, stop). Default: discard.
	Logger *slog.Logger
	// DataDir, when set, is where DynamoDB Local keeps its tables (one
	// SQLite file, shared-local-instance.db), so that they outlast the
	// process; empty: in memory, gone when it stops. A DynamoDB Local
	// already running on the port with other storage is refused. SQS
	// (fauxqs) is always in memory: what it held is sent again by the
	// reconciler and recovered from the worker sessions.
	DataDir string
}

// withDefaults fills in the defaults and reports every invalid setting at once.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Dir == "" {
		o.Dir = DefaultDir()
	}
	if abs, err := filepath.Abs(o.Dir); err == nil {
		o.Dir = abs
	} else {
		errs = append(errs, fmt.Errorf("dir %q: %w", o.Dir, err))
	}
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.DataDir != "" {
		if abs, err := filepath.Abs(o.DataDir); err == nil {
			o.DataDir = abs // DynamoDB Local runs in its own folder
		} else {
			errs = append(errs, fmt.Errorf("data dir %q: %w", o.DataDir, err))
		}
	}
	var err error
	if o.DynamoDBPort == 0 {
		if o.DynamoDBPort, err = portFromEnv(EnvDynamoDBPort, DefaultDynamoDBPort); err != nil {
			errs = append(errs, err)
		}
	}
	if o.SQSPort == 0 {
		if o.SQSPort, err = portFromEnv(EnvSQSPort, DefaultSQSPort); err != nil {
			errs = append(errs, err)
		}
	}
	if o.S3Port == 0 {
		if o.S3Port, err = portFromEnv(EnvS3Port, DefaultS3Port); err != nil {
			errs = append(errs, err)
		}
	}
	if o.DynamoDBPort < 0 || o.DynamoDBPort > 65535 {
		errs = append(errs, fmt.Errorf("DynamoDBPort %d is not a TCP port (1-65535)", o.DynamoDBPort))
	}
	if o.SQSPort < 0 || o.SQSPort > 65535 {
		errs = append(errs, fmt.Errorf("SQSPort %d is not a TCP port (1-65535)", o.SQSPort))
	}
	if o.S3Port < 0 || o.S3Port > 65535 {
		errs = append(errs, fmt.Errorf("S3Port %d is not a TCP port (1-65535)", o.S3Port))
	}
	if o.DynamoDBPort == o.SQSPort && o.DynamoDBPort > 0 {
		errs = append(errs, fmt.Errorf("DynamoDB and SQS both set to port %d: give them different ports (%s, %s)",
			o.SQSPort, EnvDynamoDBPort, EnvSQSPort))
	}
	for _, other := range []struct {
		name, env string
		port      int
	}{{"DynamoDB", EnvDynamoDBPort, o.DynamoDBPort}, {"SQS", EnvSQSPort, o.SQSPort}} {
		if o.S3Port == other.port && o.S3Port > 0 {
			errs = append(errs, fmt.Errorf("%s and S3 both set to port %d: give them different ports (%s, %s)",
				other.name, o.S3Port, other.env, EnvS3Port))
		}
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	} else if o.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("StartTimeout %v is negative", o.StartTimeout))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, errors.Join(errs...)
}

// WithDefaults returns o with its defaults and the environment's ports
// filled in, or every invalid setting at once.
func (o Options) WithDefaults() (Options, error) { return o.withDefaults() }

func portFromEnv(name string, def int) (int, error) {
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	p, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a TCP port: set it to a number from 1 to 65535, or unset it to use %d", name, v, def)
	}
	return p, nil
}

// DefaultDir returns the install and state folder: $SCALEOUT_STANDINS_DIR if set; else
// <repo>/localstack/.standins, where <repo> is the nearest folder at or above the working directory
// whose go.mod declares module github.com/scaleout/scaleout; else <user cache dir>/scaleout/standins.
func DefaultDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if goModDeclares(filepath.Join(d, "go.mod"), modulePath) {
				return filepath.Join(d, "localstack", ".standins")
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if c, err := os.UserCacheDir(); err == nil {
		return filepath.Join(c, "scaleout", "standins")
	}
	return filepath.Join(os.TempDir(), "scaleout-standins")
}

func goModDeclares(path, module string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close() //nolint:errcheck // only read
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], "\"`") == module
		}
	}
	return false
}

// Stack is a running set of stand-ins, as found or started by Start.
type Stack struct {
	DynamoDBEndpoint string // e.g. "http://127.0.0.1:8000"
	SQSEndpoint      string // e.g. "http://127.0.0.1:9324"
	// S3Endpoint is the S3 stand-in's, e.g. "http://127.0.0.1:9325", when
	// Start was given an S3Command; else empty.
	S3Endpoint string

	dir     string
	logger  *slog.Logger
	started []string // services this Start launched, in start order

	mu     sync.Mutex
	leases []lease // stand-ins with a pid file that this Stack uses
}

// Started names the services (ServiceDynamoDB, ServiceSQS, ServiceS3) that this Stack's Start launched; the
// others were already running and were reused.
func (s *Stack) Started() []string { return slices.Clone(s.started) }

// Env returns the variables that point the AWS SDK (config.LoadDefaultConfig) at the stack, as "K=V".
func (s *Stack) Env() []string {
	env := []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.DynamoDBEndpoint,
		"AWS_ENDPOINT_URL_DYNAMODB_STREAMS=" + s.DynamoDBEndpoint,
		"AWS_ENDPOINT_URL_SQS=" + s.SQSEndpoint,
	}
	if s.S3Endpoint != "" {
		env = append(env, "AWS_ENDPOINT_URL_S3="+s.S3Endpoint)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID="+AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+SecretAccessKey,
		"AWS_REGION="+Region,
	)
}

// Setenv sets Env's variables in this process, except those already set, so a user's settings win.
func (s *Stack) Setenv() {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
		}
	}
}

// PortInUseError reports a port held by a program that does not answer as the expected stand-in.
type PortInUseError struct {
	Service string // ServiceDynamoDB or ServiceSQS
	Port    int
	EnvVar  string // the variable that picks another port
	Check   error  // why the program is not the stand-in
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d is in use by a program that is not %s (%v): stop that program, or set %s to a free port",
		e.Port, services[e.Service].title, e.Check, e.EnvVar)
}

func (e *PortInUseError) Unwrap() error { return e.Check }

// plan is what Start found, and will do, for one stand-in.
type plan struct {
	svc      *service
	port     int
	endpoint string
	pid      int  // pid from our pid file, when the running process is recorded there
	start    bool // nothing answers: start it
}

// Start makes sure both stand-ins answer and returns the stack. It reuses a stand-in that already
// answers on its port; otherwise it installs the pinned npm packages into o.Dir if needed and starts
// the stand-in as a detached process that outlives the caller. It is safe to call from several
// processes and goroutines at once. See the package documentation.
func Start(ctx context.Context, o Options) (*Stack, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("standins: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("standins: create %s: %w (set %s to a writable folder)", o.Dir, err, EnvDir)
	}
	unlock, err := lockDir(ctx, o.Dir)
	if err != nil {
		return nil, fmt.Errorf("standins: %w", err)
	}
	defer unlock()

	s := &Stack{
		DynamoDBEndpoint: endpoint(o.Host, o.DynamoDBPort),
		SQSEndpoint:      endpoint(o.Host, o.SQSPort),
		dir:              o.Dir,
		logger:           o.Logger,
	}
	plans := []*plan{
		{svc: services[ServiceDynamoDB], port: o.DynamoDBPort, endpoint: s.DynamoDBEndpoint},
		{svc: services[ServiceSQS], port: o.SQSPort, endpoint: s.SQSEndpoint},
	}
	if len(o.S3Command) > 0 {
		s.S3Endpoint = endpoint(o.Host, o.S3Port)
		plans = append(plans, &plan{svc: services[ServiceS3], port: o.S3Port, endpoint: s.S3Endpoint})
	}

	// Look at every port before starting anything, so a taken port fails fast and leaves nothing behind.
	needStart := false
	for _, p := range plans {
		if err := inspect(ctx, o, p); err != nil {
			return nil, fmt.Errorf("standins: %w", err)
		}
		needStart = needStart || (p.start && p.svc.npm)
	}
	if needStart {
		if err := ensureInstalled(ctx, o.Dir, o.Logger); err != nil {
			return nil, fmt.Errorf("standins: %w", err)
		}
	}
	for i, p := range plans {
		if !p.start {
			continue
		}
		pid, err := startService(ctx, o, p)
		if err != nil {
			// Do not leave half a stack behind: stop what this call started.
			for _, q := range plans[:i] {
				if q.start {
					if serr := stopRecorded(o.Dir, q.svc, q.port, q.pid, o.Logger); serr != nil {
						err = errors.Join(err, serr)
					}
				}
			}
			return nil, fmt.Errorf("standins: %w", err)
		}
		p.pid = pid
		s.started = append(s.started, p.svc.name)
	}
	for _, p := range plans {
		if p.pid == 0 {
			continue // not ours to stop, ever: no lease needed
		}
		l, err := writeLease(o.Dir, p.svc.name, p.port, p.pid, p.start)
		if err != nil {
			o.Logger.WarnContext(ctx, "cannot record the use of a stand-in; Stop will not stop it",
				"service", p.svc.name, "port", p.port, "err", err)
			continue
		}
		s.leases = append(s.leases, l)
	}
	return s, nil
}

// inspect decides whether p's stand-in can be reused, must be started, or its port is taken.
func inspect(ctx context.Context, o Options, p *plan) error {
	pidPath := pidFile(o.Dir, p.svc.name, p.port)
	pid, _ := readPid(pidPath)
	if pid > 0 && !processMatches(pid, p.svc, p.port) {
		o.Logger.DebugContext(ctx, "removing stale pid file", "service", p.svc.name, "pid", pid, "file", pidPath)
		_ = os.Remove(pidPath)
		pid = 0
	}
	checkErr := p.svc.check(ctx, p.endpoint, existingCheckTimeout)
	if checkErr == nil {
		if err := sameStorage(o, p, pid); err != nil {
			return err
		}
		p.pid = pid
		o.Logger.InfoContext(ctx, "reusing running stand-in", "service", p.svc.name, "endpoint", p.endpoint, "pid", pid)
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("checking %s on port %d: %w", p.svc.title, p.port, ctx.Err())
	}
	if pid > 0 {
		// Ours by its pid file, but it does not answer: hung, or half-started by a process that was killed.
		o.Logger.WarnContext(ctx, "recorded stand-in does not answer; restarting it",
			"service", p.svc.name, "pid", pid, "err", checkErr)
		if err := terminate(pid); err != nil {
			return fmt.Errorf("%s (pid %d, port %d) does not answer and could not be stopped: %w", p.svc.title, pid, p.port, err)
		}
		_ = os.Remove(pidPath)
		removeLeases(o.Dir, p.svc.name, p.port)
	}
	if err := portFree(ctx, p.port, pid > 0); err != nil {
		return &PortInUseError{Service: p.svc.name, Port: p.port, EnvVar: p.svc.portEnv, Check: checkErr}
	}
	p.start = true
	return nil
}

func endpoint(host string, port int) string {
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// portFree reports an error if the port cannot be bound on all interfaces, as the stand-ins will bind
// it. After stopping a stand-in (wait), it gives the kernel a moment to release the port.
func portFree(ctx context.Context, port int, wait bool) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := new(net.ListenConfig).Listen(ctx, "tcp", ":"+strconv.Itoa(port))
		if err == nil {
			return ln.Close()
		}
		if !wait || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(pollEvery)
	}
}

// Stop stops the stand-ins that this Stack's Start launched (SIGTERM to the process group, SIGKILL
// after a few seconds) and removes their pid files. A stand-in that another live Stack still uses is
// left running and handed over to that Stack, whose Stop then stops it. Stop never stops a stand-in
// that was already running before Start. Calling Stop again does nothing.
func (s *Stack) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.leases) == 0 {
		return nil
	}
	unlock, err := lockDir(context.Background(), s.dir)
	if err != nil {
		return fmt.Errorf("standins: stop: %w", err)
	}
	defer unlock()
	var errs []error
	for _, l := range s.leases {
		if err := release(s.dir, l, s.logger); err != nil {
			errs = append(errs, err)
		}
	}
	s.leases = nil
	return errors.Join(errs...)
}

// StopAll stops every stand-in recorded by a pid file in dir, whoever started it, and removes the
// pid files and leases. It is `scaleout standins down --all`. An empty dir means DefaultDir().
func StopAll(dir string, logger *slog.Logger) error {
	return stopRecordedIn(dir, logger, func(string, int) bool { return true })
}

// StopPorts stops the stand-ins recorded in o.Dir on o's ports (defaults and environment applied), whoever
// started them, and leaves stand-ins on other ports running. It is `scaleout standins down`, so that the
// test suite's stand-ins (on their own ports) can be stopped without stopping those of `scaleout dev`.
func StopPorts(o Options) error {
	o, err := o.withDefaults()
	if err != nil {
		return fmt.Errorf("standins: %w", err)
	}
	ports := map[string]int{ServiceDynamoDB: o.DynamoDBPort, ServiceSQS: o.SQSPort, ServiceS3: o.S3Port}
	return stopRecordedIn(o.Dir, o.Logger, func(name string, port int) bool { return ports[name] == port })
}

func stopRecordedIn(dir string, logger *slog.Logger, match func(name string, port int) bool) error {
	if dir == "" {
		dir = DefaultDir()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockDir(context.Background(), dir)
	if err != nil {
		return fmt.Errorf("standins: stop all: %w", err)
	}
	defer unlock()
	paths, err := filepath.Glob(filepath.Join(dir, "*.pid"))
	if err != nil {
		return fmt.Errorf("standins: stop all: %w", err)
	}
	var errs []error
	for _, path := range paths {
		name, port, ok := parsePidFileName(filepath.Base(path))
		if !ok || !match(name, port) {
			continue
		}
		svc := services[name]
		pid, _ := readPid(path)
		if pid > 0 && processMatches(pid, svc, port) {
			logger.Info("stopping stand-in", "service", name, "port", port, "pid", pid)
			if err := terminate(pid); err != nil {
				errs = append(errs, fmt.Errorf("standins: stop %s (pid %d, port %d): %w", svc.title, pid, port, err))
				continue
			}
		}
		_ = os.Remove(path)
		removeLeases(dir, name, port)
	}
	return errors.Join(errs...)
}

// sameStorage refuses to reuse a DynamoDB Local that keeps its tables
// elsewhere than o.DataDir (in memory, or another directory): the caller
// would silently not get the data it asked for.
func sameStorage(o Options, p *plan, pid int) error {
	if p.svc.name != ServiceDynamoDB || pid <= 0 {
		return nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil // no procfs: trust it
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	i := slices.Index(args, "-dbPath")
	has := ""
	if i >= 0 && i+1 < len(args) {
		has = args[i+1]
	}
	if has == o.DataDir {
		return nil
	}
	want, got := "in memory", "in memory"
	if o.DataDir != "" {
		want = "in " + o.DataDir
	}
	if has != "" {
		got = "in " + has
	}
	return fmt.Errorf("DynamoDB Local on port %d keeps its tables %s, not %s as asked: stop it first (scaleout standins down, "+
		"with the same SCALEOUT_DYNAMODB_PORT) or use another port", p.port, got, want)
}
