package suggest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClosest(t *testing.T) {
	t.Parallel()
	known := []string{"exec", "http", "sleep", "fail", "set"}
	for _, tc := range []struct{ word, want string }{
		{"exce", "exec"},
		{"HTTP", "http"},
		{"slep", "sleep"},
		{"xyzzy", ""},
		{"s", ""},
		{"st", "set"},
	} {
		require.Equal(t, tc.want, Closest(tc.word, known), tc.word)
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	require.Equal(t, 0, Distance("a", "a"))
	require.Equal(t, 1, Distance("exec", "exe"))
	require.Equal(t, 2, Distance("exce", "exec"))
	long := string(make([]byte, 65))
	require.Equal(t, 64, Distance(long, "x"))
	require.Equal(t, 0, Distance(long, long))
}
