// Package ec2 holds the systemd unit that runs the Scaleout worker on an
// EC2 instance. Package stack (workerPlatform=ec2) writes it into each
// instance from the launch template's user data, with the worker binary
// at BinaryPath and its settings in EnvironmentFile.
//
// To run a worker on a Linux machine of your own, install the same files:
//
//	install -m 0755 worker /usr/local/bin/scaleout-worker
//	install -D -m 0644 worker.env /etc/scaleout/worker.env   # SCALEOUT_PREFIX=..., AWS_REGION=...
//	install -m 0644 infra/ec2/scaleout-worker.service /etc/systemd/system/
//	useradd --system --user-group --no-create-home --home-dir /tmp --shell /sbin/nologin scaleout-task
//	systemctl daemon-reload && systemctl enable --now scaleout-worker
//
// The unit needs iptables and ip6tables (dnf install iptables-nft): before
// the worker starts, it drops scaleout-task's traffic to the metadata
// endpoints. A pool with a worker image of its own runs it with Docker
// under ContainerUnit instead, which drops the traffic of the image's
// task user (TaskUID).
package ec2

import _ "embed"

// WorkerUnit is the unit file, scaleout-worker.service.
//
//go:embed scaleout-worker.service
var WorkerUnit string

// ContainerUnit is the unit that runs a worker image with Docker instead
// of the binary (a pool whose workerImage is not the stock one),
// installed at UnitPath too, with the image in ImageEnvironmentFile.
//
//go:embed scaleout-worker-container.service
var ContainerUnit string

// Where the unit expects its files.
const (
	// UnitPath is where the unit is installed.
	UnitPath = "/etc/systemd/system/scaleout-worker.service"
	// BinaryPath is the worker binary (cmd/scaleout-worker, linux/arm64).
	BinaryPath = "/usr/local/bin/scaleout-worker"
	// EnvironmentFile holds the worker's settings, one KEY=value a line.
	EnvironmentFile = "/etc/scaleout/worker.env"
	// ImageEnvironmentFile names ContainerUnit's image: SCALEOUT_IMAGE and
	// SCALEOUT_ECR_REGISTRY (empty for a public image).
	ImageEnvironmentFile = "/etc/scaleout/image.env"
	// TaskUser is the user exec tasks run as (SCALEOUT_TASK_USER), on an
	// instance and in the worker image alike: not the worker's user, so
	// that tasks cannot read its environment, and the user whose traffic
	// to the metadata endpoints the unit's firewall rules drop.
	TaskUser = "scaleout-task"
	// TaskUID is TaskUser's uid in a worker image (the stock Dockerfile's
	// and examples/images'): ContainerUnit's firewall rules match it,
	// since the container's users are not the instance's.
	TaskUID = 10002
)

// MetadataAddresses are where AWS hands out credentials: the unit drops
// TaskUser's traffic to them (iptables, ip6tables).
var MetadataAddresses = []string{"169.254.169.254", "169.254.170.2", "fd00:ec2::254"}
