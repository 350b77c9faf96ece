package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/stack"
	"github.com/scaleout/scaleout/internal/wiring/config"
)

func pools() []string { return synth.settings.Pools }

func family(pool string) string { return synth.settings.Prefix + "-worker-" + pool }

func TestWorkerServicesAreFargateOnArm(t *testing.T) {
	cluster := resourceID(t, "AWS::ECS::Cluster", obj{"ClusterName": synth.settings.Prefix + "-workers"})
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), obj{
			"ClusterSettings": []any{obj{"Name": "containerInsights", "Value": "enabled"}},
		})
	})
	for _, pool := range pools() {
		t.Run(pool, func(t *testing.T) {
			want := synth.settings.Worker(pool)
			task := resourceID(t, "AWS::ECS::TaskDefinition", obj{"Family": family(pool)})
			check(t, func() {
				synth.template.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj{
					"Family":                  family(pool),
					"Cpu":                     strconv.Itoa(want.CPU),
					"Memory":                  strconv.Itoa(want.MemoryMiB),
					"NetworkMode":             "awsvpc",
					"RequiresCompatibilities": []any{"FARGATE"},
					"RuntimePlatform":         obj{"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
					"ContainerDefinitions": []any{like(obj{
						"Name":             "worker",
						"Essential":        true,
						"StopTimeout":      120,
						"Image":            obj{"Fn::Sub": assertions.Match_StringLikeRegexp(jsii.String("container-assets"))},
						"LogConfiguration": like(obj{"LogDriver": "awslogs"}),
					})},
				})
			})
			props := resourcesOf("AWS::ECS::TaskDefinition")[task]["Properties"].(obj)
			container := props["ContainerDefinitions"].([]any)[0].(obj)

			// The environment must be one the worker starts with, serving pool.
			env := map[string]string{}
			for _, kv := range container["Environment"].([]any) {
				v, ok := kv.(obj)["Value"].(string)
				if !ok {
					// The KMS key's ARN, resolved at deploy time.
					require.Equal(t, "SCALEOUT_KMS_KEY_ID", kv.(obj)["Name"])
					require.Equal(t, obj{"Fn::GetAtt": []any{secretsKey(t), "Arn"}}, kv.(obj)["Value"])
					v = "resolved-at-deploy"
				}
				env[kv.(obj)["Name"].(string)] = v
			}
			require.NotEmpty(t, env["SCALEOUT_KMS_KEY_ID"], "the worker opens sensitive parameters with KMS")
			cfg, err := config.FromEnv(func(k string) string { return env[k] })
			require.NoError(t, err)
			require.Equal(t, synth.set, cfg.Resources())
			require.Equal(t, pool, cfg.WorkerPool)
			require.Equal(t, want.Concurrency, cfg.WorkerConcurrency)
			require.Equal(t, "90s", env["SCALEOUT_GRACE"], "the grace fits in the stop timeout")

			// Logs kept for the retention the settings give.
			group := container["LogConfiguration"].(obj)["Options"].(obj)["awslogs-group"].(obj)["Ref"].(string)
			require.Equal(t, float64(30), resourcesOf("AWS::Logs::LogGroup")[group]["Properties"].(obj)["RetentionInDays"])

			check(t, func() {
				synth.template.HasResource(jsii.String("AWS::ECS::Service"), obj{"Properties": like(obj{
					"ServiceName":    family(pool),
					"Cluster":        obj{"Ref": cluster},
					"TaskDefinition": obj{"Ref": task},
					"LaunchType":     "FARGATE",
					// Auto scaling owns the count; a deploy must not reset it.
					"DesiredCount": assertions.Match_Absent(),
					"NetworkConfiguration": obj{"AwsvpcConfiguration": like(obj{
						"AssignPublicIp": "DISABLED",
					})},
					"DeploymentConfiguration": like(obj{
						"DeploymentCircuitBreaker": obj{"Enable": true, "Rollback": true},
					}),
				})})
			})
		})
	}
	check(t, func() {
		synth.template.ResourceCountIs(jsii.String("AWS::ECS::Service"), jsii.Number(float64(len(pools()))))
	})
}

