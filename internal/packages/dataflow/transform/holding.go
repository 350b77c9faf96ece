package transform

import (
	"fmt"

	"github.com/scaleout/scaleout/internal/packages/dataflow"
)

// holding accounts for the bytes a component holds in Go structures (a
// lookup's table, an aggregate's groups): it reserves them from the
// flow's budget in chunks, ahead of use, and fails clearly when the
// budget has no more.
type holding struct {
	budget   dataflow.Budget
	what     string // what is held, for messages: "the groups"
	reserved int64
	used     int64
}

// grow records n more bytes held, reserving more from the budget when
// needed; past the limit the error names the limit and the bytes so far.
func (h *holding) grow(n int64, detail func() string) error {
	h.used += n
	if h.used <= h.reserved {
		return nil
	}
	chunk := max(h.budget.Limit()/64, 1)
	chunk = min(chunk, 1<<20)
	need := max(h.used-h.reserved, chunk)
	if h.budget.TryReserve(need) {
		h.reserved += need
		return nil
	}
	if need > chunk && h.budget.TryReserve(h.used-h.reserved) {
		h.reserved = h.used
		return nil
	}
	return fmt.Errorf("holding %s: %w (%s): %s held with %s; raise memory_limit, or give it fewer rows (filter or group upstream)",
		h.what, dataflow.ErrMemoryLimit, formatBytes(h.budget.Limit()), formatBytes(h.used), detail())
}

// release gives every reserved byte back.
func (h *holding) release() {
	if h.reserved > 0 {
		h.budget.Release(h.reserved)
	}
	h.reserved, h.used = 0, 0
}

// formatBytes writes n bytes for messages: "512 B", "64.0 KiB", "1.5 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
