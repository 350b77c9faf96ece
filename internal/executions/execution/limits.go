package execution

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// An execution is one DynamoDB item, and an item holds at most 400 KiB
// (MaxItemBytes). What an execution is given when it is submitted (its
// definition, parameters, names) is held to MaxSubmittedBytes, so that what
// it gathers while it runs (its result and the record of its attempts), each
// part cut to its own cap below, always fits beside it: whatever the API
// accepts can be recorded to the end.
//
// Budget of the 400 KiB: at most 320 KiB submitted; the result's error 4 KiB
// and task summaries 32 KiB; 1 KiB for each attempt record's reason (failed
// and lost attempts are at most 2·(MaxRetries+1)); what is left covers the
// other fields and the released attempts.
const (
	// MaxItemBytes is DynamoDB's item size limit.
	MaxItemBytes = 400 << 10
	// MaxSubmittedBytes caps an execution as stored when it is created.
	MaxSubmittedBytes = 320 << 10
	// MaxDefinitionBytes caps a package definition carried by an execution.
	MaxDefinitionBytes = 256 << 10
	// MaxParametersBytes caps an execution's parameter values, as JSON.
	MaxParametersBytes = 64 << 10
	// MaxCommandBytes caps a bare command's program and arguments, in all
	// (Linux takes at most 128 KiB in one argument).
	MaxCommandBytes = 128 << 10
	// MaxErrorBytes caps the error an execution ended with; a longer one
	// keeps its start and its end, with a marker saying what was cut.
	MaxErrorBytes = 4 << 10
	// MaxTaskErrorBytes caps one task summary's error, as MaxErrorBytes.
	MaxTaskErrorBytes = 1 << 10
	// MaxTaskPathBytes caps one task summary's path.
	MaxTaskPathBytes = 512
	// MaxTasksBytes caps the task summaries of an execution, in all; the
	// summaries past it are left out and counted (TasksOmitted).
	MaxTasksBytes = 32 << 10
	// MaxReasonBytes caps the reason of an attempt record.
	MaxReasonBytes = 1 << 10
	// MaxDataFlowBytes caps one task summary's data flow statistics, as
	// JSON; they count in MaxTasksBytes, after every kept summary's own
	// fields (a summary is never left out for its statistics).
	MaxDataFlowBytes = 6 << 10
	// MaxTapRows caps the tap rows kept in a data flow's statistics.
	MaxTapRows = 100
	// MaxTapBytes caps those rows, as JSON, in all.
	MaxTapBytes = 3 << 10
	// MaxTapValueBytes caps one text value of a tap row.
	MaxTapValueBytes = 256
)

// ErrTooLarge matches a write that would make an execution larger than
// its item can hold.
var ErrTooLarge = errors.New("execution too large to store")

// Clip returns s if it is at most max bytes long; else its start and its
// end around a marker that says how many bytes were cut, max bytes in all,
// cut between UTF-8 characters.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := len(s) // an upper bound of the bytes cut: the marker's length is fixed by it
	marker := fmt.Sprintf(" […%d bytes cut…] ", cut)
	room := max - len(marker)
	if room < 2 {
		return validPrefix(s, max)
	}
	head := validPrefix(s, room*3/4)
	tail := validSuffix(s, room-len(head))
	marker = fmt.Sprintf(" […%d bytes cut…] ", len(s)-len(head)-len(tail))
	return head + marker + tail
}

// validPrefix is the longest start of s of at most n bytes that ends
// between UTF-8 characters.
func validPrefix(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// validSuffix is the longest end of s of at most n bytes that starts at a
// UTF-8 character.
func validSuffix(s string, n int) string {
	if n >= len(s) {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}

// Fit returns r cut to what an execution keeps: the error to
// MaxErrorBytes; at most MaxTaskSummaries task summaries of at most
// MaxTasksBytes in all (as JSON), each with its path and error cut; the
// summaries left out are added to TasksOmitted. Data flow statistics take
// the room the kept summaries leave, each cut to MaxDataFlowBytes
// (FitDataFlow), in task order.
func (r Result) Fit() Result {
	r.Error = Clip(r.Error, MaxErrorBytes)
	if len(r.Tasks) == 0 {
		return r
	}
	tasks := make([]TaskSummary, 0, min(len(r.Tasks), MaxTaskSummaries))
	size := 2 // []
	for _, t := range r.Tasks {
		t.Path = Clip(t.Path, MaxTaskPathBytes)
		t.Error = Clip(t.Error, MaxTaskErrorBytes)
		flow := t.DataFlow
		t.DataFlow = nil
		b, _ := json.Marshal(t)
		if len(tasks) == MaxTaskSummaries || size+len(b)+1 > MaxTasksBytes {
			break
		}
		size += len(b) + 1
		t.DataFlow = flow
		tasks = append(tasks, t)
	}
	const key = len(`,"data_flow":`)
	for i := range tasks {
		if tasks[i].DataFlow == nil {
			continue
		}
		f := FitDataFlow(tasks[i].DataFlow, min(MaxDataFlowBytes, MaxTasksBytes-size-key))
		if f != nil {
			size += key + jsonSize(f)
		}
		tasks[i].DataFlow = f
	}
	r.TasksOmitted += len(r.Tasks) - len(tasks)
	r.Tasks = tasks
	return r
}
