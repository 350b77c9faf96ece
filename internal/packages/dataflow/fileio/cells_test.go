package fileio

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"2024-02-29":                time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		" 2024-01-02 ":              time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		"2024-01-02 03:04:05.5":     time.Date(2024, 1, 2, 3, 4, 5, 500000000, time.UTC),
		"2024-01-02T03:04:05+02:00": time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC),
		"2024-01-02 03:04:05Z":      time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	} {
		got, ok := parseTime(in)
		if assert.True(t, ok, in) {
			assert.True(t, want.Equal(got), "%s: %v", in, got)
		}
	}
	for _, bad := range []string{"2023-02-29", "2024-13-01", "2024-1-02", "20240102", "soon", "2024-01-0x"} {
		_, ok := parseTime(bad)
		assert.False(t, ok, bad)
	}
}
