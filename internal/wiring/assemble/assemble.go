package assemble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/scaleout/scaleout/internal/api"
	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/queue"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/aws/secrets"
	"github.com/scaleout/scaleout/internal/catalog"
	"github.com/scaleout/scaleout/internal/executions/execstore"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/executions/reconcile"
	"github.com/scaleout/scaleout/internal/packages/pkgrun"
	"github.com/scaleout/scaleout/internal/packages/scratch"
	"github.com/scaleout/scaleout/internal/packages/task"
	"github.com/scaleout/scaleout/internal/packages/tasktypes"
	"github.com/scaleout/scaleout/internal/stream/aggregate"
	"github.com/scaleout/scaleout/internal/stream/notify"
	"github.com/scaleout/scaleout/internal/wiring/config"
	"github.com/scaleout/scaleout/internal/worker"
	"github.com/scaleout/scaleout/internal/worker/projectfiles"
	"github.com/scaleout/scaleout/internal/worker/registry"
	"github.com/scaleout/scaleout/internal/worker/scalein"
	"github.com/scaleout/scaleout/internal/worker/workerid"
)

// Load reads the configuration through getenv and builds the AWS clients:
// the first step of every main.
func Load(ctx context.Context, getenv func(string) string) (config.Config, *awsconfig.Clients, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return cfg, nil, err
	}
	clients, err := awsconfig.Load(ctx)
	return cfg, clients, err
}

// Sealer builds what seals sensitive environment values: KMS when
// SCALEOUT_KMS_KEY_ID is set, else AES-GCM with SCALEOUT_SECRET_KEY.
func Sealer(cfg config.Config, c *awsconfig.Clients) (secrets.Sealer, error) {
	if cfg.KMSKeyID != "" {
		return secrets.NewKMSSealer(kms.NewFromConfig(c.Config), cfg.KMSKeyID)
	}
	if cfg.SecretKey == "" {
		return nil, fmt.Errorf("no key for sensitive values: set SCALEOUT_SECRET_KEY (32 bytes as hex or base64, e.g. from `openssl rand -hex 32`) or SCALEOUT_KMS_KEY_ID")
	}
	key, err := secrets.LocalKeyFromString(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("SCALEOUT_SECRET_KEY: %w", err)
	}
	return secrets.NewLocalSealer(key)
}

// API builds the HTTP API server. It looks up each pool's queue once.
func API(ctx context.Context, cfg config.Config, c *awsconfig.Clients, log *slog.Logger) (*api.Server, error) {
	set := cfg.Resources()
	authn, err := cfg.Authenticator()
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	queues := map[string]api.Enqueuer{}
	for pool, def := range set.Pools {
		q, err := queue.Lookup(ctx, c.SQS, def.Name)
		if err != nil {
			return nil, err
		}
		queues[pool] = q
	}
	sealer, err := Sealer(cfg, c)
	if err != nil {
		return nil, err
	}
	types := tasktypes.NewRegistry()
	cat, err := catalog.New(catalog.Config{DB: c.DynamoDB, Table: set.Catalog.Name, Types: types, Sealer: sealer, Logger: log})
	if err != nil {
		return nil, err
	}
	store := execstore.New(c.DynamoDB, set.Executions.Name, set.Catalog.Name)
	store.Sealer = sealer
	lostRetries := cfg.LostRetries
	return api.New(api.Deps{
		LostRetries: &lostRetries,
		Catalog:     cat,
		Store:       store,
		Workers:     Workers(cfg, c),
		Messages:    messages.NewStore(c.DynamoDB, set.Catalog.Name),
		Types:       types,
		Queues:      queues,
		Stats:       aggregate.NewStore(c.DynamoDB, set.Catalog.Name),
		Auth:        authn,
		Logger:      log,
	})
}

