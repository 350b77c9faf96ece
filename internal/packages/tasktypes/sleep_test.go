package tasktypes

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSleepCheck(t *testing.T) {
	t.Parallel()
	runCheckCases(t, Sleep{}, []checkCase{
		{name: "duration", with: obj{"duration": "1m30s"}},
		{name: "zero", with: obj{"duration": "0s"}},
		{name: "placeholder", with: obj{"duration": "${params.wait}"}},
		{name: "missing", with: nil, errs: []string{`with.duration: required: how long to wait, e.g. "30s" or "5m"`}},
		{name: "number", with: obj{"duration": 5.0}, errs: []string{`with.duration 5: write it as "30s" or "10m"`}},
		{name: "negative", with: obj{"duration": "-5s"}, errs: []string{`with.duration "-5s": must be more than 0`}},
		{name: "unknown setting", with: obj{"duration": "1s", "for": "1s"},
			errs: []string{`with.for: unknown setting (known: duration)`}},
	})
}

func TestSleepRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		with      obj
		cancel    bool
		err       error
		errText   string
		permanent bool
	}{
		{name: "short", with: obj{"duration": "1ms"}},
		{name: "zero", with: obj{"duration": "0s"}},
		{name: "cancelled", with: obj{"duration": "1h"}, cancel: true, err: context.Canceled},
		{name: "resolved wrong", with: obj{"duration": "later"}, errText: `with.duration "later"`, permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			in, _ := input(tc.with)
			done := make(chan error, 1)
			go func() {
				_, err := Sleep{}.Run(ctx, in)
				done <- err
			}()
			if tc.cancel {
				cancel()
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("sleep did not return")
			}
			switch {
			case tc.err != nil:
				require.ErrorIs(t, err, tc.err)
			case tc.errText != "":
				require.ErrorContains(t, err, tc.errText)
			default:
				require.NoError(t, err)
			}
			require.Equal(t, tc.permanent, errorsIsPermanent(err))
		})
	}
}
