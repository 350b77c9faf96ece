package workerid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/scaleout/scaleout/pkg/wait"
)

// Sources of the id (SCALEOUT_WORKER_ID_FROM).
const (
	// FromAuto (the default): the ECS task when ECS's metadata endpoint is
	// there, else host-pid.
	FromAuto = ""
	// FromEC2: the EC2 instance id, from IMDSv2.
	FromEC2 = "ec2"
	// FromHost: host name and process id.
	FromHost = "host"
)

// DefaultIMDSEndpoint is EC2's instance metadata service.
const DefaultIMDSEndpoint = "http://169.254.169.254"

// Options say where to look.
type Options struct {
	// ID, when set, is the id (SCALEOUT_WORKER_ID).
	ID string
	// From is FromAuto, FromEC2 or FromHost.
	From string
	// ECSMetadataURI is ECS_CONTAINER_METADATA_URI_V4 (set by ECS).
	ECSMetadataURI string
	// IMDSEndpoint is the instance metadata service (default
	// DefaultIMDSEndpoint).
	IMDSEndpoint string
	// Client makes the metadata requests (default: 2 s timeout each).
	Client *http.Client
	// Tries is how often a metadata request is tried (default 3), Backoff
	// the first wait between tries (default 200 ms, doubling).
	Tries   int
	Backoff time.Duration
	// Hostname and Pid default to os.Hostname and os.Getpid.
	Hostname func() (string, error)
	Pid      func() int
}

// Identity is what a worker learned about where it runs.
type Identity struct {
	// ID names the worker in the registry.
	ID string
	// Source says where ID came from: "env", "ecs", "ec2" or "host".
	Source string
	// CPULimit is the task's CPU limit in vCPUs from ECS task metadata
	// (0: not known).
	CPULimit float64
}

// CheckFrom reports whether from is a known source.
func CheckFrom(from string) error {
	switch from {
	case FromAuto, FromEC2, FromHost:
		return nil
	}
	return fmt.Errorf("SCALEOUT_WORKER_ID_FROM=%q: give ec2 (the instance id from IMDSv2), host (host name and process id), or leave it unset (the ECS task id on ECS, else host-pid)", from)
}

// Detect returns the worker's identity (see the package documentation).
// On ECS, or with From ec2, a metadata endpoint that does not answer is an
// error: falling back to host-pid there would bring back the ids it avoids.
func Detect(ctx context.Context, o Options) (Identity, error) {
	if err := CheckFrom(o.From); err != nil {
		return Identity{}, err
	}
	o.defaults()
	var id Identity
	if o.ECSMetadataURI != "" && o.From != FromHost {
		task, err := o.ecsTask(ctx)
		if err != nil {
			return Identity{}, err
		}
		id = Identity{ID: task.id(), Source: "ecs", CPULimit: task.Limits.CPU}
	}
	switch {
	case o.ID != "":
		id.ID, id.Source = o.ID, "env"
	case id.ID != "":
	case o.From == FromEC2:
		inst, err := o.instanceID(ctx)
		if err != nil {
			return Identity{}, err
		}
		id = Identity{ID: inst, Source: "ec2"}
	default:
		host, _ := o.Hostname()
		id = Identity{ID: fmt.Sprintf("%s-%d", host, o.Pid()), Source: "host"}
	}
	return id, nil
}

func (o *Options) defaults() {
	if o.IMDSEndpoint == "" {
		o.IMDSEndpoint = DefaultIMDSEndpoint
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 2 * time.Second}
	}
	if o.Tries <= 0 {
		o.Tries = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.Hostname == nil {
		o.Hostname = os.Hostname
	}
	if o.Pid == nil {
		o.Pid = os.Getpid
	}
}

// ecsTaskMetadata is the part of ${ECS_CONTAINER_METADATA_URI_V4}/task read.
type ecsTaskMetadata struct {
	TaskARN string
	Limits  struct {
		CPU float64
	}
}

// id is the task's id: the last part of its ARN
// (arn:aws:ecs:<region>:<account>:task/<cluster>/<id>, or task/<id>).
func (t ecsTaskMetadata) id() string {
	return t.TaskARN[strings.LastIndex(t.TaskARN, "/")+1:]
}

func (o *Options) ecsTask(ctx context.Context) (ecsTaskMetadata, error) {
	var t ecsTaskMetadata
	err := o.try(ctx, func() error {
		b, err := o.do(ctx, http.MethodGet, strings.TrimSuffix(o.ECSMetadataURI, "/")+"/task", nil)
		if err != nil {
			return err
		}
		t = ecsTaskMetadata{}
		if err := json.Unmarshal(b, &t); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		if !strings.HasPrefix(t.TaskARN, "arn:") || t.id() == "" {
			return fmt.Errorf("no task ARN in the answer (TaskARN %q)", t.TaskARN)
		}
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("worker id: ECS task metadata (ECS_CONTAINER_METADATA_URI_V4): %w", err)
	}
	return t, nil
}

func (o *Options) instanceID(ctx context.Context) (string, error) {
	var id string
	base := strings.TrimSuffix(o.IMDSEndpoint, "/")
	err := o.try(ctx, func() error {
		tok, err := o.do(ctx, http.MethodPut, base+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		b, err := o.do(ctx, http.MethodGet, base+"/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": string(tok)})
		if err != nil {
			return err
		}
		id = strings.TrimSpace(string(b))
		if !strings.HasPrefix(id, "i-") {
			return fmt.Errorf("unexpected instance id %q", id)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("worker id: EC2 instance id from IMDSv2 (%s; SCALEOUT_WORKER_ID_FROM=ec2): %w", base, err)
	}
	return id, nil
}

func (o *Options) try(ctx context.Context, f func() error) error {
	pause := o.Backoff
	var err error
	for i := 0; i < o.Tries; i++ {
		if i > 0 {
			if werr := wait.For(ctx, pause); werr != nil {
				return errors.Join(err, werr)
			}
			pause *= 2
		}
		if err = f(); err == nil {
			return nil
		}
	}
	return err
}

func (o *Options) do(ctx context.Context, method, url string, header map[string]string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	return b, nil
}
