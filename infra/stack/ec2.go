package stack

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scaleout/scaleout/infra/ec2"
	"github.com/scaleout/scaleout/internal/worker/workerid"
)

// Instance settings of EC2 pools.
const (
	// instanceVolumeGiB is the root volume (encrypted gp3): the system,
	// the binary and what exec tasks write to /tmp.
	instanceVolumeGiB = 20
	// instanceWarmup is how long a new instance takes to boot, download the
	// binary and start taking work; scaling counts it only after that.
	instanceWarmup = 2 * 60
)

// newWorkerBinary is the worker binary (WorkerBinary under the build
// folder) as an S3 asset: every EC2 pool's instances download it at boot.
func newWorkerBinary(scope constructs.Construct, set Settings) awss3assets.Asset {
	return awss3assets.NewAsset(scope, jsii.String("WorkerBinary"), &awss3assets.AssetProps{
		Path:        jsii.String(filepath.Join(set.BuildDir, WorkerBinary)),
		DisplayName: jsii.String("scaleout worker linux/arm64"),
	})
}

// newWorkerGroup defines an EC2 pool's workers: an Auto Scaling group of
// Graviton instances (Amazon Linux 2023, arm64), each running one worker
// under systemd (infra/ec2/scaleout-worker.service) with the environment
// the Fargate task gets, the same role grants, the same network, and the
// same scaling: target tracking on the backlog per instance, plus a step
// that starts the first instance when the minimum is 0.
//
// No SSH and no key pair: Session Manager reaches the instances (with a
// NAT gateway; natGateways=0 has no SSM endpoints), and the worker logs to
// the journal (journalctl -u scaleout-worker). A scale-in takes idle
// instances only: the worker protects its instance from the group's
// scale-in while it runs executions (SetInstanceProtection). An instance
// that is terminated anyway (a rolling update, a health check) stops the
// worker with SIGTERM, which drains as on Fargate; an execution cut off is
// recovered when the worker session's lease lapses.
//
// A pool whose image is not the stock one (img.uri set) runs it with
// Docker instead of the binary (newContainerUserData, ec2.ContainerUnit);
// its instance role may pull that image, and only that one.
func (s *Stack) newWorkerGroup(w *Workers, set Settings, pool string, binary awss3assets.Asset, img poolImage) {
	cfg := set.Worker(pool)
	name := set.Prefix + "-worker-" + pool
	scope := constructs.NewConstruct(s.Stack, jsii.String("Worker-"+pool))

	role := s.newWorkerRole(scope, "InstanceRole", name, pool, cfg.Buckets, awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil))
	role.AddManagedPolicy(awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("AmazonSSMManagedInstanceCore")))
	suppress(role, "AwsSolutions-IAM4", "AmazonSSMManagedInstanceCore is what the SSM agent needs for Session Manager access, which replaces SSH (no key pair, no inbound port)",
		"Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore")
	var userData awsec2.UserData
	switch {
	case img.uri == "":
		// The binary's own object, not the whole assets bucket.
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("WorkerBinary"),
			Actions:   jsii.Strings("s3:GetObject"),
			Resources: &[]*string{binary.Bucket().ArnForObjects(binary.S3ObjectKey())},
		}))
		userData = s.workerUserData(set, pool, binary)
	default:
		if img.grantPull != nil {
			img.grantPull(role)
			suppress(role, "AwsSolutions-IAM5", "ecr:GetAuthorizationToken takes no resource: AWS requires \"*\"; the pulls are scoped to the worker image's repository",
				"Resource::*")
		}
		userData = s.containerUserData(set, pool, img)
	}
	// The worker keeps its instance out of scale-in while it runs
	// executions (package scalein), in its own group only.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("InstanceScaleInProtection"),
		Actions: jsii.Strings("autoscaling:SetInstanceProtection"),
		Resources: jsii.Strings(*s.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("autoscaling"), Resource: jsii.String("autoScalingGroup"),
			ResourceName: jsii.String("*:autoScalingGroupName/" + name), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})),
	}))
	suppressMatching(role, "AwsSolutions-IAM5", "a group's ARN holds an id known only once it exists (a reference would make a cycle: the group's launch template names this role); "+
		"autoScalingGroupName/<name> names the pool's own group, whose scale-in protection of this instance the worker sets",
		`^Resource::arn:[^:]+:autoscaling:[^:]+:[^:]+:autoScalingGroup:\*:autoScalingGroupName/`+regexp.QuoteMeta(name)+`$`)
	w.Roles[pool] = role

	lt := awsec2.NewLaunchTemplate(scope, jsii.String("LaunchTemplate"), &awsec2.LaunchTemplateProps{
		LaunchTemplateName: jsii.String(name),
		InstanceType:       awsec2.NewInstanceType(jsii.String(cfg.Instance())),
		MachineImage: awsec2.MachineImage_LatestAmazonLinux2023(&awsec2.AmazonLinux2023ImageSsmParameterProps{
			CpuType: awsec2.AmazonLinuxCpuType_ARM_64,
		}),
		Role:          role,
		UserData:      userData,
		SecurityGroup: newWorkerSecurityGroup(scope, w, name),
		// IMDSv2 only, and its answers go no further than one hop: no
		// container or forwarded packet on the instance reaches it. (The
		// unit's firewall rules keep exec tasks off it.)
		HttpEndpoint:            jsii.Bool(true),
		HttpTokens:              awsec2.LaunchTemplateHttpTokens_REQUIRED,
		HttpPutResponseHopLimit: jsii.Number(1),
		BlockDevices: &[]*awsec2.BlockDevice{{
			DeviceName: jsii.String("/dev/xvda"),
			Volume: awsec2.BlockDeviceVolume_Ebs(jsii.Number(instanceVolumeGiB), &awsec2.EbsDeviceOptions{
				Encrypted:           jsii.Bool(true),
				VolumeType:          awsec2.EbsDeviceVolumeType_GP3,
				DeleteOnTermination: jsii.Bool(true),
			}),
		}},
	})
	group := awsautoscaling.NewAutoScalingGroup(scope, jsii.String("Group"), &awsautoscaling.AutoScalingGroupProps{
		AutoScalingGroupName: jsii.String(name),
		Vpc:                  w.VPC,
		VpcSubnets:           workerSubnets(set),
		LaunchTemplate:       lt,
		// No desired capacity: scaling owns it, and a deploy must not
		// reset it.
		MinCapacity: jsii.Number(float64(cfg.MinTasks)),
		MaxCapacity: jsii.Number(float64(cfg.MaxTasks)),
		// In-service instances divide the backlog (Workers.running).
		GroupMetrics: &[]awsautoscaling.GroupMetrics{awsautoscaling.NewGroupMetrics(
			awsautoscaling.GroupMetric_IN_SERVICE_INSTANCES(), awsautoscaling.GroupMetric_DESIRED_CAPACITY())},
		DefaultInstanceWarmup: awscdk.Duration_Seconds(jsii.Number(instanceWarmup)),
		// A new launch template version (binary, settings, AMI) replaces
		// the instances one at a time; each old one drains as it stops.
		UpdatePolicy: awsautoscaling.UpdatePolicy_RollingUpdate(nil),
	})
	for _, c := range []constructs.IConstruct{lt, group} {
		awscdk.Tags_Of(c).Add(jsii.String("Name"), jsii.String(name), nil)
	}
	suppress(group, "AwsSolutions-AS3", "launches and terminations are the normal pulse of a pool that scales to zero; a pool that cannot launch shows in its oldest-message alarm and the dashboard's running workers")
	w.Groups[pool] = group
	s.newInstanceScaling(scope, name, w, pool, cfg)
	output(scope, "AutoScalingGroupName", group.AutoScalingGroupName(), "Auto Scaling group of the EC2 workers of pool "+pool)
}