// Worker builds a worker that serves cfg.WorkerPool.
func Worker(ctx context.Context, cfg config.Config, c *awsconfig.Clients, log *slog.Logger) (*worker.Worker, error) {
	set := cfg.Resources()
	def, ok := set.Pools[cfg.WorkerPool]
	if !ok {
		return nil, fmt.Errorf("worker pool %q is not one of SCALEOUT_POOLS %v", cfg.WorkerPool, cfg.Pools)
	}
	q, err := queue.Lookup(ctx, c.SQS, def.Name)
	if err != nil {
		return nil, err
	}
	iso, err := Isolation(cfg, log)
	if err != nil {
		return nil, err
	}
	runner := pkgrun.Runner{
		Types:      tasktypes.NewRegistryWith(iso),
		Messages:   messages.NewStore(c.DynamoDB, set.Catalog.Name),
		Logger:     log,
		FlushEvery: cfg.MessageFlush,
		Scratch:    scratch.Options{Root: cfg.ScratchDir},
	}
	if iso.RunAs != nil {
		// Programs run as the task user write in their scratch directory.
		runner.Scratch.Owner = &scratch.Owner{UID: int(iso.RunAs.UID), GID: int(iso.RunAs.GID)}
	}
	if cfg.KMSKeyID != "" || cfg.SecretKey != "" {
		// The key that opens sensitive parameters the API sealed.
		sealer, err := Sealer(cfg, c)
		if err != nil {
			return nil, err
		}
		runner.Sealer = sealer
	} else if log != nil {
		log.Warn("no SCALEOUT_KMS_KEY_ID or SCALEOUT_SECRET_KEY: executions with sensitive parameters will fail on this worker")
	}
	files, err := ProjectFiles(cfg, c, runner.Types, runner.Sealer, log)
	if err != nil {
		return nil, err
	}
	runner.Files = files
	id, err := workerid.Detect(ctx, workerid.Options{
		ID: cfg.WorkerID, From: cfg.WorkerIDFrom, ECSMetadataURI: cfg.ECSMetadataURI, IMDSEndpoint: cfg.IMDSEndpoint,
	})
	if err != nil {
		return nil, err
	}
	if log != nil {
		log.Info("worker named", "worker_id", id.ID, "from", id.Source)
	}
	minFree := int64(cfg.MinMemoryMB) << 20
	if minFree == 0 {
		minFree = -1 // no floor
	}
	protector, err := Protector(ctx, cfg, c)
	if err != nil {
		return nil, err
	}
	return worker.New(execstore.New(c.DynamoDB, set.Executions.Name, set.Catalog.Name), q, runner, worker.Config{
		ID:              id.ID,
		Concurrency:     cfg.WorkerConcurrency,
		Lease:           cfg.Lease,
		PollWait:        cfg.PollWait,
		Logger:          log,
		Registry:        Workers(cfg, c),
		Pools:           []string{cfg.WorkerPool},
		Tags:            cfg.WorkerTags,
		Version:         Version(),
		Sampler:         registry.NewProcSampler(id.CPULimit),
		MaxCPU:          cfg.MaxCPU,
		MinFreeMemory:   minFree,
		Grace:           cfg.Grace,
		RetryBackoff:    cfg.RetryBackoff,
		RetryBackoffMax: cfg.RetryBackoffMax,
		MaxReceives:     def.MaxReceiveCount,
		Protector:       protector,
	})
}

// ProjectFiles is the worker's cache of deployed project versions' files,
// read from the catalog table (GetItem on its project and version items)
// and kept under SCALEOUT_SCRATCH_DIR/project-files (default
// projectfiles.DefaultRoot()), so that each run's scratch directory holds
// the files of the version it runs. sealer may be nil: reading files opens
// nothing sealed.
func ProjectFiles(cfg config.Config, c *awsconfig.Clients, types *task.Registry, sealer secrets.Sealer, log *slog.Logger) (*projectfiles.Cache, error) {
	if sealer == nil {
		sealer = noSealer{}
	}
	cat, err := catalog.New(catalog.Config{DB: c.DynamoDB, Table: cfg.Resources().Catalog.Name, Types: types, Sealer: sealer, Logger: log})
	if err != nil {
		return nil, err
	}
	o := projectfiles.Options{Logger: log}
	if cfg.ScratchDir != "" {
		o.Root = filepath.Join(cfg.ScratchDir, "project-files")
	}
	return projectfiles.New(cat, o)
}

// noSealer is the catalog's sealer on a worker with no key: the worker
// reads project files only, which are not sealed.
type noSealer struct{}

var errNoKey = errors.New("this worker has no key for sensitive values (SCALEOUT_SECRET_KEY or SCALEOUT_KMS_KEY_ID)")

