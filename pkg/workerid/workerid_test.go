package workerid_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/pkg/workerid"
)

// ecsMetadata stands in for the ECS task metadata endpoint v4, answering
// /task with body; it fails the first failures requests.
func ecsMetadata(t *testing.T, body []byte, failures int32) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Method != http.MethodGet || r.URL.Path != "/v4/abc-123/task" {
			http.NotFound(w, r)
			return
		}
		if n <= failures {
			http.Error(w, "not yet", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// imds stands in for EC2's instance metadata service, IMDSv2 only: a GET
// without a token from PUT /latest/api/token is refused, as on an
// instance whose metadata options require tokens.
func imds(t *testing.T, instanceID string) *httptest.Server {
	t.Helper()
	const token = "AQAEAFZ-test-token=="
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				http.Error(w, "missing ttl", http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(token))
		case r.Method == http.MethodGet && r.URL.Path == "/latest/meta-data/instance-id":
			if r.Header.Get("X-aws-ec2-metadata-token") != token {
				http.Error(w, "", http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte(instanceID))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func host() (string, error) { return "ip-10-0-1-23.ec2.internal", nil }
func pid() int              { return 1 }

func TestDetect(t *testing.T) {
	t.Parallel()
	task, err := os.ReadFile("testdata/fargate-task.json")
	require.NoError(t, err)
	ecs, _ := ecsMetadata(t, task, 0)
	ec2 := imds(t, "i-0123456789abcdef0")
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)

	for _, tc := range []struct {
		name string
		o    workerid.Options
		want workerid.Identity
		err  string
	}{
		{"a Fargate task is named by its task id",
			workerid.Options{ECSMetadataURI: ecs.URL + "/v4/abc-123"},
			workerid.Identity{ID: "9781c248c5c94c5f8f7f2ac0b2a3c5a7", Source: "ecs", CPULimit: 0.5}, ""},
		{"SCALEOUT_WORKER_ID wins, the task's CPU limit is still read",
			workerid.Options{ID: "etl-1", ECSMetadataURI: ecs.URL + "/v4/abc-123"},
			workerid.Identity{ID: "etl-1", Source: "env", CPULimit: 0.5}, ""},
		{"an EC2 instance is named by its instance id",
			workerid.Options{From: workerid.FromEC2, IMDSEndpoint: ec2.URL},
			workerid.Identity{ID: "i-0123456789abcdef0", Source: "ec2"}, ""},
		{"elsewhere host-pid, and IMDS is not asked",
			workerid.Options{IMDSEndpoint: down.URL},
			workerid.Identity{ID: "ip-10-0-1-23.ec2.internal-1", Source: "host"}, ""},
		{"host, even on ECS",
			workerid.Options{From: workerid.FromHost, ECSMetadataURI: ecs.URL + "/v4/abc-123"},
			workerid.Identity{ID: "ip-10-0-1-23.ec2.internal-1", Source: "host"}, ""},
		{"ECS metadata that does not answer is an error, not host-pid",
			workerid.Options{ECSMetadataURI: down.URL + "/v4/abc-123"},
			workerid.Identity{}, "ECS task metadata (ECS_CONTAINER_METADATA_URI_V4): GET"},
		{"IMDS that does not answer is an error, not host-pid",
			workerid.Options{From: workerid.FromEC2, IMDSEndpoint: down.URL},
			workerid.Identity{}, "EC2 instance id from IMDSv2"},
		{"an unknown source",
			workerid.Options{From: "k8s"},
			workerid.Identity{}, `SCALEOUT_WORKER_ID_FROM="k8s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tc.o
			o.Hostname, o.Pid, o.Backoff = host, pid, time.Millisecond
			got, err := workerid.Detect(context.Background(), o)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// Two tasks that got the same address (a released Fargate IP) and run as
// PID 1 get different ids: the old task's registry item, and an
// administrator's enabled=false on it, are not the new task's.
func TestRecycledAddressGetsNewID(t *testing.T) {
	t.Parallel()
	var ids []string
	for _, arn := range []string{
		"arn:aws:ecs:us-east-1:123456789012:task/scaleout-dev-workers/9781c248c5c94c5f8f7f2ac0b2a3c5a7",
		"arn:aws:ecs:us-east-1:123456789012:task/scaleout-dev-workers/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
	} {
		srv, _ := ecsMetadata(t, []byte(`{"TaskARN":"`+arn+`","Limits":{"CPU":0.25}}`), 0)
		id, err := workerid.Detect(context.Background(), workerid.Options{
			ECSMetadataURI: srv.URL + "/v4/abc-123", Hostname: host, Pid: pid,
		})
		require.NoError(t, err)
		ids = append(ids, id.ID)
	}
	require.NotEqual(t, ids[0], ids[1])
}

func TestDetectRetries(t *testing.T) {
	t.Parallel()
	srv, calls := ecsMetadata(t, []byte(`{"TaskARN":"arn:aws:ecs:us-east-1:123456789012:task/abc"}`), 2)
	id, err := workerid.Detect(context.Background(), workerid.Options{
		ECSMetadataURI: srv.URL + "/v4/abc-123/", Backoff: time.Millisecond,
	})
	require.NoError(t, err)
	require.Equal(t, "abc", id.ID, "the old task ARN form, task/<id>")
	require.Equal(t, int32(3), calls.Load())
}
