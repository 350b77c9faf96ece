package execution_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/scaleouttype"
)

func TestListDefaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := execution.WithListDefaults(scaleouttype.ExecutionFilter{Limit: 5000}, now)
	require.Equal(t, execution.ListLimit, f.Limit)
	require.Equal(t, now, f.Until, "by day: until now")
	require.Equal(t, now.AddDate(0, 0, -execution.ListDays), f.Since)
	f = execution.WithListDefaults(scaleouttype.ExecutionFilter{Until: now.AddDate(1, 0, 0)}, now)
	require.Equal(t, now.AddDate(0, 0, -execution.ListDays), f.Since, "a far-future Until lists the last days")
	for _, f := range []scaleouttype.ExecutionFilter{{Folder: "f"}, {Package: "p"}, {Status: execution.Running}} {
		got := execution.WithListDefaults(f, now)
		require.True(t, got.Since.IsZero() && got.Until.IsZero(), "not by day: unbounded (%+v)", f)
	}
	require.True(t, execution.ByDay(scaleouttype.ExecutionFilter{Status: execution.Failed, Project: "p"}))
}

func TestListCursor(t *testing.T) {
	t.Parallel()
	f := scaleouttype.ExecutionFilter{Folder: "f"}
	c := execution.ListCursor{Key: execution.CreatedKey(time.UnixMilli(1764000000000), "id"), Filter: execution.Fingerprint(f)}
	got, err := execution.DecodeListCursor(c.Encode(), execution.Fingerprint(f))
	require.NoError(t, err)
	require.Equal(t, c, got)
	_, err = execution.DecodeListCursor(c.Encode(), execution.Fingerprint(scaleouttype.ExecutionFilter{Folder: "g"}))
	require.ErrorIs(t, err, scaleouttype.ErrBadCursor, "another filter's")
	_, err = execution.DecodeListCursor("garbage!", execution.Fingerprint(f))
	require.ErrorIs(t, err, scaleouttype.ErrBadCursor)
	require.Less(t, execution.CreatedKey(time.UnixMilli(5), "zzz"), execution.MSBound(5))
	require.Less(t, execution.MSKey(5), execution.CreatedKey(time.UnixMilli(5), "a"))
}
