package scaleouttype

import "encoding/json"

// DataFlowStats is what a dataflow task moved, kept with its task summary
// as SSISDB keeps execution_data_statistics: rows per path, the totals,
// the memory its batches took at most, and the first rows of the path it
// was asked to tap. It is cut to a few KiB (see execution.Result.Fit);
// Truncated says that something was left out.
type DataFlowStats struct {
	// Paths are the rows sent on each path ("component.output"), by path.
	Paths           []PathRows `json:"paths"`
	RowsRead        int64      `json:"rows_read"`
	RowsWritten     int64      `json:"rows_written"`
	RowsRejected    int64      `json:"rows_rejected"`
	MemoryPeakBytes int64      `json:"memory_peak_bytes"`
	// Tap holds the first rows of the tapped path (with: tap), when one
	// was asked for.
	Tap *TapRows `json:"tap,omitempty" dynamodbav:",omitempty"`
	// PathsOmitted counts the paths left out of Paths to keep the
	// execution small; the task's output line in the messages has every
	// path.
	PathsOmitted int `json:"paths_omitted,omitempty" dynamodbav:",omitempty"`
	// Truncated is true when paths or the tap were left out.
	Truncated bool `json:"truncated,omitempty" dynamodbav:",omitempty"`
}

// PathRows is how many rows went along one path of a data flow.
type PathRows struct {
	Path string `json:"path"`
	Rows int64  `json:"rows"`
}

// TapRows are the first rows of a tapped path, as a data viewer shows
// them: the columns, then each row as a JSON array of its values in the
// columns' order (sensitive values as "***", long texts cut).
type TapRows struct {
	Path    string            `json:"path"`
	Columns []string          `json:"columns"`
	Rows    []json.RawMessage `json:"rows"`
	// Truncated is true when rows were left out (or values cut).
	Truncated bool `json:"truncated,omitempty" dynamodbav:",omitempty"`
}

// DataStatistic is one row of an execution's data statistics: the rows a
// dataflow task sent along one path.
type DataStatistic struct {
	Task string `json:"task"`
	Path string `json:"path"`
	Rows int64  `json:"rows"`
}

// DataStatistics are an execution's rows per path, task by task, as GET
// /v1/executions/{id}/data-statistics answers (SSISDB's
// execution_data_statistics).
type DataStatistics struct {
	ExecutionID string          `json:"execution_id"`
	Statistics  []DataStatistic `json:"statistics"`
	// Truncated is true when a task's paths were not all kept
	// (DataFlowStats.PathsOmitted) or task summaries were omitted (the
	// execution's tasks_omitted): the list may then be incomplete.
	Truncated bool `json:"truncated,omitempty"`
}

// DataStatistics lists e's rows per path from its task summaries, in
// task order then path order.
func (e Execution) DataStatistics() DataStatistics {
	out := DataStatistics{ExecutionID: e.ID, Statistics: []DataStatistic{}, Truncated: e.TasksOmitted > 0}
	for _, t := range e.Tasks {
		if t.DataFlow == nil {
			continue
		}
		out.Truncated = out.Truncated || t.DataFlow.PathsOmitted > 0
		for _, p := range t.DataFlow.Paths {
			out.Statistics = append(out.Statistics, DataStatistic{Task: t.Path, Path: p.Path, Rows: p.Rows})
		}
	}
	return out
}
