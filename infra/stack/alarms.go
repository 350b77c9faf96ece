package stack

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scaleout/scaleout/pkg/resources"
)

// Alarm thresholds.
const (
	// oldestMessageAge: a message waiting this long means the pool's
	// workers do not keep up (or none runs). No message is held while an
	// execution runs, and a session's watchdog is sent afresh each time it
	// comes back, so only waiting work grows old.
	oldestMessageAge = 15 * time.Minute
	// streamIteratorAge: the catalog's aggregates lag the executions by
	// this much.
	streamIteratorAge = 5 * time.Minute
	// api5xx: server errors in five minutes; a single one is logged, a
	// handful is an incident.
	api5xx = 5
	// reconcilerErrors: failed passes in five minutes (one runs a
	// minute). A pass fails when it could not fix an execution or read
	// the table; one failure is retried by the next pass, three of five
	// is a fault that stays.
	reconcilerErrors = 3
	// tableThrottles: throttled reads and writes of a table (and, for its
	// indexes, writes) in five minutes. On demand tables throttle on a hot
	// key or on traffic past twice its previous peak; the SDK retries, so
	// a few pass unnoticed, more fail calls.
	tableThrottles = 10
)

// workerContainer is the name of the worker's container in a Fargate
// pool's task definition (workers.go).
const workerContainer = "worker"

// Monitoring is the alarms' topic and the dashboard.
type Monitoring struct {
	Topic     awssns.Topic
	Alarms    []awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
}

// newMonitoring defines the alarms, which notify an SNS topic (and the
// settings' e-mail address), and a dashboard of the pools, the workers,
// the API and the stream.
func (s *Stack) newMonitoring(set Settings) *Monitoring {
	m := &Monitoring{}
	// CloudWatch cannot publish to a topic encrypted with the AWS-managed
	// SNS key: the topic has its own key that CloudWatch may use.
	key := awskms.NewKey(s.Stack, jsii.String("AlarmsKey"), &awskms.KeyProps{
		Description:       jsii.String("Scaleout " + set.Prefix + ": encrypts the alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": s.Account()}},
	}), nil)
	m.Topic = awssns.NewTopic(s.Stack, jsii.String("Alarms"), &awssns.TopicProps{
		TopicName:   jsii.String(set.Prefix + "-alarms"),
		DisplayName: jsii.String("Scaleout " + set.Prefix + " alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if set.AlarmEmail != "" {
		m.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(set.AlarmEmail), nil))
	}
	notify := awscloudwatchactions.NewSnsAction(m.Topic)
	alarm := func(scope constructs.Construct, id, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(set.Prefix + "-" + id),
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(notify)
		a.AddOkAction(notify)
		m.Alarms = append(m.Alarms, a)
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	maxOver := func(p awscdk.Duration) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: p}
	}
	sumOver := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: five}

	pools := slices.Sorted(maps.Keys(s.Pools))
	for _, pool := range pools {
		q := s.Pools[pool]
		alarm(s.Stack, "dlq-"+pool, fmt.Sprintf("pool %s: messages reached the dead-letter queue after %v receives", pool, s.Resources.Pools[pool].MaxReceiveCount),
			q.DeadLetterQueue().Queue.MetricApproximateNumberOfMessagesVisible(maxOver(five)), 1)
		alarm(s.Stack, "oldest-message-"+pool, fmt.Sprintf("pool %s: a message has waited %s: the workers do not keep up", pool, oldestMessageAge),
			q.MetricApproximateAgeOfOldestMessage(maxOver(five)), oldestMessageAge.Seconds())
	}
	alarm(s.Stack, "stream-dlq", "stream batches the stream function gave up on: aggregates miss their records",
		s.StreamDLQ.MetricApproximateNumberOfMessagesVisible(maxOver(five)), 1)
	alarm(s.Stack, "webhooks-dlq", fmt.Sprintf("webhook deliveries failed %d tries and reached the dead-letter queue: a receiver is down or refuses them",
		s.Resources.Webhooks.MaxReceiveCount),
		s.WebhookQueue.DeadLetterQueue().Queue.MetricApproximateNumberOfMessagesVisible(maxOver(five)), 1)
	alarm(s.Stack, "api-5xx", fmt.Sprintf("the HTTP API answered %d or more 5xx in 5 minutes", api5xx),
		s.HTTPAPI.MetricServerError(sumOver), api5xx)
	alarm(s.Stack, "stream-iterator-age", fmt.Sprintf("the stream function lags the executions table by %s or more", streamIteratorAge),
		s.Stream.Metric(jsii.String("IteratorAge"), maxOver(five)), float64(streamIteratorAge.Milliseconds()))
	for _, fn := range []struct {
		name string
		fn   awslambda.Function
	}{{"api", s.API}, {"stream", s.Stream}, {"webhooks", s.Webhooks}} {
		alarm(s.Stack, fn.name+"-errors", "the "+fn.name+" function failed", fn.fn.MetricErrors(sumOver), 1)
		alarm(s.Stack, fn.name+"-throttles", "the "+fn.name+" function was throttled", fn.fn.MetricThrottles(sumOver), 1)
	}
	alarm(s.Stack, "reconciler-errors", fmt.Sprintf("%d or more reconcile passes in 5 minutes failed (its log says which executions): "+
		"lost messages are not sent again, lost attempts not recovered", reconcilerErrors),
		s.Reconciler.MetricErrors(sumOver), reconcilerErrors)
	for _, t := range []struct {
		name  string
		table awsdynamodb.Table
		def   resources.Table
	}{{"executions", s.Executions, s.Resources.Executions}, {"catalog", s.Catalog, s.Resources.Catalog}} {
		alarm(s.Stack, t.name+"-throttles", fmt.Sprintf("the %s table (or an index) throttled %d or more requests in 5 minutes", t.def.Name, tableThrottles),
			tableThrottleEvents(t.table, t.def, five), tableThrottles)
	}
	if s.Workers != nil {
		s.taskFailures(set, m.Topic, key)
	}

	m.Dashboard = s.newDashboard(set, pools)
	output(s.Stack, "AlarmTopicArn", m.Topic.TopicArn(), "SNS topic of the alarms (subscribe to it)")
	output(s.Stack, "DashboardName", m.Dashboard.DashboardName(), "CloudWatch dashboard")
	return m
}

