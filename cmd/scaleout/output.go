package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/scaleout/scaleout/internal/executions/execution"
	"github.com/scaleout/scaleout/internal/executions/messages"
	"github.com/scaleout/scaleout/internal/packages/engine"
)

// writeJSON writes the API's JSON as it came, ending with a newline.
func writeJSON(w io.Writer, raw json.RawMessage) error {
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		_, err := io.WriteString(w, "\n")
		return err
	}
	return nil
}

// table writes rows aligned in columns, for people.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// fields writes "Name:  value" lines aligned, skipping empty values.
func fields(w io.Writer, kv ...string) error {
	t := newTable(w)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			t.row(kv[i]+":", kv[i+1])
		}
	}
	return t.flush()
}

// clock shows a time in the local zone with its age, "" for none.
func clock(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05") + " (" + ago(*t, now) + ")"
}

// ago is how long before now t was, roughly, as people say it: "12s
// ago", "5m ago", "3h05m ago", "1d ago", "2d4h ago", "12d ago". A time
// ahead of now (another clock) is "0s ago".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := max(now.Sub(t), 0)
	day := 24 * time.Hour
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < day:
		s = fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d < 7*day:
		s = fmt.Sprintf("%dd", int(d/day))
		if h := int((d % day).Hours()); h > 0 {
			s += fmt.Sprintf("%dh", h)
		}
	default:
		s = fmt.Sprintf("%dd", int(d/day))
	}
	return s + " ago"
}

// human rounds a duration for people.
func human(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// took is how long an execution ran, "" when it has not started.
func took(e execution.Execution, now time.Time) string {
	if e.StartedAt == nil {
		return ""
	}
	end := now
	if e.EndedAt != nil {
		end = *e.EndedAt
	}
	return human(end.Sub(*e.StartedAt))
}

// sortedParams shows parameters as name=value, in name order.
func sortedParams(params map[string]any) string {
	parts := make([]string, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		parts = append(parts, k+"="+s)
	}
	return strings.Join(parts, ", ")
}

// messagePrinter shows an execution's messages as `scaleout package run`
// shows a local run's events, with a line where a new attempt begins.
type messagePrinter struct {
	p       *progress
	attempt int
}

func newMessagePrinter(w io.Writer, quiet bool) *messagePrinter {
	return &messagePrinter{p: &progress{out: w, quiet: quiet}}
}

func (mp *messagePrinter) print(m messages.Message) {
	if m.Attempt != mp.attempt {
		if mp.attempt != 0 || m.Attempt > 1 {
			fmt.Fprintf(mp.p.out, "── attempt %d\n", m.Attempt)
		}
		mp.attempt = m.Attempt
	}
	mp.p.Emit(engine.Event{
		Time: m.Time, Kind: engine.Kind(m.Kind), Task: m.Task, Status: engine.Status(m.Status),
		Stream: m.Stream, Message: m.Message, Duration: time.Duration(m.DurationMS) * time.Millisecond,
	})
}

// statusExit is the exit status of a command that waited for an execution:
// 0 succeeded, 1 failed or ended unexpectedly, 2 canceled.
func statusExit(s execution.Status) int {
	switch s {
	case execution.Succeeded:
		return 0
	case execution.Canceled:
		return 2
	}
	return 1
}

// lockedWriter serializes writes from the goroutines of one command.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tasks is "1 task" or "n tasks".
func tasks(n int) string {
	return plural(n, "task")
}

// plural is "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// taskCount says how many tasks a package has the way every command
// counts them: its own tasks (a container is one), then, apart, those
// inside its containers: "6 tasks; 2 more inside containers".
func taskCount(own, inside int) string {
	s := tasks(own)
	if inside > 0 {
		s += fmt.Sprintf("; %d more inside containers", inside)
	}
	return s
}

// taskRun is one task's run as a run's summary counts it: its path
// ("load", or "per-region[eu]/load" inside a container) and its status.
type taskRun struct{ path, status string }

// runSummary says how a run's tasks ended, counting as taskCount does:
// the package's own tasks, then the runs of the tasks inside containers
// (one per iteration). "6 tasks: 5 succeeded, 0 failed, 1 skipped, 0
// canceled; inside containers, 4 runs: 4 succeeded, 0 failed, 0 skipped,
// 0 canceled". A task's name holds no "/", so a path with one is inside
// a container.
func runSummary(runs []taskRun) string {
	var own, inside []string
	for _, r := range runs {
		if strings.Contains(r.path, "/") {
			inside = append(inside, r.status)
		} else {
			own = append(own, r.status)
		}
	}
	counts := func(statuses []string) string {
		n := map[string]int{}
		for _, s := range statuses {
			n[s]++
		}
		return fmt.Sprintf("%d succeeded, %d failed, %d skipped, %d canceled", n["succeeded"], n["failed"], n["skipped"], n["canceled"])
	}
	s := tasks(len(own)) + ": " + counts(own)
	if len(inside) > 0 {
		s += fmt.Sprintf("; inside containers, %s: %s", plural(len(inside), "run"), counts(inside))
	}
	return s
}
