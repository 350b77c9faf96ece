# AWS CDK targets: synthesize and deploy the stack in infra/ (package
# infra/stack). Included from the Makefile; `make help` lists the targets.
#
# Settings (make variables, passed to the app as CDK context):
#   STAGE      installation name, default dev: stack and prefix scaleout-$(STAGE)
#   POOLS      worker pools, comma separated, default "default"; a pool's
#              dead-letter queue is <prefix>-pool-<pool>-dlq, which SQS
#              limits to 80 characters: prefix and pool name together at
#              most 70 (scaleout-dev leaves 58 for the pool name)
#   IAM_ROLES  who may call the API: "arn=role,..." with role admin, executor
#              or reader. A role's ARN (arn:aws:iam::<account>:role/<name>,
#              with or without its path) admits every session of the role
#              (callers arrive as arn:aws:sts::<account>:assumed-role/<name>/
#              <session>); users by their ARN; an ARN may end in '*' to match
#              a prefix (role/etl-* matches role names, not paths). Required
#              for deploy; synth uses a placeholder ARN when it is empty.
# The worker service of each pool (ECS Fargate, arm64). Each takes one
# number for every pool ("1024") or per pool ("default=1024,etl=2048");
# unset, the default (or cdk.json's context) applies:
#   WORKER_CPU          a task's CPU units: 256, 512 (default), 1024, ... 16384
#   WORKER_MEMORY       a task's memory in MiB (default 1024), a size Fargate
#                       offers for the CPU (512 CPU: 1024-4096; 1024: 2048-8192)
#   WORKER_CONCURRENCY  executions a task runs at once (default 4); also the
#                       backlog per task the service scales to
#   MIN_TASKS           fewest tasks (default 0: an idle pool costs nothing;
#                       the first message starts a task within a few minutes)
#   MAX_TASKS           most tasks (default 4, at most 100)
#   WORKER_PLATFORM     fargate (default) or ec2: an Auto Scaling group of
#                       Graviton instances, the worker under systemd; per pool
#                       like the numbers ("etl=ec2"). MIN_TASKS, MAX_TASKS
#                       then count instances
#   INSTANCE_TYPE       an EC2 pool's instance type (default t4g.small)
#   WORKER_IMAGE        a pool's worker image: stock (default: the Dockerfile
#                       at the repository root), dir:<folder> (a folder with
#                       a Dockerfile, built by deploy; examples/images) or
#                       uri:<image> (pushed to ECR, or public); per pool
#                       ("etl=dir:examples/images/dbt"). An EC2 pool with
#                       one runs it with Docker (README "Worker images")
# And for the whole installation:
#   API_AUTH            iam (default: SigV4) or jwt: a JWT authorizer; then
#   JWT_ISSUER          the issuer's https URL (Cognito: https://cognito-idp.
#                       <region>.amazonaws.com/<user pool id>)
#   JWT_AUDIENCE        accepted audiences (app client ids), comma separated
#   JWT_ROLE_CLAIM      the claim holding groups or scopes (default
#                       cognito:groups)
#   JWT_ROLES           "group=role,...": what the claim's values map to; a
#                       value named admin, executor or reader needs no entry
#   ALARM_EMAIL         an address subscribed to the alarm topic (confirm the
#                       e-mail SNS sends); default none
#   LOG_RETENTION_DAYS  retention of every log group (default 30; one of 1, 3,
#                       5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)
#   VERSION             the version binaries and the worker image report
#                       (default: the sources' last commit; see the Makefile)
#   NAT_GATEWAYS        1 (default): the workers reach the internet (http
#                       tasks) through one NAT gateway, about $33 a month plus
#                       $0.045/GB; 2: one in each of the two AZs (about $66 a
#                       month), so that one AZ's outage leaves the other's
#                       workers their internet; 0: isolated subnets with a VPC
#                       endpoint for every API the workers call (SQS, KMS;
#                       Fargate: ECR API and Docker, CloudWatch Logs, ECS; EC2:
#                       Auto Scaling; about $7.30 a month each per AZ, $88 for
#                       a Fargate pool in two AZs) and no internet at all
#   API_THROTTLE_RATE   the API's steady limit, requests a second for all
#                       callers together (default 1000); above it 429
#   API_THROTTLE_BURST  the API's burst limit, requests (default 2000)
#   API_CONCURRENCY     the API function's reserved concurrency (default 100):
#                       its most instances, kept from the account's pool so
#                       that an API burst cannot starve the stream function.
#                       The account must keep 100 unreserved: with a lower
#                       Lambda quota (new accounts), ask for more or give 0
#                       (reserve none)
#   TABLE_DELETION_PROTECTION  true (default) or false: the tables' deletion
#                       protection (README "Deploying to AWS": kept tables)
# Example: make deploy STAGE=prod POOLS=default,etl \
#            IAM_ROLES='arn:aws:sts::123456789012:assumed-role/ops/*=admin' \
#            WORKER_CPU=etl=1024 WORKER_MEMORY=etl=4096 MAX_TASKS=etl=10 \
#            ALARM_EMAIL=ops@example.com
# deploy builds the worker image from the Dockerfile at the repository root:
# it needs Docker (with arm64 emulation on an x86-64 host, or buildx). synth
# only hashes the sources and needs no Docker.

