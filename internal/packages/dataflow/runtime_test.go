package dataflow_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/dataflow/dataflowtest"
	"github.com/scaleout/scaleout/internal/packages/dataflow/transform"
)

// probe is a source and a destination that record what they sent and
// received, and how many resources they hold open.
type probe struct {
	batches  int // batches the source sends (-1: until stopped)
	sent     atomic.Int64
	received atomic.Int64
	maxAhead atomic.Int64 // most batches sent and not yet received
	open     atomic.Int64 // resources held open now
	delay    time.Duration
}

var idSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)

type probeSource struct{ p *probe }

func (probeSource) Info() dataflow.Info { return dataflow.Info{Doc: "probe source"} }
func (s probeSource) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	return &dataflow.Plan{Outputs: []dataflow.OutputSpec{{Name: "out", Schema: idSchema}}, Runner: s}, nil
}

func (s probeSource) Run(ctx context.Context, rt dataflow.Runtime) error {
	s.p.open.Add(1)
	defer s.p.open.Add(-1)
	out := rt.Outputs()[0]
	for i := 0; s.p.batches < 0 || i < s.p.batches; i++ {
		b := array.NewInt64Builder(rt.Allocator())
		for j := range 100 {
			b.Append(int64(i*100 + j))
		}
		arr := b.NewArray()
		b.Release()
		rec := array.NewRecordBatch(idSchema, []arrow.Array{arr}, 100)
		arr.Release()
		if err := out.Send(ctx, rec); err != nil {
			return err
		}
		s.p.sent.Add(1)
	}
	return nil
}

type probeSink struct{ p *probe }

func (probeSink) Info() dataflow.Info {
	return dataflow.Info{Doc: "probe sink", MinInputs: 1, MaxInputs: 1}
}
func (s probeSink) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	return &dataflow.Plan{Runner: s}, nil
}