func TestWorkerNetwork(t *testing.T) {
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(1)) })
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(1)) })
	var azs []string
	for _, r := range resourcesOf("AWS::EC2::Subnet") {
		azs = append(azs, r["Properties"].(obj)["AvailabilityZone"].(string))
	}
	slices.Sort(azs)
	// From cdk.context.json: two zones, a public and a private subnet each.
	require.Equal(t, []string{"us-east-1a", "us-east-1a", "us-east-1b", "us-east-1b"}, azs)
	for _, service := range []string{"dynamodb", "s3"} {
		check(t, func() {
			synth.template.HasResourceProperties(jsii.String("AWS::EC2::VPCEndpoint"), obj{
				"VpcEndpointType": "Gateway",
				"ServiceName":     obj{"Fn::Join": []any{"", []any{"com.amazonaws.", obj{"Ref": "AWS::Region"}, "." + service}}},
			})
		})
	}
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), obj{"TrafficType": "REJECT"})
	})
	// The workers take no inbound connections.
	for _, pool := range pools() {
		check(t, func() {
			synth.template.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), obj{
				"GroupDescription":     assertions.Match_StringLikeRegexp(jsii.String("^" + family(pool) + ": no inbound")),
				"SecurityGroupIngress": assertions.Match_Absent(),
			})
		})
	}
}

