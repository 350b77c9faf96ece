# Scaleout: run SSIS-style package executions at scale on AWS.
# `make help` lists every target.

SHELL := /bin/bash
GO ?= go
# The test suite runs its own stand-ins on these ports, so that it never
# touches the ones `make run` uses (8000 and 9324).
TEST_PORTS := SCALEOUT_DYNAMODB_PORT=8100 SCALEOUT_SQS_PORT=9424
LAMBDA_FLAGS := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
FUNCTIONS := api stream reconciler webhooks
# The version the binaries and the worker image report (internal/wiring/assemble.Version):
# the last commit of the sources they are built from (functions/, cmd/, internal/, scaleouttype/, go.mod,
# go.sum), with -dirty when those have uncommitted changes; empty outside a git
# checkout. Only those sources: a commit to the docs changes no image, so a
# deploy does not roll the workers for it.
VERSION_SOURCES := functions cmd internal scaleouttype go.mod go.sum
ifeq ($(origin VERSION),undefined)
VERSION := $(shell v=$$(git log -1 --format=%h -- $(VERSION_SOURCES) 2>/dev/null) && [ -n "$$v" ] && \
  { git diff --quiet HEAD -- $(VERSION_SOURCES) || v=$$v-dirty; echo $$v; })
endif
VERSION_VAR := github.com/scaleout/scaleout/internal/wiring/assemble.version
GO_LDFLAGS = -s -w -X $(VERSION_VAR)=$(VERSION)

.DEFAULT_GOAL := help

include infra.mk

.PHONY: help
help: ## List every target with what it does
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'

.PHONY: run
run: ## Run all of Scaleout locally on the stand-ins: API on 127.0.0.1:8080, a worker, the stream poller (data in ~/.local/share/scaleout)
	@$(GO) build -o bin/scaleout ./cmd/scaleout
	@# The binary itself, not `go run`: go run exits 1 on Ctrl-C whatever the program does.
	bin/scaleout dev

.PHONY: test
test: browser-deps readme-deps database-deps ## Run every test (starts the stand-ins on test ports and stops them after)
	@$(TEST_PORTS) $(GO) run ./cmd/scaleout standins up >/dev/null
	@# -timeout: a few packages build the worker binary as the image and make do (cold, every
	@# dependency); on a busy 2-core machine that alone can pass go test's default 10 minutes.
	@$(TEST_PORTS) $(GO) test -count=1 -timeout 30m ./... ; rc=$$?; \
	  $(TEST_PORTS) $(GO) run ./cmd/scaleout standins down; exit $$rc

# The OpenAPI linter is pinned by tools/openapi/package-lock.json and
# installed under build/_redocly, where the go tool never walks.
REDOCLY_DIR := build/_redocly
REDOCLY := $(REDOCLY_DIR)/node_modules/.bin/redocly
$(REDOCLY): tools/openapi/package.json tools/openapi/package-lock.json
	@mkdir -p $(REDOCLY_DIR)
	cp tools/openapi/package.json tools/openapi/package-lock.json $(REDOCLY_DIR)/
	cd $(REDOCLY_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# golangci-lint is pinned by tools/golangci/go.mod, a module of its own so
# that its dependencies stay out of go.mod; `go tool` builds it once and
# keeps it in the build cache. Its linters, and why each, are in .golangci.yml.
GOLANGCI_LINT := $(GO) tool -modfile=tools/golangci/go.mod golangci-lint

.PHONY: lint
lint: $(REDOCLY) ## Lint the Go code (golangci-lint: gofmt, go vet, staticcheck and the rest of .golangci.yml) and the OpenAPI document (Redocly)
	$(GOLANGCI_LINT) run ./...
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint --config tools/openapi/redocly.yaml internal/api/openapi.json

.PHONY: build
build: ## Build the Lambda bootstraps (linux/arm64) into build/ and the scaleout and worker binaries into bin/
	@for fn in $(FUNCTIONS); do \
	  $(LAMBDA_FLAGS) $(GO) build -tags lambda.norpc -trimpath -ldflags='$(GO_LDFLAGS)' -o build/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done
	$(GO) build -o bin/scaleout ./cmd/scaleout
	$(GO) build -ldflags='-X $(VERSION_VAR)=$(VERSION)' -o bin/worker ./cmd/scaleout-worker

.PHONY: browser-deps
browser-deps: ## Install Debian's Chromium and ChromeDriver for the browser test (once; needs root or sudo; SCALEOUT_SKIP_BROWSER=1 skips it and the test)
	@[ "$$SCALEOUT_SKIP_BROWSER" = 1 ] || bash tools/chromium/install.sh

.PHONY: database-deps
database-deps: ## Install Debian's PostgreSQL and MariaDB for the database tests, which start their own servers (once; needs root or sudo; SCALEOUT_SKIP_DATABASES=1 skips it and the tests)
	@[ "$$SCALEOUT_SKIP_DATABASES" = 1 ] || bash tools/databases/install.sh

.PHONY: readme-deps
readme-deps: ## Install curl and jq, which the README's examples (and so the README test) use, with apt-get when missing (needs root or sudo)
	@bash tools/readme/install.sh

.PHONY: bench
bench: ## Print performance and cost figures as `bench: NAME VALUE UNIT` lines: engine overhead, the sql task's overhead over the bare driver call, the dataflow task's CSV -> PostgreSQL rate against psql's copy, PostgreSQL -> Parquet rate and peak RSS, dispatch latency and floor, throughput, calls, DynamoDB units, SQS requests and USD per execution and per running minute (about 6 min)
	$(GO) run ./cmd/bench

.PHONY: standins-up
standins-up: ## Start the local stand-ins (DynamoDB Local, SQS emulator) in the background
	$(GO) run ./cmd/scaleout standins up

.PHONY: standins-down
standins-down: ## Stop the local stand-ins on the default ports (started by standins-up or left running)
	$(GO) run ./cmd/scaleout standins down

.PHONY: clean
clean: ## Remove build output (not the installed stand-ins)
	rm -rf build bin cdk.out
