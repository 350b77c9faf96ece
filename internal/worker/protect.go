package worker

import (
	"context"
	"time"
)

// busyChange wakes keepProtection: a claim or a run began or ended.
func (w *Worker) busyChange() {
	select {
	case w.busyChanged <- struct{}{}:
	default:
	}
}

// busy reports whether the worker claims or runs an execution now.
func (w *Worker) busy() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.runs) > 0 || len(w.claiming) > 0
}

// keepProtection keeps the worker's task or instance out of scale-in
// while it is busy (Config.Protector): on when it goes from idle to busy,
// renewed every ProtectFor/2 while it stays busy, off when it is idle. The
// first call, at start, clears what a previous process may have left on
// (an instance's protection does not expire). A failed call is tried again
// every few seconds; meanwhile scale-in may take the worker, which then
// drains as on any stop. When ctx ends (the last run ended), the
// protection is turned off.
func (w *Worker) keepProtection(ctx context.Context) {
	const retry = 5 * time.Second
	on, known := false, false
	var renew time.Time // when an "on" protection is renewed
	wait := time.NewTimer(time.Hour)
	defer wait.Stop()
	for ctx.Err() == nil {
		busy := w.busy()
		next := time.Duration(-1) // wake up on a change only
		if !known || busy != on || (on && !time.Now().Before(renew)) {
			if err := w.cfg.Protector.Protect(ctx, busy, w.cfg.ProtectFor); err != nil {
				if ctx.Err() != nil {
					break
				}
				w.log.WarnContext(ctx, "scale-in protection not set; trying again", "protect", busy, "error", err, "in", retry)
				next = retry
			} else {
				if busy != on || !known {
					w.log.InfoContext(ctx, "scale-in protection set", "protect", busy)
				}
				on, known = busy, true
				renew = time.Now().Add(w.cfg.ProtectFor / 2)
			}
		}
		if on && next < 0 {
			next = max(time.Until(renew), 0)
		}
		wait.Stop()
		var timer <-chan time.Time
		if next >= 0 {
			wait.Reset(next)
			timer = wait.C
		}
		select {
		case <-ctx.Done():
		case <-w.busyChanged:
		case <-timer:
		}
	}
	if !on {
		return
	}
	off, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.cfg.Protector.Protect(off, false, w.cfg.ProtectFor); err != nil {
		w.log.Warn("scale-in protection not turned off; it expires by itself (ECS) or is cleared when the worker starts again (EC2)", "error", err)
	}
}
