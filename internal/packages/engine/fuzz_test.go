package engine

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// FuzzCompileAndRun checks that no package, however malformed, makes
// Compile or Run panic or hang.
func FuzzCompileAndRun(f *testing.F) {
	for _, seed := range []string{
		`{"tasks": [{"name": "a", "type": "ok"}, {"name": "b", "type": "boom", "after": [{"task": "a", "on": "failure"}]}]}`,
		`{"variables": {"n": {"type": "int"}}, "tasks": [{"name": "s", "type": "set", "with": {"values": {"n": "${1+1}"}}},
			{"name": "f", "type": "foreach", "items": "[1, 2]", "parallel": true, "tasks": [{"name": "x", "type": "ok", "outputs": {"n": "with.v"}, "with": {"v": "${item}"}}]}]}`,
		`{"tasks": [{"name": "s", "type": "sequence", "tasks": [{"name": "a", "type": "boom", "retry": {"attempts": 3, "backoff": "1s"}}]},
			{"name": "b", "type": "ok", "after": [{"task": "s", "on": "completion", "when": "tasks.s.status == \"failed\""}]}]}`,
		`{"tasks": [{"name": "a", "type": "ok", "after": [{"task": "a"}]}]}`,
		`{"tasks": [{"name": "a", "type": "foreach", "items": "params.x", "disabled": true}]}`,
	} {
		f.Add([]byte(seed))
	}
	reg := task.NewRegistry()
	for name, typ := range map[string]task.Type{"ok": ok{}, "boom": boom{}, "set": setvars{}, "noop": noop{}} {
		reg.MustRegister(name, typ)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var p pkgfile.Package
		if json.Unmarshal(src, &p) != nil {
			return
		}
		plan, err := Compile(&p, reg)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res, err := Run(ctx, plan, RunOptions{
			MaxParallel: 4,
			Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
			CancelGrace: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		switch res.Status {
		case Succeeded, Failed, Canceled:
		default:
			t.Fatalf("status %q", res.Status)
		}
	})
}
