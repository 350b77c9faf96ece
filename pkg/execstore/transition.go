package execstore

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/resources"
)

// statusCondition returns the status part of the condition of a write by
// op that moves an execution to status to, as the status table
// (execution.Transitions) has it: "#status = :from_pending", or
// "#status IN (:from_running, :from_stopping)", or, for a submission,
// "attribute_not_exists(#id)". It adds the names and values it uses. Every
// conditional write that changes an execution's status takes its status
// part from here; the fences (worker, session, attempt, backoff) are the
// caller's, ANDed to it. A pair the table lacks panics: a bug in this
// package, which TestStoreFollowsTransitionTable finds.
func statusCondition(op execution.Op, to execution.Status, names map[string]string, values map[string]types.AttributeValue) string {
	t := execution.MustTransition(op, to)
	if len(t.From) == 0 {
		names["#id"] = resources.ExecutionKey
		return "attribute_not_exists(#id)"
	}
	names["#status"] = "status"
	ph := make([]string, len(t.From))
	for i, s := range t.From {
		ph[i] = ":from_" + string(s)
		values[ph[i]] = str(string(s))
	}
	if len(ph) == 1 {
		return "#status = " + ph[0]
	}
	return "#status IN (" + strings.Join(ph, ", ") + ")"
}

// setStatus returns the assignment of status to ("#status = :to_status",
// for a SET clause) and adds its value. The caller's condition comes from
// statusCondition with the same status, which adds the name.
func setStatus(to execution.Status, values map[string]types.AttributeValue) string {
	values[":to_status"] = str(string(to))
	return "#status = :to_status"
}
