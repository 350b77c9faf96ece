package stack_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/ec2"
	"github.com/scaleout/scaleout/internal/wiring/config"
	"github.com/scaleout/scaleout/internal/worker/workerid"
)

// The third stack (synth.options) runs pool etl on EC2 and pool default on
// Fargate.

func optionsFamily(pool string) string { return synth.options.settings.Prefix + "-worker-" + pool }

// flatten renders a template value as text: strings as they are, a
// Fn::Join's parts joined, other intrinsics printed.
func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case obj:
		if j, ok := v["Fn::Join"].([]any); ok {
			var b strings.Builder
			for _, p := range j[1].([]any) {
				b.WriteString(flatten(p))
			}
			return b.String()
		}
	}
	return fmt.Sprint(v)
}

// userData is the text of the launch template's user data.
func userData(t *testing.T, lt string) string {
	t.Helper()
	data := resourcesIn(synth.options.json, "AWS::EC2::LaunchTemplate")[lt]["Properties"].(obj)["LaunchTemplateData"].(obj)
	return flatten(data["UserData"].(obj)["Fn::Base64"])
}

// heredoc is the content the user data writes to path.
func heredoc(t *testing.T, ud, path string) string {
	t.Helper()
	start := "cat > " + path + " <<'SCALEOUT_EOF'\n"
	i := strings.Index(ud, start)
	require.GreaterOrEqual(t, i, 0, "the user data writes no %s", path)
	content, _, ok := strings.Cut(ud[i+len(start):], "SCALEOUT_EOF")
	require.True(t, ok)
	return content
}

func TestEC2WorkersRunTheUnitOnGraviton(t *testing.T) {
	tpl, set := synth.options.template, synth.options.settings
	name := optionsFamily("etl")
	// The Fargate pool keeps its service; the EC2 pool has none.
	check(t, func() { tpl.ResourceCountIs(jsii.String("AWS::ECS::Service"), jsii.Number(1)) })
	service := resourceIDIn(t, tpl, "AWS::ECS::Service", obj{"ServiceName": optionsFamily("default")})

	lt := resourceIDIn(t, tpl, "AWS::EC2::LaunchTemplate", obj{"LaunchTemplateName": name})
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::EC2::LaunchTemplate"), obj{
			"LaunchTemplateName": name,
			"LaunchTemplateData": like(obj{
				"InstanceType":    "c7g.large",
				"MetadataOptions": obj{"HttpTokens": "required"},
				"BlockDeviceMappings": []any{obj{"DeviceName": "/dev/xvda", "Ebs": like(obj{
					"Encrypted": true, "VolumeType": "gp3", "DeleteOnTermination": true,
				})}},
			}),
		})
	})
	// The image: the latest Amazon Linux 2023 for arm64, from SSM.
	data := resourcesIn(synth.options.json, "AWS::EC2::LaunchTemplate")[lt]["Properties"].(obj)["LaunchTemplateData"].(obj)
	param := synth.options.json["Parameters"].(obj)[data["ImageId"].(obj)["Ref"].(string)].(obj)
	require.Equal(t, "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", param["Type"])
	require.Regexp(t, `^/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-[^/]+-arm64$`, param["Default"])

	// The user data installs the binary, the environment and the unit.
	ud := userData(t, lt)
	require.True(t, strings.HasPrefix(ud, "#!/bin/bash\nset -euo pipefail\n"), ud)
	require.Regexp(t, `(?m)^aws s3 cp 's3://cdk-[a-z0-9]+-assets-000000000000-us-east-1/[0-9a-f.]+' '`+ec2.BinaryPath+`' --region us-east-1$`, ud)
	require.Equal(t, ec2.WorkerUnit, heredoc(t, ud, ec2.UnitPath))
	require.True(t, strings.HasSuffix(ud, "\nsystemctl daemon-reload\nsystemctl enable --now scaleout-worker.service"), ud)

	// The environment is the Fargate task's (same keys as the other
	// pool's task), the region and the group (whose scale-in the worker
	// keeps its busy instance out of), and one the worker starts with.
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(heredoc(t, ud, ec2.EnvironmentFile), "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, line)
		env[k] = v
	}
	require.Equal(t, "us-east-1", env["AWS_REGION"])
	require.Equal(t, optionsFamily("etl"), env["SCALEOUT_AUTOSCALING_GROUP"])
	require.Equal(t, "ec2", env["SCALEOUT_WORKER_ID_FROM"], "named after the instance, not host-pid")
	task := resourceIDIn(t, tpl, "AWS::ECS::TaskDefinition", obj{"Family": optionsFamily("default")})
	taskEnv := []string{"AWS_REGION", "SCALEOUT_AUTOSCALING_GROUP", "SCALEOUT_WORKER_ID_FROM"}
	container := resourcesIn(synth.options.json, "AWS::ECS::TaskDefinition")[task]["Properties"].(obj)["ContainerDefinitions"].([]any)[0].(obj)
	for _, kv := range container["Environment"].([]any) {
		taskEnv = append(taskEnv, kv.(obj)["Name"].(string))
	}
	require.ElementsMatch(t, taskEnv, slices.Collect(maps.Keys(env)))
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, set.Prefix, cfg.Prefix)
	require.Equal(t, set.Pools, cfg.Pools)
	require.Equal(t, "etl", cfg.WorkerPool)
	require.Equal(t, workerid.FromEC2, cfg.WorkerIDFrom)
	require.Equal(t, 8, cfg.WorkerConcurrency)
	require.Equal(t, "90s", env["SCALEOUT_GRACE"], "the grace fits in the unit's TimeoutStopSec")

	// The group: in the same private subnets as the Fargate service,
	// sized by the pool's minTasks and maxTasks, desired left to scaling.
	svc := resourcesIn(synth.options.json, "AWS::ECS::Service")[service]["Properties"].(obj)
	subnets := svc["NetworkConfiguration"].(obj)["AwsvpcConfiguration"].(obj)["Subnets"]
	check(t, func() {
		tpl.HasResource(jsii.String("AWS::AutoScaling::AutoScalingGroup"), obj{
			"Properties": like(obj{
				"AutoScalingGroupName": name,
				"MinSize":              "0",
				"MaxSize":              "6",
				"DesiredCapacity":      assertions.Match_Absent(),
				"LaunchTemplate":       obj{"LaunchTemplateId": obj{"Ref": lt}, "Version": getAtt(lt, "LatestVersionNumber")},
				"VPCZoneIdentifier":    subnets,
				"MetricsCollection":    []any{like(obj{"Metrics": assertions.Match_ArrayWith(arr("GroupInServiceInstances"))})},
			}),
			"UpdatePolicy": like(obj{"AutoScalingRollingUpdate": assertions.Match_AnyValue()}),
		})
	})
	// No inbound: Session Manager, not SSH.
	sg := data["SecurityGroupIds"].([]any)[0].(obj)["Fn::GetAtt"].([]any)[0].(string)
	sgProps := resourcesIn(synth.options.json, "AWS::EC2::SecurityGroup")[sg]["Properties"].(obj)
	require.True(t, strings.HasPrefix(sgProps["GroupDescription"].(string), name+": no inbound"))
	require.Nil(t, sgProps["SecurityGroupIngress"])
	require.Nil(t, data["KeyName"])
}

