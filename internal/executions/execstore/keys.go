package execstore

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/executions/execution"
)

// The index keys of an execution (see package resources). The package,
// folder and day keys are set once, at create; the status key follows the
// status (withStatusKey).

func createdKey(created time.Time, id string) string { return execution.CreatedKey(created, id) }

func packageKey(ref, id string) string {
	return resources.ShardKey(ref, resources.Shard(id, resources.ListShards))
}

func folderKey(folder, id string) string {
	return resources.ShardKey(folder, resources.Shard(id, resources.ListShards))
}

func dayKey(created time.Time, id string) string {
	return resources.ShardKey(created.UTC().Format(time.DateOnly), resources.Shard(id, resources.ListShards))
}

// statusKey is the by_status partition key of execution id in status st,
// or "" when st is final: by_status is sparse and holds only executions
// that are not final.
func statusKey(id string, st execution.Status) string {
	if st.Final() {
		return ""
	}
	return resources.ShardKey(resources.ActiveKey, resources.Shard(id, resources.StatusShards))
}

// withStatusKey returns the update expression expr ("SET ..." optionally
// followed by " REMOVE ...") extended to keep the by_status key of
// execution id in step with the status st the update writes: set while st
// is not final, removed when it is. It adds the value to values. Every
// write that changes an execution's status must go through it, in the same
// UpdateItem, or the execution stays listed under its old status.
func withStatusKey(expr, id string, st execution.Status, values map[string]types.AttributeValue) string {
	set, remove, _ := strings.Cut(expr, " REMOVE ")
	if k := statusKey(id, st); k != "" {
		values[":status_key"] = str(k)
		set += ", " + resources.StatusKey + " = :status_key"
	} else if remove != "" {
		remove += ", " + resources.StatusKey
	} else {
		remove = resources.StatusKey
	}
	if remove == "" {
		return set
	}
	return set + " REMOVE " + remove
}

// IndexKeys returns the partition key each index files e under, as e
// stands (by_status only while e is not final), and the table's own key:
// for a capacity model that counts the writes each key receives.
func IndexKeys(e execution.Execution) map[string]string {
	keys := map[string]string{
		"":                  e.ID, // the table
		resources.ByPackage: packageKey(e.Ref(), e.ID),
		resources.ByFolder:  folderKey(e.Folder, e.ID),
		resources.ByDay:     dayKey(e.CreatedAt, e.ID),
	}
	if k := statusKey(e.ID, e.Status); k != "" {
		keys[resources.ByStatus] = k
	}
	return keys
}