func (noSealer) Seal(context.Context, []byte, map[string]string) (string, error) { return "", errNoKey }
func (noSealer) Open(context.Context, string, map[string]string) ([]byte, error) {
	return nil, errNoKey
}

// Isolation is how a worker keeps packages from its identity
// (SCALEOUT_TASK_NETWORK, SCALEOUT_TASK_USER). A task user the worker
// cannot switch to stops it at start, rather than failing every exec task
// or running them as the worker; a worker running as root without one is
// warned about.
func Isolation(cfg config.Config, log *slog.Logger) (tasktypes.Isolation, error) {
	iso := tasktypes.Isolation{HTTP: tasktypes.HTTPOptions{Network: cfg.TaskNetwork}}
	if cfg.TaskUser == "" {
		if os.Geteuid() == 0 && log != nil {
			log.Warn("exec tasks run as root, this worker's user, and can read its environment: set SCALEOUT_TASK_USER to a user of their own")
		}
		return iso, nil
	}
	r, err := tasktypes.LookupRunAs(cfg.TaskUser)
	if err == nil {
		err = r.Check()
	}
	if err != nil {
		return iso, fmt.Errorf("SCALEOUT_TASK_USER: %w", err)
	}
	iso.RunAs = r
	return iso, nil
}

// Protector is what keeps a worker out of its pool's scale-in while it runs
// executions: the ECS agent's task protection on ECS (ECS_AGENT_URI), the
// instance's protection in its Auto Scaling group on EC2
// (SCALEOUT_AUTOSCALING_GROUP, the instance id from the instance metadata
// service), or nil elsewhere (scaleout dev: nothing scales in).
func Protector(ctx context.Context, cfg config.Config, c *awsconfig.Clients) (worker.Protector, error) {
	switch {
	case cfg.ECSAgentURI != "":
		return scalein.ECSAgent{URI: cfg.ECSAgentURI}, nil
	case cfg.AutoScalingGroup != "":
		out, err := imds.NewFromConfig(c.Config).GetMetadata(ctx, &imds.GetMetadataInput{Path: "instance-id"})
		if err != nil {
			return nil, fmt.Errorf("SCALEOUT_AUTOSCALING_GROUP=%s: read the instance id from the instance metadata service: %w", cfg.AutoScalingGroup, err)
		}
		defer out.Content.Close()
		id, err := io.ReadAll(io.LimitReader(out.Content, 256))
		if err != nil {
			return nil, fmt.Errorf("SCALEOUT_AUTOSCALING_GROUP=%s: read the instance id: %w", cfg.AutoScalingGroup, err)
		}
		return scalein.Instance{Client: autoscaling.NewFromConfig(c.Config), Group: cfg.AutoScalingGroup,
			InstanceID: strings.TrimSpace(string(id))}, nil
	}
	return nil, nil
}

// Reconciler builds the reconciler of every configured pool. It looks up
// each pool's queue once.
func Reconciler(ctx context.Context, cfg config.Config, c *awsconfig.Clients, log *slog.Logger) (*reconcile.Reconciler, error) {
	set := cfg.Resources()
	queues := map[string]reconcile.Enqueuer{}
	for pool, def := range set.Pools {
		q, err := queue.Lookup(ctx, c.SQS, def.Name)
		if err != nil {
			return nil, err
		}
		queues[pool] = q
	}
	store := execstore.New(c.DynamoDB, set.Executions.Name, set.Catalog.Name)
	store.SessionCacheFor = 5 * time.Second // one session read per worker and pass
	return reconcile.New(store, queues, reconcile.Config{
		PendingAfter: cfg.PendingAfter,
		LostAfter:    cfg.LostAfter,
		Logger:       log,
	})
}

// Workers is the worker registry (for the worker and the API).
func Workers(cfg config.Config, c *awsconfig.Clients) *registry.Store {
	s := registry.NewStore(c.DynamoDB, cfg.Resources().Catalog.Name)
	return s
}

// version is stamped at build time by the Makefile and the Dockerfile:
// -ldflags '-X github.com/scaleout/scaleout/internal/wiring/assemble.version=<v>'.
// The image is built from a context without .git, where Go's VCS stamping
// has nothing to read.
var version string