// workerUserData installs and starts the worker on an instance: the exec
// tasks' user (ec2.TaskUser) and iptables for the unit's rules that keep
// it off the metadata endpoints, the binary from its S3 asset, the
// environment file (the Fargate task's environment, workerEnvironment, and
// the region, which ECS would set) and the systemd unit; the worker is
// named after its instance.
func (s *Stack) workerUserData(set Settings, pool string, binary awss3assets.Asset) awsec2.UserData {
	ud := awsec2.UserData_ForLinux(nil)
	ud.AddCommands(jsii.String("set -euo pipefail"), jsii.String("umask 022"))
	ud.AddS3DownloadCommand(&awsec2.S3DownloadOptions{
		Bucket:    binary.Bucket(),
		BucketKey: binary.S3ObjectKey(),
		LocalFile: jsii.String(ec2.BinaryPath),
		Region:    s.Region(),
	})
	ud.AddCommands(
		// The exec tasks' user, and the firewall the unit's rules need.
		jsii.String("id -u "+ec2.TaskUser+" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /tmp --shell /sbin/nologin "+ec2.TaskUser),
		jsii.String("command -v iptables >/dev/null && command -v ip6tables >/dev/null || dnf install -y iptables-nft"),
		jsii.String("chmod 0755 "+ec2.BinaryPath),
		jsii.String("mkdir -p "+filepath.Dir(ec2.EnvironmentFile)),
		jsii.String(writeFile(ec2.EnvironmentFile, s.instanceEnvironment(set, pool))),
		jsii.String(writeFile(ec2.UnitPath, ec2.WorkerUnit)),
		jsii.String("systemctl daemon-reload"),
		jsii.String("systemctl enable --now "+filepath.Base(ec2.UnitPath)),
	)
	return ud
}