// TestEC2InstanceRole: the instances' role holds the Fargate task role's
// grants (on the pool's own queue), reads the worker binary's own object,
// and has Session Manager's managed policy, suppressed with its reason.
func TestEC2InstanceRole(t *testing.T) {
	tpl := synth.options.template
	sts := statementsIn(t, synth.options.json)
	grantsOf := func(role string) map[string][]string {
		got := map[string][]string{}
		for _, st := range sts[role] {
			require.Equal(t, "Allow", st["Effect"])
			if st["Sid"] != "OpenSealedParameters" { // TestWorkersDecryptOnlySealedParameters
				require.Nil(t, st["Condition"])
			}
			if st["Sid"] == "PoolBuckets" || st["Sid"] == "PoolBucketObjects" {
				continue // the pool's own buckets: TestPoolBucketGrants
			}
			for _, res := range list(st["Resource"]) {
				for _, a := range list(st["Action"]) {
					got[resourceKey(res)] = append(got[resourceKey(res)], a.(string))
				}
			}
		}
		for k := range got {
			slices.Sort(got[k])
		}
		return got
	}
	instance := grantsOf(optionsFamily("etl") + " instance")
	task := grantsOf(optionsFamily("default"))
	require.NotEmpty(t, task)
	queueOf := func(pool string) string {
		return resourceIDIn(t, tpl, "AWS::SQS::Queue", obj{"QueueName": synth.options.set.Pools[pool].Name}) + ".Arn"
	}
	// The same grants as the task role, with the pool's queue for the
	// other pool's.
	want := maps.Clone(task)
	want[queueOf("etl")] = want[queueOf("default")]
	delete(want, queueOf("default"))
	// Scale-in protection: its instance in its group, not ECS tasks.
	delete(want, clusterTasks(synth.options.settings))
	want[instanceGroup(optionsFamily("etl"))] = []string{"autoscaling:SetInstanceProtection"}
	var binary string
	for res, actions := range instance {
		if strings.HasPrefix(res, "arn:aws:s3:::") {
			binary = res
			require.Equal(t, []string{"s3:GetObject"}, actions)
		}
	}
	require.Regexp(t, `^arn:aws:s3:::cdk-[a-z0-9]+-assets-000000000000-us-east-1/[0-9a-f.]+$`, binary, "the binary's own object, no wildcard")
	want[binary] = []string{"s3:GetObject"}
	require.Equal(t, want, instance)

	check(t, func() {
		tpl.HasResource(jsii.String("AWS::IAM::Role"), obj{
			"Properties": like(obj{
				"AssumeRolePolicyDocument": like(obj{"Statement": []any{like(obj{"Principal": obj{"Service": "ec2.amazonaws.com"}})}}),
				"ManagedPolicyArns": []any{obj{"Fn::Join": []any{"", []any{
					"arn:", obj{"Ref": "AWS::Partition"}, ":iam::aws:policy/AmazonSSMManagedInstanceCore",
				}}}},
			}),
			"Metadata": like(obj{"cdk_nag": obj{"rules_to_suppress": assertions.Match_ArrayWith(arr(
				like(obj{"id": "AwsSolutions-IAM4", "reason": assertions.Match_StringLikeRegexp(jsii.String("Session Manager"))}),
			))}}),
		})
	})
}