// Version is the build's version: the one stamped at build time, else the
// module version, else the VCS revision, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// StreamHandler builds the stream function's handler. It puts an
// "Execution Ended" event on SCALEOUT_EVENT_BUS when that is set, and
// enqueues a delivery on the webhook queue for every execution that ends
// with a callback URL (SCALEOUT_WEBHOOK_QUEUE_URL, else the queue looked
// up by name); the webhook sender (WebhookSender) delivers them.
func StreamHandler(ctx context.Context, cfg config.Config, c *awsconfig.Clients, log *slog.Logger, opts ...aggregate.Option) (aggregate.Handler, error) {
	set := cfg.Resources()
	h := aggregate.Handler{Store: aggregate.NewStore(c.DynamoDB, set.Catalog.Name, opts...), Logger: log}
	if cfg.EventBus != "" {
		bus, err := notify.NewBus(c.EventBridge, cfg.EventBus, notify.WithBusLogger(log))
		if err != nil {
			return h, err
		}
		h.Events = bus
	}
	url, err := webhookQueueURL(ctx, cfg, c)
	if err != nil {
		return h, err
	}
	q, err := notify.NewQueue(c.SQS, url, log)
	if err != nil {
		return h, err
	}
	h.Webhooks = q
	return h, nil
}

// webhookQueueURL is SCALEOUT_WEBHOOK_QUEUE_URL, or the webhook queue's
// URL looked up by its name.
func webhookQueueURL(ctx context.Context, cfg config.Config, c *awsconfig.Clients) (string, error) {
	if cfg.WebhookQueueURL != "" {
		return cfg.WebhookQueueURL, nil
	}
	q, err := queue.Lookup(ctx, c.SQS, cfg.Resources().Webhooks.Name)
	if err != nil {
		return "", err
	}
	return q.URL(), nil
}

// WebhookSender builds the webhook sender: it delivers the webhook queue's
// messages, signed with SCALEOUT_WEBHOOK_SECRET or the Secrets Manager
// secret SCALEOUT_WEBHOOK_SECRET_ARN names, one try per receive, and
// leaves the retries to the queue (see notify.Sender).
func WebhookSender(ctx context.Context, cfg config.Config, c *awsconfig.Clients, log *slog.Logger) (*notify.Sender, error) {
	secret, err := WebhookSecret(ctx, cfg, c, log)
	if err != nil {
		return nil, err
	}
	n, err := notify.New(notify.Config{
		Secret:       []byte(cfg.WebhookSecret),
		SecretSource: secret,
		AllowPrivate: cfg.WebhookAllowPrivate,
		Deliveries:   notify.NewDynamoStore(c.DynamoDB, cfg.Resources().Catalog.Name),
		Tries:        1,
		Timeout:      resources.WebhookRequestTimeout,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	url, err := webhookQueueURL(ctx, cfg, c)
	if err != nil {
		return nil, err
	}
	return notify.NewSender(notify.SenderConfig{
		Notifier:    n,
		SQS:         c.SQS,
		QueueURL:    url,
		RetryBase:   resources.WebhookRetryBase,
		RetryMax:    resources.WebhookRetryMax,
		MaxReceives: cfg.Resources().Webhooks.MaxReceiveCount,
		Logger:      log,
	})
}

// WebhookSecret is the source of the webhook signing secret when
// SCALEOUT_WEBHOOK_SECRET_ARN names a Secrets Manager secret (nil without
// it: SCALEOUT_WEBHOOK_SECRET, if set, is used as it is). The secret is
// read now: one that cannot be read stops the function (its records wait,
// as for any failure) rather than dropping webhooks. Then it is read again
// every notify.DefaultSecretTTL, so a rotation is used within five minutes
// without a restart; a failed read keeps the secret read before.
func WebhookSecret(ctx context.Context, cfg config.Config, c *awsconfig.Clients, log *slog.Logger) (notify.SecretSource, error) {
	if cfg.WebhookSecretARN == "" {
		return nil, nil
	}
	src := &notify.CachedSecret{
		Fetch:  notify.SecretsManagerSecret(secretsmanager.NewFromConfig(c.Config), cfg.WebhookSecretARN),
		Logger: log,
	}
	if _, err := src.Secret(ctx); err != nil {
		return nil, fmt.Errorf("%w (SCALEOUT_WEBHOOK_SECRET_ARN)", err)
	}
	return src, nil
}