GO ?= go
STAGE ?= dev
POOLS ?= default
IAM_ROLES ?=
SYNTH_IAM_ROLES := $(or $(IAM_ROLES),arn:aws:iam::000000000000:role/scaleout-placeholder=reader)

# The CDK CLI is pinned by infra/cdk-cli/package-lock.json and installed
# under build/_cdk-cli: outside infra/, so that gofmt and the go tool never
# walk its node_modules (which ship Go templates).
CDK_CLI_DIR := build/_cdk-cli
CDK := $(CDK_CLI_DIR)/node_modules/.bin/cdk
CDKLOCAL := $(CDK_CLI_DIR)/node_modules/.bin/cdklocal
# Offline and quiet: no version check, notices, telemetry or Node banner.
CDK_ENV := CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true \
  JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
WORKER_CPU ?=
WORKER_MEMORY ?=
WORKER_CONCURRENCY ?=
MIN_TASKS ?=
MAX_TASKS ?=
ALARM_EMAIL ?=
LOG_RETENTION_DAYS ?=
NAT_GATEWAYS ?=
WORKER_PLATFORM ?=
INSTANCE_TYPE ?=
WORKER_IMAGE ?=
API_AUTH ?=
JWT_ISSUER ?=
JWT_AUDIENCE ?=
JWT_ROLE_CLAIM ?=
JWT_ROLES ?=
API_THROTTLE_RATE ?=
API_THROTTLE_BURST ?=
API_CONCURRENCY ?=
TABLE_DELETION_PROTECTION ?=
# Each optional setting becomes -c key=value only when it is set.
ctx = $(if $(strip $(2)),-c $(1)='$(strip $(2))')
CDK_CONTEXT = --app bin/infra -c stage=$(STAGE) -c pools=$(POOLS) -c buildDir=build -c sourceDir=. \
  $(call ctx,workerCpu,$(WORKER_CPU)) $(call ctx,workerMemory,$(WORKER_MEMORY)) \
  $(call ctx,workerConcurrency,$(WORKER_CONCURRENCY)) $(call ctx,minTasks,$(MIN_TASKS)) \
  $(call ctx,maxTasks,$(MAX_TASKS)) $(call ctx,alarmEmail,$(ALARM_EMAIL)) \
  $(call ctx,logRetentionDays,$(LOG_RETENTION_DAYS)) $(call ctx,natGateways,$(NAT_GATEWAYS)) \
  $(call ctx,workerPlatform,$(WORKER_PLATFORM)) $(call ctx,instanceType,$(INSTANCE_TYPE)) \
  $(call ctx,workerImage,$(WORKER_IMAGE)) \
  $(call ctx,apiAuth,$(API_AUTH)) $(call ctx,jwtIssuer,$(JWT_ISSUER)) $(call ctx,jwtAudience,$(JWT_AUDIENCE)) \
  $(call ctx,jwtRoleClaim,$(JWT_ROLE_CLAIM)) $(call ctx,jwtRoles,$(JWT_ROLES)) \
  $(call ctx,apiThrottleRate,$(API_THROTTLE_RATE)) $(call ctx,apiThrottleBurst,$(API_THROTTLE_BURST)) \
  $(call ctx,apiConcurrency,$(API_CONCURRENCY)) $(call ctx,tableDeletionProtection,$(TABLE_DELETION_PROTECTION)) \
  $(call ctx,version,$(VERSION))
FAKE_ENV := CDK_DEFAULT_ACCOUNT=000000000000 CDK_DEFAULT_REGION=us-east-1

