package resources

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	t.Parallel()
	s, err := New("acme", "default", "etl")
	require.NoError(t, err)
	require.Equal(t, "acme-executions", s.Executions.Name)
	require.True(t, s.Executions.Stream)
	require.False(t, s.Catalog.Stream)
	require.Equal(t, "acme-pool-etl", s.Pools["etl"].Name)
	require.Equal(t, "acme-pool-etl-dlq", s.Pools["etl"].DeadLetter.Name)
	require.Len(t, s.Tables(), 2)
}

func TestNewRejectsBadNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ prefix, pool, want string }{
		{"", "default", `resource prefix ""`},
		{"has space", "default", `resource prefix "has space"`},
		{"ok", "bad/pool", `pool "bad/pool"`},
	} {
		_, err := New(tc.prefix, tc.pool)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestNewDefaultPool(t *testing.T) {
	t.Parallel()
	s, err := New("x")
	require.NoError(t, err)
	require.Contains(t, s.Pools, DefaultPool)
}

func TestExecutionIndexes(t *testing.T) {
	t.Parallel()
	s, err := New("x")
	require.NoError(t, err)
	byName := map[string]Index{}
	for _, ix := range s.Executions.Indexes {
		byName[ix.Name] = ix
	}
	for _, name := range []string{ByPackage, ByFolder, ByDay} {
		require.Equal(t, ProjectKeysOnly, byName[name].Projection.Type, name)
	}
	st := byName[ByStatus]
	require.Equal(t, StatusKey, st.PartitionKey.Name)
	require.Equal(t, ProjectInclude, st.Projection.Type)
	require.NotContains(t, st.Projection.NonKeyAttributes, "definition")
	require.Contains(t, st.Projection.NonKeyAttributes, "session")
}

func TestShard(t *testing.T) {
	t.Parallel()
	first := Shard("abc", ListShards)
	require.Equal(t, first, Shard("abc", ListShards), "stable")
	require.Equal(t, 0, Shard("abc", 1))
	counts := make([]int, StatusShards)
	for i := range 100 * StatusShards {
		s := Shard(fmt.Sprintf("0190b6c2-%04d-7000-8000-000000000000", i), StatusShards)
		require.True(t, s >= 0 && s < StatusShards)
		counts[s]++
	}
	for s, n := range counts {
		require.Greater(t, n, 60, "shard %d gets its share (100 expected)", s)
	}
	require.Equal(t, "2026-11-25#7", ShardKey("2026-11-25", 7))
}

// The filter patterns and IsTransition say the same: a record passes when
// one pattern matches, a pattern being an eventName list and, for MODIFY,
// an "anything-but pending" on one image's status.
func TestStreamFiltersAgreeWithIsTransition(t *testing.T) {
	t.Parallel()
	type pattern struct {
		EventName []string `json:"eventName"`
		Dynamodb  map[string]struct {
			Status struct {
				S []struct {
					AnythingBut []string `json:"anything-but"`
				} `json:"S"`
			} `json:"status"`
		} `json:"dynamodb"`
	}
	var patterns []pattern
	for _, f := range StreamFilters {
		var p pattern
		require.NoError(t, json.Unmarshal([]byte(f), &p), f)
		patterns = append(patterns, p)
	}
	match := func(event, oldStatus, newStatus string) bool {
		for _, p := range patterns {
			if !slices.Contains(p.EventName, event) {
				continue
			}
			ok := true
			for image, cond := range p.Dynamodb {
				v := map[string]string{"OldImage": oldStatus, "NewImage": newStatus}[image]
				for _, s := range cond.Status.S {
					if v == "" || slices.Contains(s.AnythingBut, v) {
						ok = false
					}
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	statuses := []string{"", "pending", "running", "stopping", "succeeded"}
	for _, event := range []string{"INSERT", "MODIFY", "REMOVE"} {
		for _, o := range statuses {
			for _, n := range statuses {
				require.Equal(t, match(event, o, n), IsTransition(event, o, n), "%s %q -> %q", event, o, n)
			}
		}
	}
	require.False(t, IsTransition("MODIFY", "pending", "pending"), "the re-enqueue mark invokes nothing")
	require.True(t, IsTransition("MODIFY", "running", "pending"), "a retry does")
	require.True(t, IsTransition("MODIFY", "pending", "running"), "a claim does")
}

func TestNewRejectsQueueNamesOverSQSLimit(t *testing.T) {
	t.Parallel()
	prefix40 := strings.Repeat("p", 40)
	pool40 := strings.Repeat("q", 40)
	_, err := New(prefix40, pool40)
	dlq := prefix40 + "-pool-" + pool40 + "-dlq"
	require.Len(t, dlq, 90)
	require.ErrorContains(t, err, fmt.Sprintf("queue name %q is 90 characters, over SQS's limit of 80", dlq))
	require.ErrorContains(t, err, "together at most 70 characters")

	// 70 characters of prefix and pool: the dead-letter queue's name is 80.
	s, err := New(prefix40, strings.Repeat("q", 30))
	require.NoError(t, err)
	require.Len(t, s.Pools[strings.Repeat("q", 30)].DeadLetter.Name, MaxQueueName)
	_, err = New(prefix40, strings.Repeat("q", 31))
	require.ErrorContains(t, err, "81 characters")
}
