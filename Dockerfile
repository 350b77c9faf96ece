# syntax=docker/dockerfile:1
# The Scaleout worker image (ECS Fargate, linux/arm64; infra/stack builds it
# with `cdk deploy` as a Docker image asset). Build it by hand with:
#   docker build --platform linux/arm64 -t scaleout-worker .
# The worker reads its settings from the environment (internal/wiring/config:
# SCALEOUT_PREFIX, SCALEOUT_POOLS, SCALEOUT_WORKER_POOL, ...).

# The builder runs on the build machine's own platform and cross-compiles:
# a static, CGO-free binary needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=arm64
# The version the worker reports (registry, logs): `make deploy` passes it
# through the stack (git describe of the worker's sources). The context has
# no .git, so Go's own VCS stamping cannot supply it.
ARG VERSION=
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY scaleouttype/ scaleouttype/
COPY internal/ internal/
COPY cmd/scaleout-worker/ cmd/scaleout-worker/
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w -X github.com/scaleout/scaleout/internal/wiring/assemble.version=${VERSION}" -o /out/scaleout-worker ./cmd/scaleout-worker

# A small base that still has a shell (busybox sh) for exec tasks, and CA
# certificates for HTTPS to AWS and to http tasks' targets.
#
# Two users: the worker (scaleout, 10001) and the exec tasks it starts
# (scaleout-task, 10002, SCALEOUT_TASK_USER), so that no task reads the
# worker's environment (/proc/1/environ: the ECS credentials URI). To start
# tasks as another user and stop them, the worker's binary holds
# CAP_SETUID, CAP_SETGID and CAP_KILL as file capabilities (set after the
# COPY, which may not keep them); to hand each run's scratch directory to
# the task user (CAP_CHOWN), write in it (s3 gets) and remove whatever the
# task left there, read-only, unreadable or sticky directories included
# (CAP_DAC_OVERRIDE, CAP_FOWNER), it holds those three too. A setuid child
# keeps none across its exec. Only the scaleout group may run the binary, so no task can run it
# to get them.
FROM public.ecr.aws/docker/library/alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 scaleout \
 && adduser -S -D -H -u 10001 -G scaleout -h /tmp -s /bin/sh scaleout \
 && addgroup -S -g 10002 scaleout-task \
 && adduser -S -D -H -u 10002 -G scaleout-task -h /tmp -s /sbin/nologin scaleout-task
COPY --from=build /out/scaleout-worker /usr/local/bin/scaleout-worker
RUN apk add --no-cache --virtual .setcap libcap-setcap \
 && chown root:scaleout /usr/local/bin/scaleout-worker \
 && chmod 0750 /usr/local/bin/scaleout-worker \
 && setcap cap_chown,cap_dac_override,cap_fowner,cap_kill,cap_setgid,cap_setuid=ep /usr/local/bin/scaleout-worker \
 && apk del .setcap
ENV SCALEOUT_TASK_USER=scaleout-task
USER 10001:10001
WORKDIR /tmp
# SIGTERM starts a drain: no new work, running executions get a grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/scaleout-worker"]