# bin/infra is linked once (about 120 MB) and reused by every cdk command.
INFRA_SOURCES := $(shell find infra internal scaleouttype -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum
bin/infra: $(INFRA_SOURCES)
	$(GO) build -o $@ ./infra
	@touch $@

# The Lambda assets come from the Makefile's build target. go build leaves
# an unchanged binary's time alone: touch them so make sees them as new.
LAMBDA_SOURCES := $(shell find functions cmd/scaleout-worker internal scaleouttype -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum
build/api/bootstrap build/stream/bootstrap build/reconciler/bootstrap build/webhooks/bootstrap &: $(LAMBDA_SOURCES)
	$(MAKE) build
	@touch build/api/bootstrap build/stream/bootstrap build/reconciler/bootstrap build/webhooks/bootstrap

$(CDK): infra/cdk-cli/package.json infra/cdk-cli/package-lock.json
	@mkdir -p $(CDK_CLI_DIR)
	cp infra/cdk-cli/package.json infra/cdk-cli/package-lock.json $(CDK_CLI_DIR)/
	cd $(CDK_CLI_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

CDK_INPUTS := bin/infra $(CDK) build/api/bootstrap build/stream/bootstrap build/reconciler/bootstrap build/webhooks/bootstrap

# EC2 pools install the worker binary from an S3 asset.
build/worker-linux-arm64/worker: $(LAMBDA_SOURCES)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(GO_LDFLAGS)' -o $@ ./cmd/scaleout-worker
	@touch $@
ifneq ($(findstring ec2,$(WORKER_PLATFORM)),)
CDK_INPUTS += build/worker-linux-arm64/worker
endif

.PHONY: synth
synth: $(CDK_INPUTS) ## Synthesize the CDK stack into cdk.out, offline (fake account 000000000000, us-east-1)
	rm -rf cdk.out
	$(FAKE_ENV) $(CDK_ENV) $(CDK) synth --no-notices --quiet $(CDK_CONTEXT) -c iamRoles='$(SYNTH_IAM_ROLES)'
	@echo "synthesized cdk.out/Scaleout.template.json"

# A first deploy to an account and region needs `$(CDK) bootstrap` there once.
.PHONY: deploy
deploy: $(CDK_INPUTS) ## Deploy the stack to AWS with your credentials (needs IAM_ROLES, or API_AUTH=jwt; STAGE and POOLS optional)
	@if [ -z '$(IAM_ROLES)' ] && [ '$(API_AUTH)' != jwt ]; then echo "deploy: set IAM_ROLES='arn:aws:iam::<account>:role/<name>=admin,...' (who may call the API), or API_AUTH=jwt with JWT_ISSUER and JWT_AUDIENCE"; exit 1; fi
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(CDK) deploy $(CDK_CONTEXT) -c iamRoles='$(IAM_ROLES)'

# destroy deletes the stack. The tables (RETAIN_ON_UPDATE_OR_DELETE, with
# deletion protection) and the secrets key are retained: delete them by hand
# if the data may go, or adopt the tables into the next stack with
# import-tables. Log groups, queues, the VPC and the services go with the
# stack.
.PHONY: destroy
destroy: $(CDK_INPUTS) ## Delete the deployed stack (cdk destroy; the tables and the secrets key are kept)
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(CDK) destroy $(CDK_CONTEXT) -c iamRoles='$(SYNTH_IAM_ROLES)'

# import-tables adopts the tables a deleted stack kept (or a first create
# whose rollback could not delete them) into a new stack scaleout-$(STAGE):
# cdk import creates the stack with the two tables only, by the logical IDs
# of the template (checked by the stack tests); `make deploy` then adds the
# rest. The same settings as deploy.
PREFIX := scaleout-$(STAGE)
IMPORT_TABLES := {"Executions6708FA0B":{"TableName":"$(PREFIX)-executions"},"Catalog742F25FD":{"TableName":"$(PREFIX)-catalog"}}

.PHONY: import-tables
import-tables: $(CDK_INPUTS) ## Adopt the kept executions and catalog tables into a new stack (cdk import); then make deploy
	@if [ -z '$(IAM_ROLES)' ] && [ '$(API_AUTH)' != jwt ]; then echo "import-tables: set IAM_ROLES (or API_AUTH=jwt) as for deploy"; exit 1; fi
	@mkdir -p build
	echo '$(IMPORT_TABLES)' > build/import-tables.json
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(CDK) import $(CDK_CONTEXT) -c iamRoles='$(IAM_ROLES)' \
	  --resource-mapping build/import-tables.json

# deploy-local needs LocalStack (Docker; not available on the project's own
# machines, so this target is untested there) listening on localhost:4566,
# started with LOCALSTACK_AUTH_TOKEN if its image asks for one. cdklocal
# points the CDK CLI at it, bootstraps the fake account and deploys. The
# functions are arm64: on an x86-64 Linux host Docker needs arm64 emulation
# (binfmt/QEMU; Docker Desktop has it). Without IAM_ROLES the API admits
# LocalStack's default caller (arn:aws:iam::000000000000:root) as admin.
# Then point the SDK and the scaleout CLI at it with
# AWS_ENDPOINT_URL=http://localhost:4566 SCALEOUT_PREFIX=scaleout-$(STAGE).
# The worker services need LocalStack's ECS (not in every plan): by default
# deploy-local leaves them out (LOCAL_WORKERS=false) and you run workers as
# processes: AWS_ENDPOINT_URL=http://localhost:4566 SCALEOUT_PREFIX=... bin/worker.
# LOCAL_WORKERS=true deploys them too (the image is built with Docker).
LOCAL_ENV := $(FAKE_ENV) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 $(CDK_ENV)
LOCAL_IAM_ROLES := $(or $(IAM_ROLES),arn:aws:iam::000000000000:root=admin)
LOCAL_WORKERS ?= false

.PHONY: deploy-local
deploy-local: $(CDK_INPUTS) ## Deploy the stack to LocalStack on localhost:4566 with cdklocal (needs Docker)
	$(LOCAL_ENV) $(CDKLOCAL) bootstrap --no-notices $(CDK_CONTEXT) -c workers=$(LOCAL_WORKERS) -c iamRoles='$(LOCAL_IAM_ROLES)'
	$(LOCAL_ENV) $(CDKLOCAL) deploy --no-notices --require-approval never $(CDK_CONTEXT) -c workers=$(LOCAL_WORKERS) -c iamRoles='$(LOCAL_IAM_ROLES)'