// TestWorkerTaskRoles: each pool's task role holds exactly the calls the
// worker makes, on the two tables and its own pool's queue, and no
// wildcard resource.
func TestWorkerTaskRoles(t *testing.T) {
	sts := statements(t)
	executions := resourceID(t, "AWS::DynamoDB::Table", obj{"TableName": synth.set.Executions.Name})
	catalog := resourceID(t, "AWS::DynamoDB::Table", obj{"TableName": synth.set.Catalog.Name})
	for _, pool := range pools() {
		t.Run(pool, func(t *testing.T) {
			queue := resourceID(t, "AWS::SQS::Queue", obj{"QueueName": synth.set.Pools[pool].Name})
			got := map[string][]string{}
			for _, st := range sts[family(pool)] {
				require.Equal(t, "Allow", st["Effect"])
				if st["Sid"] != "OpenSealedParameters" { // TestWorkersDecryptOnlySealedParameters
					require.Nil(t, st["Condition"])
				}
				for _, res := range list(st["Resource"]) {
					for _, a := range list(st["Action"]) {
						got[resourceKey(res)] = append(got[resourceKey(res)], a.(string))
					}
				}
			}
			want := map[string][]string{
				// Decrypt only: the API seals, the worker opens.
				secretsKey(t) + ".Arn": {"kms:Decrypt"},
				executions + ".Arn":    {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"},
				catalog + ".Arn":       {"dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
				queue + ".Arn":         {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"},
				// Scale-in protection, set by the ECS agent with the task
				// role, on the cluster's tasks.
				clusterTasks(synth.settings): {"ecs:UpdateTaskProtection"},
			}
			for k := range got {
				slices.Sort(got[k])
			}
			require.Equal(t, want, got)

			// The execution role: pull the image, write the logs.
			for _, st := range sts[family(pool)+" execution"] {
				for _, res := range list(st["Resource"]) {
					if res == "*" {
						require.Equal(t, "ecr:GetAuthorizationToken", st["Action"], "only GetAuthorizationToken, which takes no resource, may use *")
					}
				}
			}
		})
	}
}

// clusterTasks is the ARN of the tasks of set's worker cluster.
func clusterTasks(set stack.Settings) string {
	return "arn:aws:ecs:us-east-1:000000000000:task/" + set.Prefix + "-workers/*"
}

// secretsKey is the logical ID of the key that seals sensitive values.
func secretsKey(t *testing.T) string {
	return resourceID(t, "AWS::KMS::Key", obj{"Description": assertions.Match_StringLikeRegexp(jsii.String("seals sensitive"))})
}

// TestNoWildcardResources: across every IAM policy of the stack, "*"
// appears only where AWS offers no resource to name.
func TestNoWildcardResources(t *testing.T) {
	allowed := map[string]bool{"dynamodb:ListStreams": true, "ecr:GetAuthorizationToken": true}
	for role, sts := range statements(t) {
		for _, st := range sts {
			for _, res := range list(st["Resource"]) {
				key := resourceKey(res)
				if !strings.Contains(key, "*") {
					continue
				}
				if strings.HasSuffix(key, "/index/*]]]") &&
					(role == synth.settings.Prefix+"-api" || role == synth.settings.Prefix+"-reconciler") {
					continue // the executions table's own indexes (TestLeastPrivilege)
				}
				for _, a := range list(st["Action"]) {
					if a == "ecs:UpdateTaskProtection" && key == clusterTasks(synth.settings) {
						continue // a task's id is known once it runs (TestScaleInProtectionGrants)
					}
					require.True(t, allowed[a.(string)], "%s: %s on %s", role, a, key)
				}
			}
		}
	}
}

func TestWorkersScaleOnBacklogPerTask(t *testing.T) {
	for _, pool := range pools() {
		t.Run(pool, func(t *testing.T) {
			want := synth.settings.Worker(pool)
			service := resourceID(t, "AWS::ECS::Service", obj{"ServiceName": family(pool)})
			queue := resourceID(t, "AWS::SQS::Queue", obj{"QueueName": synth.set.Pools[pool].Name})
			var target string
			for id, r := range resourcesOf("AWS::ApplicationAutoScaling::ScalableTarget") {
				if strings.Contains(fmt.Sprint(r["Properties"].(obj)["ResourceId"]), service) {
					target = id
				}
			}
			require.NotEmpty(t, target, "no scalable target for %s", service)
			check(t, func() {
				synth.template.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), obj{
					"ServiceNamespace":  "ecs",
					"ScalableDimension": "ecs:service:DesiredCount",
					"MinCapacity":       want.MinTasks,
					"MaxCapacity":       want.MaxTasks,
					// ECS's service-linked role, not one of the stack's own.
					"RoleARN": assertions.Match_StringLikeRegexp(jsii.String(
						`:role/aws-service-role/ecs\.application-autoscaling\.amazonaws\.com/AWSServiceRoleForApplicationAutoScaling_ECSService$`)),
				})
			})
			queueDim := []any{obj{"Name": "QueueName", "Value": getAtt(queue, "QueueName")}}
			check(t, func() {
				synth.template.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), obj{
					"PolicyType":      "TargetTrackingScaling",
					"ScalingTargetId": obj{"Ref": target},
					"TargetTrackingScalingPolicyConfiguration": like(obj{
						"TargetValue": want.Concurrency,
						"CustomizedMetricSpecification": obj{"Metrics": []any{
							like(obj{"Id": "visible", "ReturnData": false, "MetricStat": obj{"Stat": "Sum", "Metric": obj{
								"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Dimensions": queueDim,
							}}}),
							like(obj{"Id": "inflight", "ReturnData": false, "MetricStat": obj{"Stat": "Sum", "Metric": obj{
								"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesNotVisible", "Dimensions": queueDim,
							}}}),
							like(obj{"Id": "tasks", "ReturnData": false, "MetricStat": obj{"Stat": "Average", "Metric": like(obj{
								"Namespace": "ECS/ContainerInsights", "MetricName": "RunningTaskCount",
							})}}),
							like(obj{"Id": "backlogPerTask", "Expression": "(visible + inflight) / tasks", "ReturnData": true}),
						}},
					}),
				})
			})

			// With no minimum task, a step policy starts the first one.
			var step string
			for id, r := range resourcesOf("AWS::ApplicationAutoScaling::ScalingPolicy") {
				p := r["Properties"].(obj)
				if p["PolicyType"] == "StepScaling" && p["ScalingTargetId"].(obj)["Ref"] == target {
					step = id
				}
			}
			if want.MinTasks > 0 {
				require.Empty(t, step, "a pool that keeps tasks needs no scale-from-zero policy")
				return
			}
			require.NotEmpty(t, step)
			check(t, func() {
				synth.template.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), obj{
					"PolicyName": family(pool) + "-scale-from-zero",
					"StepScalingPolicyConfiguration": like(obj{
						"AdjustmentType":  "ChangeInCapacity",
						"StepAdjustments": []any{obj{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}},
					}),
				})
			})
			check(t, func() {
				synth.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
					"AlarmActions": []any{obj{"Ref": step}},
					"Metrics": assertions.Match_ArrayWith(arr(like(obj{
						"Expression": "IF(visible > 0 AND FILL(tasks, 0) == 0, 1, 0)",
					}))),
				})
			})
		})
	}
}

