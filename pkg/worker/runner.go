package worker

import (
	"context"
	"fmt"

	"github.com/scaleout/scaleout/pkg/command"
	"github.com/scaleout/scaleout/pkg/execution"
)

// CommandRunner runs an execution's command (until packages are run by the
// engine). Exit code 0 is success.
type CommandRunner struct {
	// OutputCap is how many bytes of output are kept; default 8 KiB.
	OutputCap int
}

// Run implements Runner.
func (r CommandRunner) Run(ctx context.Context, e execution.Execution) execution.Result {
	res, err := command.Run(ctx, e.Command, command.Options{OutputCap: r.OutputCap})
	out := execution.Result{Output: res.Output}
	if res.ExitCode >= 0 {
		code := res.ExitCode
		out.ExitCode = &code
	}
	switch {
	case err != nil:
		out.Status = execution.Failed
		out.Error = err.Error()
	case res.ExitCode != 0:
		out.Status = execution.Failed
		out.Error = fmt.Sprintf("command exited with code %d", res.ExitCode)
	default:
		out.Status = execution.Succeeded
	}
	return out
}
