package resources

import (
	"encoding/json"
	"slices"
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