func TestAlarmsNotifyTheTopic(t *testing.T) {
	topic := resourceID(t, "AWS::SNS::Topic", obj{"TopicName": synth.settings.Prefix + "-alarms"})
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::SNS::Topic"), obj{
			"KmsMasterKeyId": getAtt(resourceID(t, "AWS::KMS::Key", obj{"Description": assertions.Match_StringLikeRegexp(jsii.String("alarm topic"))}), "Arn"),
		})
	})
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj{
			"Protocol": "email", "Endpoint": synth.settings.AlarmEmail, "TopicArn": obj{"Ref": topic},
		})
	})
	type alarm struct {
		namespace, metric string
		threshold         float64
	}
	want := map[string]alarm{
		"api-5xx":             {"AWS/ApiGateway", "5xx", 5},
		"stream-iterator-age": {"AWS/Lambda", "IteratorAge", 300000},
		"stream-dlq":          {"AWS/SQS", "ApproximateNumberOfMessagesVisible", 1},
		"api-errors":          {"AWS/Lambda", "Errors", 1},
		"api-throttles":       {"AWS/Lambda", "Throttles", 1},
		"stream-errors":       {"AWS/Lambda", "Errors", 1},
		"stream-throttles":    {"AWS/Lambda", "Throttles", 1},
		"webhooks-dlq":        {"AWS/SQS", "ApproximateNumberOfMessagesVisible", 1},
		"webhooks-errors":     {"AWS/Lambda", "Errors", 1},
		"webhooks-throttles":  {"AWS/Lambda", "Throttles", 1},
	}
	for _, pool := range pools() {
		want["dlq-"+pool] = alarm{"AWS/SQS", "ApproximateNumberOfMessagesVisible", 1}
		want["oldest-message-"+pool] = alarm{"AWS/SQS", "ApproximateAgeOfOldestMessage", 900}
	}
	for name, a := range want {
		t.Run(name, func(t *testing.T) {
			check(t, func() {
				synth.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
					"AlarmName":          synth.settings.Prefix + "-" + name,
					"Namespace":          a.namespace,
					"MetricName":         a.metric,
					"Threshold":          a.threshold,
					"ComparisonOperator": "GreaterThanOrEqualToThreshold",
					"TreatMissingData":   "notBreaching",
					"AlarmActions":       []any{obj{"Ref": topic}},
					"OKActions":          []any{obj{"Ref": topic}},
				})
			})
		})
	}
	// Each pool's dead-letter queue is watched, not its work queue.
	for _, pool := range pools() {
		dlq := resourceID(t, "AWS::SQS::Queue", obj{"QueueName": synth.set.Pools[pool].DeadLetter.Name})
		check(t, func() {
			synth.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
				"AlarmName":  synth.settings.Prefix + "-dlq-" + pool,
				"Dimensions": []any{obj{"Name": "QueueName", "Value": getAtt(dlq, "QueueName")}},
			})
		})
	}
}

