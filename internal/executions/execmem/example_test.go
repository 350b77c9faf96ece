package execmem_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execmem"
	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/testkit/testclock"
	"github.com/scaleout/scaleout/internal/worker/registry/registrytype"
)

// A store and its registry, on a clock the test moves: a worker registers,
// claims an execution and dies; another takes it over.
func Example() {
	ctx := context.Background()
	clock := testclock.New()
	store := execmem.New(clock.Now)
	workers := store.Registry()

	e := execution.Execution{ID: "e1", Folder: "f", Project: "p", Package: "hello", Pool: "default",
		Status: execution.Pending, Definition: []byte(`{}`), LostRetries: 1, CreatedAt: clock.Now()}
	if err := store.Create(ctx, e); err != nil {
		panic(err)
	}
	_, a, _, _ := workers.Register(ctx, registrytype.Registration{ID: "a", Pools: []string{"default"}, MaxTasks: 1}, time.Minute)
	claimed, _ := store.Claim(ctx, e.ID, a, clock.Now())
	fmt.Println(claimed.Status, "attempt", claimed.Attempt, "by", claimed.WorkerID)

	clock.Add(2 * time.Minute) // a's lease runs out
	_, b, _, _ := workers.Register(ctx, registrytype.Registration{ID: "b", Pools: []string{"default"}, MaxTasks: 1}, time.Minute)
	taken, _ := store.Claim(ctx, e.ID, b, clock.Now())
	fmt.Println(taken.Status, "attempt", taken.Attempt, "by", taken.WorkerID, "after", taken.Attempts[0].Outcome)
	// Output:
	// running attempt 1 by a
	// running attempt 2 by b after lost
}
