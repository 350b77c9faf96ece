package streampoll

import "testing"

// NewTestDynamoCheckpoints returns checkpoints in a table of the test's
// own on the stand-in, for the conformance run in package streampoll_test.
func NewTestDynamoCheckpoints(t *testing.T) *DynamoCheckpoints {
	t.Helper()
	ddb, _ := clients(t)
	table, _ := createTable(t, ddb, false)
	return NewDynamoCheckpoints(ddb, table)
}
