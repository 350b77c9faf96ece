package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/scaleout/scaleout/internal/aws/pricing"
	"github.com/scaleout/scaleout/internal/aws/resources"
)

// printCosts prints the cost figures: DynamoDB units and SQS requests per
// no-op execution and per running minute, and the USD of a million
// executions, component by component on stderr.
func printCosts(disp dispatchResult, tput throughputResult, agg aggregateResult, rm runningResult) {
	n := float64(len(tput.ids))
	sys, fold := tput.usage.Total(), agg.configured.usage.Total()
	wru := (sys.Write + fold.Write) / n
	rru := (sys.Read + fold.Read) / n
	sqsReq := float64(tput.usage.SQSRequests()) / n
	stderrf("# cost per no-op execution: the throughput phase's metered calls of the API and the 2 workers (create, claim, "+
		"messages, finish, message deletes, empty long polls, worker registry writes over the run, anything else listed above) "+
		"divided by %d executions: %.2f WRU %.2f RRU %.2f SQS requests; plus the stream function's aggregate writes at the "+
		"stack's batching (%s, %d records a batch): %.2f WRU %.2f RRU\n",
		len(tput.ids), sys.Write/n, sys.Read/n, sqsReq, agg.configured.batching, agg.configured.batch, fold.Write/n, fold.Read/n)
	fmt.Printf("bench: cost.wru_per_execution %.2f WRU\n", wru)
	fmt.Printf("bench: cost.rru_per_execution %.2f RRU\n", rru)
	fmt.Printf("bench: cost.sqs_requests_per_execution %.2f requests\n", sqsReq)

	run := rm.usage.Total()
	runWRU, runRRU, runSQS := rm.perMinute(run.Write), rm.perMinute(run.Read), rm.perMinute(float64(rm.usage.SQSRequests()))
	stderrf("# cost per running minute: a second system (own tables, queue and meter), one worker of concurrency %d with the "+
		"default lease, heartbeat and poll wait, %d executions of a %s sleep; every call of its API and worker metered over %s "+
		"while all %d ran, divided by %d and by the window's minutes; calls over the window (per execution per minute):\n",
		runningConcurrency, rm.executions, runningSleep, rm.window.Round(time.Millisecond), rm.executions, rm.executions)
	printCalls(os.Stderr, rm.usage, int(float64(rm.executions)*rm.window.Minutes()+0.5))
	fmt.Printf("bench: cost.wru_per_running_minute %.1f WRU\n", runWRU)
	fmt.Printf("bench: cost.rru_per_running_minute %.1f RRU\n", runRRU)
	fmt.Printf("bench: cost.sqs_requests_per_running_minute %.1f requests\n", runSQS)

	mem := resources.FunctionMemoryMiB
	streamInv := float64(agg.configured.batches) / n
	apiMs, streamMs := msOf(disp.apiHandler), msOf(agg.configured.handler)
	const million = 1e6
	parts := []struct {
		name string
		u    pricing.Usage
		how  string
	}{
		{"API Gateway HTTP API", pricing.Usage{HTTPRequests: 1}, "1 POST /v1/executions"},
		{"API Lambda requests", pricing.Usage{LambdaInvocations: 1}, "1 invocation"},
		{"API Lambda duration", pricing.Usage{LambdaGBSeconds: pricing.GBSeconds(mem, apiMs)},
			fmt.Sprintf("%d MiB x %.2f ms (the handler's p50 time per POST, server side, in the dispatch phase; billed per started ms)", mem, apiMs)},
		{"stream Lambda requests", pricing.Usage{LambdaInvocations: streamInv},
			fmt.Sprintf("%.4f invocations (%d records a batch at %d executions/s)", streamInv, agg.configured.batch, streamRate)},
		{"stream Lambda duration", pricing.Usage{LambdaGBSeconds: streamInv * pricing.GBSeconds(mem, streamMs)},
			fmt.Sprintf("%.4f x %d MiB x %.2f ms (the aggregate handler's p50 time per batch)", streamInv, mem, streamMs)},
		{"DynamoDB writes, execution", pricing.Usage{WRU: sys.Write / n}, fmt.Sprintf("%.2f WRU", sys.Write/n)},
		{"DynamoDB writes, aggregates", pricing.Usage{WRU: fold.Write / n}, fmt.Sprintf("%.2f WRU", fold.Write/n)},
		{"DynamoDB reads", pricing.Usage{RRU: rru}, fmt.Sprintf("%.2f RRU", rru)},
		{"SQS requests", pricing.Usage{SQSRequests: sqsReq}, fmt.Sprintf("%.2f requests", sqsReq)},
		{"EventBridge events", pricing.Usage{Events: 1}, `1 "Execution Ended" event`},
	}
	p := pricing.ListPrices
	stderrf("# USD per million no-op executions (list prices %s as of %s, package pricing; free tiers left out):\n", p.Region, p.Checked)
	tw := tabwriter.NewWriter(os.Stderr, 0, 0, 2, ' ', 0)
	total := 0.0
	for _, c := range parts {
		usd := p.Cost(c.u.Scale(million)).Total()
		total += usd
		fmt.Fprintf(tw, "#   %s\t$%.4f\tper execution: %s\n", c.name, usd, c.how)
	}
	fmt.Fprintf(tw, "#   total\t$%.4f\t\n", total)
	minute := pricing.Usage{WRU: runWRU, RRU: runRRU, SQSRequests: runSQS}
	minuteUSD := p.Cost(minute.Scale(million)).Total()
	fmt.Fprintf(tw, "#   + 10 running minutes\t$%.4f\t10 x (%.1f WRU + %.1f RRU + %.1f SQS requests) = 10 x $%.4f\n", 10*minuteUSD, runWRU, runRRU, runSQS, minuteUSD)
	fmt.Fprintf(tw, "#   total with 10 minutes\t$%.4f\t\n", total+10*minuteUSD)
	_ = tw.Flush() // to stderr, like the stderrf lines around it
	stderrf("#   left out: the reconciler's fixed cost (one invocation a minute and its reads, whatever the load), CloudWatch Logs " +
		"and metrics, the workers' compute (Fargate or EC2) and data transfer, KMS (sensitive parameters), the webhooks, " +
		"the stream's end-of-tumbling-window invocations (one per shard per 15 minutes), the local stream poller's " +
		"checkpoint writes (Lambda makes none), failed conditional writes (counted above when there are any), and free tiers. " +
		"Lambda duration here is the handler's time on this machine against local stand-ins, not AWS's latencies.\n")
	// The session watchdogs: each live session's comes back when its lease
	// would run out and is sent again by the worker that receives it. The
	// running worker, full, never receives one: the pool's spare worker
	// does, for both sessions (the running worker's and its own), so half
	// of its re-arming requests are the running session's.
	wd := rm.watchdog
	rearm := float64(wd.SQS["SQS.SendMessage"]+wd.SQS["SQS.DeleteMessage"]+wd.SQS["SQS.DeleteMessageBatch"]) / 2
	watchdog := rm.perMinute(rearm)
	watchdogUSD := p.Cost(pricing.Usage{SQSRequests: 10 * watchdog}.Scale(million)).Total()
	stderrf("#   the session watchdogs, in a pool with a free slot to receive them (the spare worker's SendMessage and "+
		"DeleteMessage over the window, half of them the running session's; the ReceiveMessage takes an idle long poll's "+
		"place): %.1f requests, %.2f a running minute per execution at %d a worker: $%.2f more per million 10-minute "+
		"executions ($%.2f in all); the spare worker's calls: %v\n", rearm, watchdog, runningConcurrency, watchdogUSD,
		total+10*minuteUSD+watchdogUSD, wd.SQS)
	fmt.Printf("bench: cost.sqs_watchdog_requests_per_running_minute %.2f requests\n", watchdog)
	fmt.Printf("bench: cost.usd_per_million %.2f USD\n", total)
	fmt.Printf("bench: cost.usd_per_million_10min %.2f USD\n", total+10*minuteUSD)
}