// tableThrottleEvents is the sum of a table's read and write throttle
// events and of its indexes' write throttle events (a throttled index
// throttles the table's writes).
func tableThrottleEvents(t awsdynamodb.Table, def resources.Table, period awscdk.Duration) awscloudwatch.IMetric {
	using := map[string]awscloudwatch.IMetric{}
	metric := func(name string, dims map[string]*string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(name), DimensionsMap: &dims,
			Statistic: jsii.String("Sum"), Period: period,
		})
	}
	using["r"] = metric("ReadThrottleEvents", map[string]*string{"TableName": t.TableName()})
	using["w"] = metric("WriteThrottleEvents", map[string]*string{"TableName": t.TableName()})
	ids := []string{"r", "w"}
	for i, ix := range def.Indexes {
		id := fmt.Sprintf("i%d", i)
		using[id] = metric("WriteThrottleEvents", map[string]*string{"TableName": t.TableName(), "GlobalSecondaryIndexName": jsii.String(ix.Name)})
		ids = append(ids, id)
	}
	// SUM of the list, not r + w: a metric without data in a period (no
	// throttles) leaves the sum of the others.
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("SUM([" + strings.Join(ids, ", ") + "])"),
		UsingMetrics: &using,
		Label:        jsii.String(def.Name + " throttle events"),
		Period:       period,
	})
}

