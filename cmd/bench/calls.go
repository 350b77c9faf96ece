package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// callCounter counts SDK operations ("DynamoDB.PutItem", "SQS.SendMessage")
// and records each call's duration, through a middleware that every client
// built from the aws.Config it is added to runs once per call (retries of
// one call are not counted again).
type callCounter struct {
	mu    sync.Mutex
	calls map[string][]time.Duration
	// items counts the DynamoDB items written (a PutItem, UpdateItem or
	// DeleteItem one, a BatchWriteItem one per request, a
	// TransactWriteItems one per action), by operation.
	items map[string]int
}

func newCallCounter() *callCounter {
	return &callCounter{calls: map[string][]time.Duration{}, items: map[string]int{}}
}

// itemsOf is how many items a DynamoDB call writes (0 for reads and SQS).
func itemsOf(params any) int {
	switch in := params.(type) {
	case *dynamodb.PutItemInput, *dynamodb.UpdateItemInput, *dynamodb.DeleteItemInput:
		return 1
	case *dynamodb.BatchWriteItemInput:
		n := 0
		for _, reqs := range in.RequestItems {
			n += len(reqs)
		}
		return n
	case *dynamodb.TransactWriteItemsInput:
		return len(in.TransactItems)
	}
	return 0
}

// apiOption is the middleware, for aws.Config.APIOptions.
func (c *callCounter) apiOption(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("BenchCallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			name := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
			if t := tableOf(in.Parameters); t != "" {
				name += " [" + t[strings.LastIndex(t, "-")+1:] + "]"
			}
			t0 := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			d := time.Since(t0)
			c.mu.Lock()
			c.calls[name] = append(c.calls[name], d)
			if n := itemsOf(in.Parameters); n > 0 && err == nil {
				c.items[name] += n
			}
			c.mu.Unlock()
			return out, md, err
		}), middleware.After)
}

// tableOf names the table a DynamoDB single-table call works on.
func tableOf(params any) string {
	switch in := params.(type) {
	case *dynamodb.PutItemInput:
		return aws.ToString(in.TableName)
	case *dynamodb.UpdateItemInput:
		return aws.ToString(in.TableName)
	case *dynamodb.GetItemInput:
		return aws.ToString(in.TableName)
	case *dynamodb.DeleteItemInput:
		return aws.ToString(in.TableName)
	case *dynamodb.QueryInput:
		return aws.ToString(in.TableName)
	}
	return ""
}

// take returns the calls recorded since the last take and starts afresh.
func (c *callCounter) take() callStats {
	s, _ := c.takeAll()
	return s
}

// takeAll is take with the items written, by operation.
func (c *callCounter) takeAll() (callStats, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, items := callStats(c.calls), c.items
	c.calls, c.items = map[string][]time.Duration{}, map[string]int{}
	return s, items
}

// callStats are the recorded calls by operation.
type callStats map[string][]time.Duration

// total counts the calls, leaving out the operations whose names start
// with one of except.
func (s callStats) total(except ...string) int {
	n := 0
	for op, ds := range s {
		if !slices.ContainsFunc(except, func(e string) bool { return strings.HasPrefix(op, e) }) {
			n += len(ds)
		}
	}
	return n
}

// print writes one line per operation: calls per execution, latency.
func (s callStats) print(w io.Writer, executions int) {
	ops := make([]string, 0, len(s))
	for op := range s {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return len(s[ops[i]]) > len(s[ops[j]]) })
	for _, op := range ops {
		ds := slices.Clone(s[op])
		slices.Sort(ds)
		fmt.Fprintf(w, "#   %-34s %6d calls  %5.2f per execution  p50 %6.2f ms  p99 %7.2f ms\n",
			op, len(ds), float64(len(ds))/float64(executions), msOf(pct(ds, 50)), msOf(pct(ds, 99)))
	}
}

// pct is the nearest-rank percentile of sorted values.
func pct[T any](sorted []T, p float64) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func msOf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