// TestEC2WorkersScaleOnBacklogPerInstance: the group scales as a Fargate
// service does, on the backlog per in-service instance, and starts its
// first instance with a step when its minimum is 0.
func TestEC2WorkersScaleOnBacklogPerInstance(t *testing.T) {
	tpl := synth.options.template
	group := resourceIDIn(t, tpl, "AWS::AutoScaling::AutoScalingGroup", obj{"AutoScalingGroupName": optionsFamily("etl")})
	queue := resourceIDIn(t, tpl, "AWS::SQS::Queue", obj{"QueueName": synth.options.set.Pools["etl"].Name})
	queueDim := []any{obj{"Name": "QueueName", "Value": getAtt(queue, "QueueName")}}
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::ScalingPolicy"), obj{
			"AutoScalingGroupName": obj{"Ref": group},
			"PolicyType":           "TargetTrackingScaling",
			"TargetTrackingConfiguration": obj{
				"TargetValue": 8,
				"CustomizedMetricSpecification": obj{"Metrics": []any{
					like(obj{"Id": "visible", "ReturnData": false, "MetricStat": obj{"Stat": "Sum", "Metric": obj{
						"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible", "Dimensions": queueDim,
					}}}),
					like(obj{"Id": "inflight", "ReturnData": false, "MetricStat": obj{"Stat": "Sum", "Metric": obj{
						"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesNotVisible", "Dimensions": queueDim,
					}}}),
					like(obj{"Id": "instances", "ReturnData": false, "MetricStat": obj{"Stat": "Average", "Metric": obj{
						"Namespace": "AWS/AutoScaling", "MetricName": "GroupInServiceInstances",
						"Dimensions": []any{obj{"Name": "AutoScalingGroupName", "Value": obj{"Ref": group}}},
					}}}),
					like(obj{"Id": "backlogPerInstance", "Expression": "(visible + inflight) / instances", "ReturnData": true}),
				}},
			},
		})
	})
	var step string
	for id, r := range resourcesIn(synth.options.json, "AWS::AutoScaling::ScalingPolicy") {
		if p := r["Properties"].(obj); p["PolicyType"] == "StepScaling" && p["AutoScalingGroupName"].(obj)["Ref"] == group {
			step = id
		}
	}
	require.NotEmpty(t, step, "no scale-from-zero step for the group")
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::ScalingPolicy"), obj{
			"AdjustmentType":  "ChangeInCapacity",
			"StepAdjustments": []any{obj{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}},
		})
	})
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
			"AlarmActions": []any{obj{"Ref": step}},
			"Metrics": assertions.Match_ArrayWith(arr(like(obj{
				"Expression": "IF(visible > 0 AND FILL(instances, 0) == 0, 1, 0)",
			}))),
		})
	})
	// The dashboard graphs the instances with the tasks.
	id := resourceIDIn(t, tpl, "AWS::CloudWatch::Dashboard", obj{"DashboardName": synth.options.settings.Prefix})
	body, err := json.Marshal(resourcesIn(synth.options.json, "AWS::CloudWatch::Dashboard")[id]["Properties"].(obj)["DashboardBody"])
	require.NoError(t, err)
	require.Contains(t, string(body), "GroupInServiceInstances")
	require.Contains(t, string(body), "RunningTaskCount")
	check(t, func() { tpl.HasOutput(jsii.String("*"), obj{"Value": obj{"Ref": group}}) })
}