// taskFailures sends the alarm topic a message for each worker task that
// failed: one that could not start (image pull, network, capacity) or
// whose worker container exited with an error. ECS starts a replacement,
// which a crash-looping worker fails again (ECS backs such restarts off),
// and the scaling never sees it: only this says so.
func (s *Stack) taskFailures(set Settings, topic awssns.Topic, key awskms.Key) {
	if s.Workers.Cluster == nil {
		return
	}
	name := set.Prefix + "-worker-task-failures"
	rule := awsevents.NewRule(s.Stack, jsii.String("WorkerTaskFailures"), &awsevents.RuleProps{
		RuleName:    jsii.String(name),
		Description: jsii.String("Scaleout " + set.Prefix + ": a worker task failed to start or its worker exited with an error"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.ecs"),
			DetailType: jsii.Strings("ECS Task State Change"),
			Detail: &map[string]any{
				"clusterArn": []any{s.Workers.Cluster.ClusterArn()},
				"lastStatus": []any{"STOPPED"},
				"$or": []any{
					map[string]any{"stopCode": []any{"TaskFailedToStart"}},
					map[string]any{"containers": map[string]any{
						"name":     []any{workerContainer},
						"exitCode": []any{map[string]any{"anything-but": []any{0}}},
					}},
				},
			},
		},
	})
	rule.AddTarget(awseventstargets.NewSnsTopic(topic, &awseventstargets.SnsTopicProps{
		Message: awsevents.RuleTargetInput_FromText(jsii.String(fmt.Sprintf(
			"Scaleout %s: worker task %s of %s stopped: %s (stop code %s). Its logs: the log group of the pool's worker service.",
			set.Prefix,
			*awsevents.EventField_FromPath(jsii.String("$.detail.taskArn")),
			*awsevents.EventField_FromPath(jsii.String("$.detail.group")),
			*awsevents.EventField_FromPath(jsii.String("$.detail.stoppedReason")),
			*awsevents.EventField_FromPath(jsii.String("$.detail.stopCode"))))),
	}))
	// The topic is encrypted with its own key: EventBridge may use it for
	// this rule's messages only.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("EventBridgeTaskFailures"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
		// The rule's ARN from its name: a reference to the rule would make
		// a cycle (rule -> topic -> key -> rule).
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": s.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("events"), Resource: jsii.String("rule"), ResourceName: jsii.String(name),
		})}},
	}), nil)
}

func (s *Stack) newDashboard(set Settings, pools []string) awscloudwatch.Dashboard {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	var depth, age, tasks []awscloudwatch.IMetric
	for _, pool := range pools {
		q := s.Pools[pool]
		label := func(l string) *awscloudwatch.MetricOptions {
			return &awscloudwatch.MetricOptions{Label: jsii.String(l), Statistic: jsii.String("Maximum"), Period: minute}
		}
		depth = append(depth,
			q.MetricApproximateNumberOfMessagesVisible(label(pool+" waiting")),
			q.MetricApproximateNumberOfMessagesNotVisible(label(pool+" in flight")),
			q.DeadLetterQueue().Queue.MetricApproximateNumberOfMessagesVisible(label(pool+" dead-letter")))
		age = append(age, q.MetricApproximateAgeOfOldestMessage(label(pool)))
		if s.Workers != nil {
			r := s.Workers.running(pool)
			label := pool
			if r.id != "tasks" {
				label += " (" + r.id + ")"
			}
			tasks = append(tasks, r.metric("Average", minute, label))
		}
	}
	graph := func(title string, left []awscloudwatch.IMetric, right []awscloudwatch.IMetric) awscloudwatch.IWidget {
		p := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(12), Height: jsii.Number(6)}
		if right != nil {
			p.Right = &right
		}
		return awscloudwatch.NewGraphWidget(p)
	}
	latency := func(stat string) awscloudwatch.IMetric {
		return s.HTTPAPI.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String(stat), Label: jsii.String("latency " + stat), Period: minute})
	}
	dash := awscloudwatch.NewDashboard(s.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(set.Prefix),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})
	dash.AddWidgets(
		graph("Queue depth per pool", depth, nil),
		graph("Oldest message age per pool (s)", age, nil),
	)
	api := graph("API latency (ms) and 5xx",
		[]awscloudwatch.IMetric{latency("p50"), latency("p99")},
		[]awscloudwatch.IMetric{s.HTTPAPI.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Label: jsii.String("5xx"), Period: minute})})
	if tasks != nil {
		dash.AddWidgets(graph("Running worker tasks per pool", tasks, nil), api)
	} else {
		dash.AddWidgets(api)
	}
	dash.AddWidgets(
		graph("Stream iterator age (ms)", []awscloudwatch.IMetric{
			s.Stream.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}),
		}, nil),
		graph("Function errors and throttles", []awscloudwatch.IMetric{
			s.API.MetricErrors(&awscloudwatch.MetricOptions{Label: jsii.String("api errors"), Period: minute}),
			s.API.MetricThrottles(&awscloudwatch.MetricOptions{Label: jsii.String("api throttles"), Period: minute}),
			s.Stream.MetricErrors(&awscloudwatch.MetricOptions{Label: jsii.String("stream errors"), Period: minute}),
			s.Stream.MetricThrottles(&awscloudwatch.MetricOptions{Label: jsii.String("stream throttles"), Period: minute}),
		}, nil),
	)
	return dash
}