func (s probeSink) Run(ctx context.Context, rt dataflow.Runtime) error {
	s.p.open.Add(1)
	defer s.p.open.Add(-1)
	for {
		b, err := rt.Inputs()[0].Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b.Release()
		got := s.p.received.Add(1)
		for {
			ahead, m := s.p.sent.Load()-got, s.p.maxAhead.Load()
			if ahead <= m || s.p.maxAhead.CompareAndSwap(m, ahead) {
				break
			}
		}
		select {
		case <-time.After(s.p.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func useProbe(p *probe) dataflowtest.Option {
	return dataflowtest.Use(transform.Register, func(r *dataflow.Registry) {
		r.MustRegister("probe_source", probeSource{p})
		r.MustRegister("probe_sink", probeSink{p})
	})
}

func TestBackPressureBoundsBatchesInFlight(t *testing.T) {
	t.Parallel()
	p := &probe{batches: 60, delay: 2 * time.Millisecond}
	res := dataflowtest.MustRun(t, `
components:
  - {name: src, type: probe_source}
  - {name: sink, type: probe_sink, input: src}
`, useProbe(p))
	require.Equal(t, int64(60), p.received.Load())
	require.Equal(t, int64(6000), res.Output["rows_read"])
	// The producer runs ahead of the slow consumer by the path's capacity,
	// plus the batch the consumer holds, and no more.
	require.LessOrEqual(t, p.maxAhead.Load(), int64(dataflow.PathCapacity+1))
	require.GreaterOrEqual(t, p.maxAhead.Load(), int64(dataflow.PathCapacity-1), "the path never filled: the consumer was not slow")
}

func TestStopMidFlowReturnsPromptlyAndReleases(t *testing.T) {
	t.Parallel()
	p := &probe{batches: -1, delay: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	res := dataflowtest.Run(t, `
components:
  - {name: src, type: probe_source}
  - name: derive
    type: derived_column
    input: src
    settings: {columns: [{name: twice, expression: "id * 2"}]}
  - {name: sink, type: probe_sink, input: derive}
`, useProbe(p), dataflowtest.WithContext(ctx))
	require.ErrorIs(t, res.Err, context.Canceled)
	require.ErrorContains(t, res.Err, "dataflow stopped")
	require.Less(t, time.Since(start), 2*time.Second)
	require.Zero(t, p.open.Load(), "a component still holds its resources")
	require.Positive(t, p.received.Load())
	require.Zero(t, res.Allocator.CurrentAlloc())
}

func TestFirstErrorWinsAndNamesTheComponent(t *testing.T) {
	t.Parallel()
	p := &probe{batches: -1}
	res := dataflowtest.Run(t, `
components:
  - {name: src, type: probe_source}
  - {name: sink, type: collect, input: src, settings: {keep: false, fail_after: 250}}
`, useProbe(p))
	require.EqualError(t, res.Err, `component "sink" (collect): failing as asked after 300 rows (fail_after)`)
	require.Zero(t, p.open.Load())
}

func TestSourceErrorStopsTheFlow(t *testing.T) {
	t.Parallel()
	res := dataflowtest.Run(t, `
batch_rows: 10
components:
  - name: src
    type: values
    settings: {columns: [{name: id, type: int64}], rows: [[1], [2]], repeat: -1, fail_after: 1000}
  - {name: sink, type: collect, input: src, settings: {keep: false, delay: 1ms}}
`)
	require.EqualError(t, res.Err, `component "src" (values): failing as asked (fail_after)`)
}

func TestConsumerDoneEarlyEndsAnEndlessSource(t *testing.T) {
	t.Parallel()
	p := &probe{batches: -1}
	res := dataflowtest.MustRun(t, `
components:
  - {name: src, type: probe_source}
  - {name: copy, type: multicast, input: src}
  - {name: first, type: collect, input: copy, settings: {keep: false, stop_after: 500}}
  - {name: second, type: collect, input: copy, settings: {keep: false, stop_after: 1000}}
`, useProbe(p))
	require.Equal(t, int64(500), res.Collected("first").Count())
	require.Equal(t, int64(1000), res.Collected("second").Count())
	require.Zero(t, p.open.Load())
}

// A million rows through a non-blocking flow hold no more memory than a
// tenth of them: the figure depends on the batches in flight, not the rows.
func TestMemoryDoesNotGrowWithRows(t *testing.T) {
	t.Parallel()
	peak := func(repeat int) int64 {
		res := dataflowtest.MustRun(t, fmt.Sprintf(`
batch_rows: 5000
components:
  - name: src
    type: values
    settings:
      columns: [{name: id, type: int64}, {name: name, type: string}, {name: price, type: float64}]
      rows: [[1, alpha, 1.5], [2, beta, 2.5], [3, gamma, 3.5], [4, delta, 4.5]]
      repeat: %d
  - name: derive
    type: derived_column
    input: src
    settings: {columns: [{name: total, expression: "price * id"}, {name: tag, expression: "name + '!'"}]}
  - {name: sink, type: collect, input: derive, settings: {keep: false}}
`, repeat), dataflowtest.Use(transform.Register))
		require.Equal(t, int64(repeat*4), res.Collected("sink").Count())
		require.Equal(t, int64(repeat*4), res.Output["rows_written"])
		return res.Output["memory_peak_bytes"].(int64)
	}
	small := peak(25_000)  // 100k rows
	large := peak(250_000) // 1M rows
	t.Logf("peak bytes: 100k rows %d, 1M rows %d", small, large)
	require.Less(t, large, 2*small, "memory grew with the rows")
	require.Less(t, large, int64(64<<20))
}

type panicky struct{ inPlan bool }

func (panicky) Info() dataflow.Info { return dataflow.Info{Doc: "panics", MinInputs: 1, MaxInputs: 1} }
func (p panicky) Plan(pc *dataflow.PlanContext) (*dataflow.Plan, error) {
	if p.inPlan {
		panic("planning went wrong")
	}
	return &dataflow.Plan{Runner: p}, nil
}

func (panicky) Run(context.Context, dataflow.Runtime) error {
	var s []int
	_ = s[3]
	return nil
}

func TestAPanickingComponentFailsTheFlowNotTheProcess(t *testing.T) {
	t.Parallel()
	p := &probe{batches: -1}
	use := dataflowtest.Use(func(r *dataflow.Registry) {
		r.MustRegister("probe_source", probeSource{p})
		r.MustRegister("panics_running", panicky{})
		r.MustRegister("panics_planning", panicky{inPlan: true})
	})
	res := dataflowtest.Run(t, `
components:
  - {name: src, type: probe_source}
  - {name: bad, type: panics_running, input: src}
`, use)
	require.ErrorContains(t, res.Err, `component "bad" (panics_running): failed unexpectedly: runtime error: index out of range`)
	require.Zero(t, p.open.Load())

	err := dataflowtest.Check(t, `
components:
  - {name: src, type: probe_source}
  - {name: bad, type: panics_planning, input: src}
`, use)
	require.ErrorContains(t, err, `component "bad" (panics_planning): planning failed: planning went wrong`)
}
