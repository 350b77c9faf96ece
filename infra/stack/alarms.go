package stack

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
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
)

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
	alarm(s.Stack, "api-5xx", fmt.Sprintf("the HTTP API answered %d or more 5xx in 5 minutes", api5xx),
		s.HTTPAPI.MetricServerError(sumOver), api5xx)
	alarm(s.Stack, "stream-iterator-age", fmt.Sprintf("the stream function lags the executions table by %s or more", streamIteratorAge),
		s.Stream.Metric(jsii.String("IteratorAge"), maxOver(five)), float64(streamIteratorAge.Milliseconds()))
	for _, fn := range []struct {
		name string
		fn   awslambda.Function
	}{{"api", s.API}, {"stream", s.Stream}} {
		alarm(s.Stack, fn.name+"-errors", "the "+fn.name+" function failed", fn.fn.MetricErrors(sumOver), 1)
		alarm(s.Stack, fn.name+"-throttles", "the "+fn.name+" function was throttled", fn.fn.MetricThrottles(sumOver), 1)
	}

	m.Dashboard = s.newDashboard(set, pools)
	output(s.Stack, "AlarmTopicArn", m.Topic.TopicArn(), "SNS topic of the alarms (subscribe to it)")
	output(s.Stack, "DashboardName", m.Dashboard.DashboardName(), "CloudWatch dashboard")
	return m
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
