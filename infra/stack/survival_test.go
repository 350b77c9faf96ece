package stack_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/stack"
	"github.com/scaleout/scaleout/pkg/resources"
)

// What keeps the stack standing after its first deploy: redeploys after
// a failed create or a destroy, throttling, alarms, and the network's
// NAT gateways.

// TestTablesSurviveARedeploy: the tables have fixed names, so they are
// deleted when the stack's first create rolls back (else the next deploy
// stops on "already exists") and kept otherwise (stack deleted, table
// replaced), with deletion protection.
func TestTablesSurviveARedeploy(t *testing.T) {
	for _, def := range synth.set.Tables() {
		check(t, func() {
			synth.template.HasResource(jsii.String("AWS::DynamoDB::Table"), obj{
				"DeletionPolicy":      "RetainExceptOnCreate",
				"UpdateReplacePolicy": "Retain",
				"Properties":          like(obj{"TableName": def.Name, "DeletionProtectionEnabled": true}),
			})
		})
	}
	// tableDeletionProtection=false turns the protection off.
	off := false
	set := synth.isolated.settings
	set.TableDeletionProtection = &off
	require.False(t, set.TablesProtected())
	require.True(t, synth.settings.TablesProtected())
}

// TestImportTablesMapsTheTemplatesTables: `make import-tables` adopts kept
// tables into a new stack with cdk import; its resource mapping names the
// tables' logical IDs and names as the template does.
func TestImportTablesMapsTheTemplatesTables(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "infra.mk"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^IMPORT_TABLES := (.*)$`).FindSubmatch(b)
	require.NotNil(t, m, "infra.mk has no IMPORT_TABLES mapping")
	mapping := strings.ReplaceAll(string(m[1]), "$(PREFIX)", synth.settings.Prefix)
	var got map[string]map[string]string
	require.NoError(t, json.Unmarshal([]byte(mapping), &got))
	want := map[string]map[string]string{}
	for id, r := range resourcesOf("AWS::DynamoDB::Table") {
		want[id] = map[string]string{"TableName": r["Properties"].(obj)["TableName"].(string)}
	}
	require.Equal(t, want, got)
}

// TestAPIThrottling: the $default stage throttles every route, the open
// routes (health; the console's files with JWT) much harder, and the API
// function has a reserved concurrency, so that a burst cannot take the
// account's concurrency from the stream function; the reconciler has one
// reserved instance, the stream function none (one instance per shard).
func TestAPIThrottling(t *testing.T) {
	health := resourceID(t, "AWS::ApiGatewayV2::Route", obj{"RouteKey": "GET /v1/health"})
	check(t, func() {
		synth.template.HasResource(jsii.String("AWS::ApiGatewayV2::Stage"), obj{
			"Properties": like(obj{
				"StageName": "$default",
				"DefaultRouteSettings": obj{
					"ThrottlingRateLimit":  stack.DefaultAPIThrottleRate,
					"ThrottlingBurstLimit": stack.DefaultAPIThrottleBurst,
				},
				"RouteSettings": obj{"GET /v1/health": obj{"ThrottlingRateLimit": 2, "ThrottlingBurstLimit": 5}},
			}),
			// The stage names the route by key: it is made after it.
			"DependsOn": assertions.Match_ArrayWith(arr(health)),
		})
	})
	console := obj{"ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 50}
	check(t, func() {
		synth.options.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), obj{
			"RouteSettings": obj{
				"GET /v1/health":   obj{"ThrottlingRateLimit": 2, "ThrottlingBurstLimit": 5},
				"GET /":            console,
				"GET /ui":          console,
				"GET /ui/{proxy+}": console,
			},
		})
	})
	for fn, reserved := range map[string]any{
		"api":        stack.DefaultAPIConcurrency,
		"reconciler": 1,
		"stream":     assertions.Match_Absent(),
		"webhooks":   5,
	} {
		check(t, func() {
			synth.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj{
				"FunctionName":                 synth.settings.Prefix + "-" + fn,
				"ReservedConcurrentExecutions": reserved,
			})
		})
	}
	// apiConcurrency=0 reserves none.
	zero := 0
	set := synth.settings
	set.APIConcurrency = &zero
	require.Equal(t, 0, set.APIReserved())
}

// TestReconcilerErrorsAlarm: a failed pass is an invocation error, not
// retried by Lambda (the next pass is the retry), and three in five
// minutes raise an alarm.
func TestReconcilerErrorsAlarm(t *testing.T) {
	fn := resourceID(t, "AWS::Lambda::Function", obj{"FunctionName": synth.settings.Prefix + "-reconciler"})
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), obj{
			"FunctionName": obj{"Ref": fn}, "MaximumRetryAttempts": 0,
		})
	})
	topic := resourceID(t, "AWS::SNS::Topic", obj{"TopicName": synth.settings.Prefix + "-alarms"})
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
			"AlarmName":    synth.settings.Prefix + "-reconciler-errors",
			"Namespace":    "AWS/Lambda",
			"MetricName":   "Errors",
			"Dimensions":   []any{obj{"Name": "FunctionName", "Value": obj{"Ref": fn}}},
			"Statistic":    "Sum",
			"Period":       300,
			"Threshold":    3,
			"AlarmActions": []any{obj{"Ref": topic}},
		})
	})
}

// TestTableThrottleAlarms: each table's read and write throttle events,
// and its indexes' write throttle events, raise an alarm.
func TestTableThrottleAlarms(t *testing.T) {
	topic := resourceID(t, "AWS::SNS::Topic", obj{"TopicName": synth.settings.Prefix + "-alarms"})
	for name, def := range map[string]struct {
		table   string
		indexes []string
	}{"executions": {synth.set.Executions.Name, indexNames(synth.set.Executions.Indexes)}, "catalog": {synth.set.Catalog.Name, nil}} {
		t.Run(name, func(t *testing.T) {
			table := obj{"Ref": resourceID(t, "AWS::DynamoDB::Table", obj{"TableName": def.table})}
			var alarm obj
			for _, a := range resourcesOf("AWS::CloudWatch::Alarm") {
				if a["Properties"].(obj)["AlarmName"] == synth.settings.Prefix+"-"+name+"-throttles" {
					alarm = a["Properties"].(obj)
				}
			}
			require.NotNil(t, alarm, "no throttle alarm for the %s table", name)
			require.Equal(t, float64(10), alarm["Threshold"])
			require.Equal(t, []any{obj{"Ref": topic}}, alarm["AlarmActions"])
			type watched struct{ metric, index string }
			var got []watched
			var expr string
			for _, m := range alarm["Metrics"].([]any) {
				m := m.(obj)
				if e, ok := m["Expression"].(string); ok {
					expr = e
					continue
				}
				stat := m["MetricStat"].(obj)
				require.Equal(t, "Sum", stat["Stat"])
				metric := stat["Metric"].(obj)
				require.Equal(t, "AWS/DynamoDB", metric["Namespace"])
				w := watched{metric: metric["MetricName"].(string)}
				for _, d := range metric["Dimensions"].([]any) {
					switch d := d.(obj); d["Name"] {
					case "TableName":
						require.Equal(t, table, d["Value"])
					case "GlobalSecondaryIndexName":
						w.index = d["Value"].(string)
					}
				}
				got = append(got, w)
			}
			want := []watched{{"ReadThrottleEvents", ""}, {"WriteThrottleEvents", ""}}
			for _, ix := range def.indexes {
				want = append(want, watched{"WriteThrottleEvents", ix})
			}
			require.ElementsMatch(t, want, got)
			require.Regexp(t, `^SUM\(\[`, expr)
		})
	}
}

func indexNames(ixs []resources.Index) []string {
	var out []string
	for _, ix := range ixs {
		out = append(out, ix.Name)
	}
	return out
}

// TestWorkerTaskFailuresNotify: a worker task that fails to start, or
// whose worker container exits with an error, sends the alarm topic a
// message; EventBridge may use the topic's key for this rule only.
func TestWorkerTaskFailuresNotify(t *testing.T) {
	cluster := resourceID(t, "AWS::ECS::Cluster", obj{"ClusterName": synth.settings.Prefix + "-workers"})
	topic := resourceID(t, "AWS::SNS::Topic", obj{"TopicName": synth.settings.Prefix + "-alarms"})
	var containers []any
	for _, td := range resourcesOf("AWS::ECS::TaskDefinition") {
		for _, c := range td["Properties"].(obj)["ContainerDefinitions"].([]any) {
			if !slices.Contains(containers, c.(obj)["Name"]) {
				containers = append(containers, c.(obj)["Name"])
			}
		}
	}
	require.Len(t, containers, 1, "the rule names the worker's container")
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj{
			"Name": synth.settings.Prefix + "-worker-task-failures",
			"EventPattern": obj{
				"source":      []any{"aws.ecs"},
				"detail-type": []any{"ECS Task State Change"},
				"detail": obj{
					"clusterArn": []any{getAtt(cluster, "Arn")},
					"lastStatus": []any{"STOPPED"},
					"$or": []any{
						obj{"stopCode": []any{"TaskFailedToStart"}},
						obj{"containers": obj{"name": containers, "exitCode": []any{obj{"anything-but": []any{0}}}}},
					},
				},
			},
			"Targets": []any{like(obj{
				"Arn":              obj{"Ref": topic},
				"InputTransformer": like(obj{"InputPathsMap": like(obj{"detail-taskArn": "$.detail.taskArn"})}),
			})},
		})
	})
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::KMS::Key"), obj{
			"Description": assertions.Match_StringLikeRegexp(jsii.String("alarm topic")),
			"KeyPolicy": like(obj{"Statement": assertions.Match_ArrayWith(arr(like(obj{
				"Sid":       "EventBridgeTaskFailures",
				"Principal": obj{"Service": "events.amazonaws.com"},
				"Action":    []any{"kms:Decrypt", "kms:GenerateDataKey*"},
			})))}),
		})
	})
	// Every Fargate pool's tasks run in that cluster; the EC2-only stack
	// parts have no ECS tasks to watch.
	check(t, func() {
		synth.template.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(2)) // with the reconcile schedule
	})
}

// TestNATGatewayPerAZ: natGateways=2 (the options stack) puts a NAT
// gateway in each AZ's public subnet, and each AZ's private subnet routes
// to the internet through its own AZ's gateway.
func TestNATGatewayPerAZ(t *testing.T) {
	tpl := synth.options.json
	check(t, func() { synth.options.template.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(2)) })
	subnets := resourcesIn(tpl, "AWS::EC2::Subnet")
	az := func(subnet string) string {
		return subnets[subnet]["Properties"].(obj)["AvailabilityZone"].(string)
	}
	natAZ := map[string]string{} // NAT gateway -> its AZ
	for id, n := range resourcesIn(tpl, "AWS::EC2::NatGateway") {
		natAZ[id] = az(n["Properties"].(obj)["SubnetId"].(obj)["Ref"].(string))
	}
	require.ElementsMatch(t, []string{"us-east-1a", "us-east-1b"}, slices.Collect(maps.Values(natAZ)))
	tableAZ := map[string]string{} // route table -> the AZ of its subnet
	for _, a := range resourcesIn(tpl, "AWS::EC2::SubnetRouteTableAssociation") {
		p := a["Properties"].(obj)
		tableAZ[p["RouteTableId"].(obj)["Ref"].(string)] = az(p["SubnetId"].(obj)["Ref"].(string))
	}
	routed := map[string]bool{}
	for _, r := range resourcesIn(tpl, "AWS::EC2::Route") {
		p := r["Properties"].(obj)
		nat, ok := p["NatGatewayId"].(obj)
		if !ok {
			continue
		}
		require.Equal(t, "0.0.0.0/0", p["DestinationCidrBlock"])
		from := tableAZ[p["RouteTableId"].(obj)["Ref"].(string)]
		require.Equal(t, natAZ[nat["Ref"].(string)], from, "a private subnet in %s routes to another AZ's NAT gateway", from)
		routed[from] = true
	}
	require.Equal(t, map[string]bool{"us-east-1a": true, "us-east-1b": true}, routed)
	// The default (the first stack) keeps one.
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(1)) })
}