// containerUserData runs a pool's worker image on an instance: Docker and
// iptables, the environment file workerUserData writes, the image's
// (ec2.ImageEnvironmentFile) and ec2.ContainerUnit, which logs in to the
// image's ECR registry, pulls the image and runs it on the host's network.
func (s *Stack) containerUserData(set Settings, pool string, img poolImage) awsec2.UserData {
	ud := awsec2.UserData_ForLinux(nil)
	ud.AddCommands(
		jsii.String("set -euo pipefail"), jsii.String("umask 022"),
		jsii.String("command -v docker >/dev/null || dnf install -y docker"),
		jsii.String("command -v iptables >/dev/null && command -v ip6tables >/dev/null || dnf install -y iptables-nft"),
		jsii.String("systemctl enable --now docker.service"),
		jsii.String("mkdir -p "+filepath.Dir(ec2.EnvironmentFile)),
		jsii.String(writeFile(ec2.EnvironmentFile, s.instanceEnvironment(set, pool))),
		jsii.String(writeFile(ec2.ImageEnvironmentFile, "SCALEOUT_IMAGE="+img.uri+"\nSCALEOUT_ECR_REGISTRY="+img.registry+"\n")),
		jsii.String(writeFile(ec2.UnitPath, ec2.ContainerUnit)),
		jsii.String("systemctl daemon-reload"),
		jsii.String("systemctl enable --now "+filepath.Base(ec2.UnitPath)),
	)
	return ud
}

// instanceEnvironment is an EC2 worker's environment file: the Fargate
// task's environment (workerEnvironment), the region, which ECS would set,
// the group and the worker's name.
func (s *Stack) instanceEnvironment(set Settings, pool string) string {
	env := s.workerEnvironment(set, pool)
	env["AWS_REGION"] = *s.Region()
	// The group whose scale-in the worker keeps its busy instance out of.
	env["SCALEOUT_AUTOSCALING_GROUP"] = set.Prefix + "-worker-" + pool
	// Named after the instance (IMDSv2), not host-pid: a new instance that
	// gets a released address must not take an old worker's id.
	env["SCALEOUT_WORKER_ID_FROM"] = workerid.FromEC2
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		lines = append(lines, k+"="+env[k])
	}
	return strings.Join(lines, "\n") + "\n"
}

// writeFile is a shell command that writes content, verbatim, to path.
func writeFile(path, content string) string {
	const eof = "SCALEOUT_EOF"
	if strings.Contains(content, eof) || !strings.HasSuffix(content, "\n") {
		panic(fmt.Sprintf("writeFile %s: content must end in a newline and not contain %s", path, eof))
	}
	return "cat > " + path + " <<'" + eof + "'\n" + content + eof
}

// newInstanceScaling scales an EC2 pool's group as newBacklogScaling
// scales a Fargate service: target tracking on the backlog per in-service
// instance, with the worker's concurrency as the target, and, when the
// minimum is 0, a step that starts the first instance.
func (s *Stack) newInstanceScaling(scope constructs.Construct, name string, w *Workers, pool string, cfg Worker) {
	group, queue := w.Groups[pool], s.Pools[pool]
	var metrics []any
	for _, q := range backlogPerWorker(queue, w, pool) {
		m := &awsautoscaling.CfnScalingPolicy_TargetTrackingMetricDataQueryProperty{
			Id: jsii.String(q.id), ReturnData: jsii.Bool(q.expression != ""),
		}
		if q.expression != "" {
			m.Expression, m.Label = jsii.String(q.expression), jsii.String(q.label)
		} else {
			var dims []any
			for _, d := range q.dims {
				dims = append(dims, &awsautoscaling.CfnScalingPolicy_MetricDimensionProperty{Name: d.name, Value: d.value})
			}
			m.MetricStat = &awsautoscaling.CfnScalingPolicy_TargetTrackingMetricStatProperty{
				Metric: &awsautoscaling.CfnScalingPolicy_MetricProperty{Namespace: q.namespace, MetricName: q.name, Dimensions: &dims},
				Stat:   q.stat,
			}
		}
		metrics = append(metrics, m)
	}
	awsautoscaling.NewCfnScalingPolicy(scope, jsii.String("BacklogPerInstance"), &awsautoscaling.CfnScalingPolicyProps{
		AutoScalingGroupName: group.AutoScalingGroupName(),
		PolicyType:           jsii.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &awsautoscaling.CfnScalingPolicy_TargetTrackingConfigurationProperty{
			TargetValue:                   jsii.Number(float64(cfg.Concurrency)),
			CustomizedMetricSpecification: &awsautoscaling.CfnScalingPolicy_CustomizedMetricSpecificationProperty{Metrics: &metrics},
		},
	})
	if cfg.MinTasks > 0 {
		return
	}
	start := awsautoscaling.NewStepScalingAction(scope, jsii.String("ScaleFromZero"), &awsautoscaling.StepScalingActionProps{
		AutoScalingGroup:        group,
		AdjustmentType:          awsautoscaling.AdjustmentType_CHANGE_IN_CAPACITY,
		EstimatedInstanceWarmup: awscdk.Duration_Seconds(jsii.Number(instanceWarmup)),
	})
	start.AddAdjustment(&awsautoscaling.AdjustmentTier{Adjustment: jsii.Number(1), LowerBound: jsii.Number(0)})
	newWorkWaitsAlarm(scope, name, w, pool, queue).AddAlarmAction(awscloudwatchactions.NewAutoScalingAction(start))
}