func TestDashboard(t *testing.T) {
	id := resourceID(t, "AWS::CloudWatch::Dashboard", obj{"DashboardName": synth.settings.Prefix})
	body, err := json.Marshal(resourcesOf("AWS::CloudWatch::Dashboard")[id]["Properties"].(obj)["DashboardBody"])
	require.NoError(t, err)
	for _, want := range []string{
		"Queue depth per pool", "ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible",
		"Oldest message age", "ApproximateAgeOfOldestMessage",
		"Running worker tasks", "ECS/ContainerInsights", "RunningTaskCount",
		"API latency", "Latency", "5xx", "p99",
		"Stream iterator age", "IteratorAge",
	} {
		require.Contains(t, string(body), want)
	}
	check(t, func() { synth.template.HasOutput(jsii.String("DashboardName"), obj{}) })
}

// TestNagSuppressionsGiveReasons: every cdk-nag suppression in the
// templates says why.
func TestNagSuppressionsGiveReasons(t *testing.T) {
	for _, tpl := range []obj{synth.json, synth.isolated.json, synth.options.json} {
		n := 0
		for id, r := range tpl["Resources"].(obj) {
			md, _ := r.(obj)["Metadata"].(obj)
			nag, _ := md["cdk_nag"].(obj)
			rules, _ := nag["rules_to_suppress"].([]any)
			for _, rule := range rules {
				reason, _ := rule.(obj)["reason"].(string)
				require.GreaterOrEqual(t, len(reason), 20, "%s: suppression of %v without a reason", id, rule.(obj)["id"])
				n++
			}
		}
		require.Positive(t, n)
	}
}

// TestIsolatedWorkers: with natGateways=0 the workers run in isolated
// subnets and reach AWS through VPC endpoints that admit them alone.
func TestIsolatedWorkers(t *testing.T) {
	tpl := synth.isolated.template
	for _, typ := range []string{"AWS::EC2::NatGateway", "AWS::EC2::InternetGateway"} {
		check(t, func() { tpl.ResourceCountIs(jsii.String(typ), jsii.Number(0)) })
	}
	check(t, func() { tpl.ResourceCountIs(jsii.String("AWS::EC2::Subnet"), jsii.Number(2)) })
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::EC2::Subnet"), obj{"MapPublicIpOnLaunch": false})
	})
	// A Fargate pool's and an EC2 pool's (TestEveryWorkerAPIHasARouteInEveryNetwork).
	for _, service := range []string{"sqs", "kms", "ecr.api", "ecr.dkr", "logs", "ecs", "autoscaling"} {
		check(t, func() {
			tpl.HasResourceProperties(jsii.String("AWS::EC2::VPCEndpoint"), obj{
				"VpcEndpointType":   "Interface",
				"PrivateDnsEnabled": true,
				"ServiceName":       assertions.Match_StringLikeRegexp(jsii.String(`^com\.amazonaws\.us-east-1\.` + strings.ReplaceAll(service, ".", `\.`) + `$`)),
			})
		})
	}
	check(t, func() { tpl.ResourceCountIs(jsii.String("AWS::EC2::VPCEndpoint"), jsii.Number(9)) })
	// Ingress to the endpoints comes from the worker's security group on
	// 443 only, never from an address range.
	check(t, func() {
		tpl.AllResourcesProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), obj{
			"FromPort": 443, "ToPort": 443, "IpProtocol": "tcp",
			"SourceSecurityGroupId": assertions.Match_AnyValue(),
			"CidrIp":                assertions.Match_Absent(),
		})
	})
	// Seven interface endpoints, each open to the two pools' groups.
	check(t, func() { tpl.ResourceCountIs(jsii.String("AWS::EC2::SecurityGroupIngress"), jsii.Number(14)) })
	nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*|CdkNagValidationFailure.*"))
	check(t, func() { synth.isolated.annotations.HasNoError(jsii.String("*"), nag) })
	check(t, func() { synth.isolated.annotations.HasNoWarning(jsii.String("*"), nag) })
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj{
			"NetworkConfiguration": obj{"AwsvpcConfiguration": like(obj{"AssignPublicIp": "DISABLED"})},
		})
	})
}

