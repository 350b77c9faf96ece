package resources

// The executions stream carries every write to an execution item; only
// status transitions (and items created or deleted) change the catalog's
// aggregates. The one write that changes no status is the reconciler's
// re-enqueue mark on a pending execution (pending before and after), so a
// MODIFY record is a transition exactly when its old or its new image is
// not pending. StreamFilters states that as Lambda event filter patterns
// (the event source mapping ORs them; events filtered out are neither
// delivered nor billed), and IsTransition as the same rule in Go, for the
// local stream poller.

// StreamFilters are the executions stream's event source mapping filter
// patterns.
var StreamFilters = []string{
	`{"eventName":["INSERT","REMOVE"]}`,
	`{"eventName":["MODIFY"],"dynamodb":{"NewImage":{"status":{"S":[{"anything-but":["pending"]}]}}}}`,
	`{"eventName":["MODIFY"],"dynamodb":{"OldImage":{"status":{"S":[{"anything-but":["pending"]}]}}}}`,
}

// IsTransition reports whether a stream record passes StreamFilters:
// eventName is INSERT, MODIFY or REMOVE, and oldStatus and newStatus are
// the images' status values ("" when absent).
func IsTransition(eventName, oldStatus, newStatus string) bool {
	switch eventName {
	case "INSERT", "REMOVE":
		return true
	case "MODIFY":
		return anythingBut(newStatus, "pending") || anythingBut(oldStatus, "pending")
	}
	return false
}

// anythingBut is the "anything-but" match of a filter pattern: the value
// is present and differs.
func anythingBut(v, not string) bool { return v != "" && v != not }
