package execution

import (
	"fmt"
	"slices"
)

// Op names a store operation that writes an execution's status. Each one
// moves an execution along the rows of Transitions, and nothing else does:
// a store builds the status part of its conditional writes from those rows
// (see package execstore), so the rules are stated once.
type Op string

// The store operations, in the order an execution meets them.
const (
	// OpSubmit records a new execution (its id must be unused).
	OpSubmit Op = "submit"
	// OpRequeue records that the reconciler sends a pending execution's
	// message again: it stays pending.
	OpRequeue Op = "requeue"
	// OpClaim starts an attempt of a pending execution.
	OpClaim Op = "claim"
	// OpFail ends a pending execution that no worker holds, for example
	// one whose message could not be sent.
	OpFail Op = "fail"
	// OpStop cancels a pending execution, or asks the worker running one
	// to stop (stopping one that is stopping already changes nothing).
	OpStop Op = "stop"
	// OpFinish records the final result of the attempt that holds the
	// lease (a stopping execution may still end as its package did).
	OpFinish Op = "finish"
	// OpRetry ends an attempt whose package failed and makes the execution
	// pending again, for its next attempt after a backoff.
	OpRetry Op = "retry"
	// OpRelease hands an attempt back (the worker shuts down): pending
	// again at once.
	OpRelease Op = "release"
	// OpTakeOver starts the next attempt of an execution whose worker
	// session is dead, in the worker that found it: it stays running, under
	// a new attempt.
	OpTakeOver Op = "take over"
	// OpRecover applies the lost-attempt rule (Lost) without running the
	// execution: pending again while its lost-attempt budget allows, else
	// ended; a stopping one ends canceled.
	OpRecover Op = "recover"
)

// Transition is one row of the status table: Op moves an execution whose
// status is one of From to To. A row whose From holds To keeps the status
// (a resend, a new attempt, a repeated stop). OpSubmit alone has no From:
// it writes a new item.
type Transition struct {
	Op   Op
	From []Status
	To   Status
}

// Transitions is the status table: every move a store may make. Created,
// the SSIS catalog's status of an execution not yet started, is in no row:
// the API records an execution pending, with its message on the way.
var Transitions = []Transition{
	{OpSubmit, nil, Pending},
	{OpRequeue, []Status{Pending}, Pending},
	{OpClaim, []Status{Pending}, Running},
	{OpFail, []Status{Pending}, Failed},
	{OpStop, []Status{Pending}, Canceled},
	{OpStop, []Status{Running, Stopping}, Stopping},
	{OpFinish, []Status{Running, Stopping}, Succeeded},
	{OpFinish, []Status{Running, Stopping}, Failed},
	{OpFinish, []Status{Running, Stopping}, Canceled},
	{OpFinish, []Status{Running, Stopping}, EndedUnexpectedly},
	{OpRetry, []Status{Running}, Pending},
	{OpRelease, []Status{Running}, Pending},
	{OpTakeOver, []Status{Running}, Running},
	{OpRecover, []Status{Running}, Pending},
	{OpRecover, []Status{Running}, EndedUnexpectedly},
	{OpRecover, []Status{Stopping}, Canceled},
}

// Ops lists every operation of the table, once each, in table order.
func Ops() []Op {
	var out []Op
	for _, t := range Transitions {
		if !slices.Contains(out, t.Op) {
			out = append(out, t.Op)
		}
	}
	return out
}

// TransitionOf returns the row by which op moves an execution to to.
func TransitionOf(op Op, to Status) (Transition, error) {
	for _, t := range Transitions {
		if t.Op == op && t.To == to {
			return t, nil
		}
	}
	return Transition{}, fmt.Errorf("no transition %q to %s in the status table", op, to)
}

// MustTransition is TransitionOf for the stores' fixed operations: a
// missing row is a bug in the store, which its tests find.
func MustTransition(op Op, to Status) Transition {
	t, err := TransitionOf(op, to)
	if err != nil {
		panic(err)
	}
	return t
}

// Allows reports whether t applies to an execution in status from.
func (t Transition) Allows(from Status) bool { return slices.Contains(t.From, from) }

// From lists the statuses from which some operation moves an execution to
// to, in lifecycle order.
func From(to Status) []Status {
	var out []Status
	for _, from := range Statuses {
		if CanTransition(from, to) {
			out = append(out, from)
		}
	}
	return out
}

// CanTransition reports whether some operation moves an execution from
// one status to another (from == to: keeps it there, see Transition).
// Running → pending is a retry, a release or a lost attempt recovered.
func CanTransition(from, to Status) bool {
	for _, t := range Transitions {
		if t.To == to && t.Allows(from) {
			return true
		}
	}
	return false
}