// The worker image is built with the version as a build argument (the
// Dockerfile stamps it into the binary; cmd/scaleout-worker's tests build it
// that way), so it does not report "devel".
func TestWorkerImageIsStampedWithTheVersion(t *testing.T) {
	dir := *synth.app.Synth(nil).Directory()
	b, err := os.ReadFile(filepath.Join(dir, "Scaleout.assets.json"))
	require.NoError(t, err)
	var manifest struct {
		DockerImages map[string]struct {
			Source struct {
				DockerFile      string            `json:"dockerFile"`
				DockerBuildArgs map[string]string `json:"dockerBuildArgs"`
			} `json:"source"`
		} `json:"dockerImages"`
	}
	require.NoError(t, json.Unmarshal(b, &manifest))
	require.Len(t, manifest.DockerImages, 1, "one worker image for every pool")
	for _, img := range manifest.DockerImages {
		require.Equal(t, "Dockerfile", img.Source.DockerFile)
		require.Equal(t, map[string]string{"VERSION": synth.settings.Version}, img.Source.DockerBuildArgs)
	}
}

// TestPoolBucketGrants: a pool that lists buckets may list, read, write
// and delete in those and no others; a pool that lists none has no S3
// grant at all (the first stack's pools: TestWorkerTaskRoles).
func TestPoolBucketGrants(t *testing.T) {
	sts := statementsIn(t, synth.options.json)
	s3Grants := func(role string) map[string][]string {
		got := map[string][]string{}
		for _, st := range sts[role] {
			for _, a := range list(st["Action"]) {
				if !strings.HasPrefix(a.(string), "s3:") {
					continue
				}
				for _, res := range list(st["Resource"]) {
					if key := s3Resource(t, res); !strings.HasPrefix(key, "arn:aws:s3:::cdk-") { // an instance's binary: TestEC2InstanceRole
						got[key] = append(got[key], a.(string))
					}
				}
			}
		}
		for k := range got {
			slices.Sort(got[k])
		}
		return got
	}
	objects := []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"}
	buckets := []string{"s3:GetBucketLocation", "s3:ListBucket"}
	etl := synth.options.settings.Prefix + "-worker-etl instance"
	require.Contains(t, sts, etl)
	require.Equal(t, map[string][]string{
		"arn:aws:s3:::landing-bucket":   buckets,
		"arn:aws:s3:::archive.bucket":   buckets,
		"arn:aws:s3:::landing-bucket/*": objects,
		"arn:aws:s3:::archive.bucket/*": objects,
	}, s3Grants(etl))
	def := synth.options.settings.Prefix + "-worker-default"
	require.Contains(t, sts, def)
	require.Empty(t, s3Grants(def), "no buckets, no S3")
	for role := range statements(t) {
		require.Empty(t, s3Grants(role), role)
	}
}

// s3Resource writes an S3 ARN built with the partition as it reads in
// the commercial partition.
func s3Resource(t *testing.T, res any) string {
	t.Helper()
	if s, ok := res.(string); ok {
		return s
	}
	join, ok := res.(obj)["Fn::Join"].([]any)
	require.True(t, ok, "%v", res)
	var b strings.Builder
	for _, part := range join[1].([]any) {
		if p, ok := part.(obj); ok {
			require.Equal(t, obj{"Ref": "AWS::Partition"}, p)
			b.WriteString("aws")
			continue
		}
		b.WriteString(part.(string))
	}
	return b.String()
}
