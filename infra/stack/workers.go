package stack

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/scaleout/scaleout/infra/ec2"
	"github.com/scaleout/scaleout/internal/executions/execution"
)

// workerStopTimeout is how long ECS waits after SIGTERM before it kills a
// worker (Fargate's maximum). A stopping worker takes no new work, waits
// for its SQS long poll (up to 20 s) and gives running executions its grace
// period (SCALEOUT_GRACE, workerGrace) before it releases them. An execution cut
// off by a scale-in is not lost: the worker's session lease lapses and the
// session's watchdog message brings it back to pending for another worker.
//
// The write path (see README "The write path"): a worker renews one session
// item in the catalog every lease/2 and reads its stop requests every 4 s;
// nothing is written to an execution while it runs and no message is held
// for a run's length, so long runs cost no writes per minute, cause no
// redeliveries or dead-letter traffic, and keep the queue's oldest-message
// age (the alarm below) a measure of waiting work.
const workerStopTimeout = 120 * time.Second

// workerGrace is SCALEOUT_GRACE: what is left of the stop timeout after the
// long poll in flight (up to 20 s) and a margin to release the rest.
const workerGrace = workerStopTimeout - 30*time.Second

// Workers are the worker services, one per pool, and what they run in.
type Workers struct {
	VPC awsec2.Vpc
	// Endpoints are the interface endpoints (natGateways=0 only), open to
	// the workers alone.
	Endpoints []awsec2.InterfaceVpcEndpoint
	// Cluster holds the Fargate services (nil when every pool runs on EC2).
	Cluster awsecs.Cluster
	// Services maps a Fargate pool to its service.
	Services map[string]awsecs.FargateService
	// Groups maps an EC2 pool to its Auto Scaling group (ec2.go).
	Groups map[string]awsautoscaling.AutoScalingGroup
	// Roles maps a pool to its workers' role: the tasks' or the instances'.
	Roles map[string]awsiam.Role
}

// runningWorkers is the metric of how many of a pool's workers run:
// Fargate tasks (Container Insights' RunningTaskCount) or in-service EC2
// instances (the group's GroupInServiceInstances).
type runningWorkers struct {
	// id names the metric in metric math: "tasks" or "instances".
	id              string
	namespace, name string
	dims            []dimension
}

type dimension struct{ name, value *string }

// running is how many of pool's workers run.
func (w *Workers) running(pool string) runningWorkers {
	if g, ok := w.Groups[pool]; ok {
		return runningWorkers{"instances", "AWS/AutoScaling", "GroupInServiceInstances",
			[]dimension{{jsii.String("AutoScalingGroupName"), g.AutoScalingGroupName()}}}
	}
	return runningWorkers{"tasks", "ECS/ContainerInsights", "RunningTaskCount", []dimension{
		{jsii.String("ClusterName"), w.Cluster.ClusterName()},
		{jsii.String("ServiceName"), w.Services[pool].ServiceName()},
	}}
}

// unit is "task" or "instance".
func (r runningWorkers) unit() string { return strings.TrimSuffix(r.id, "s") }

func (r runningWorkers) metric(stat string, period awscdk.Duration, label string) awscloudwatch.Metric {
	dims := map[string]*string{}
	for _, d := range r.dims {
		dims[*d.name] = d.value
	}
	p := &awscloudwatch.MetricProps{
		Namespace:     jsii.String(r.namespace),
		MetricName:    jsii.String(r.name),
		DimensionsMap: &dims,
		Statistic:     jsii.String(stat),
		Period:        period,
	}
	if label != "" {
		p.Label = jsii.String(label)
	}
	return awscloudwatch.NewMetric(p)
}

// newVPC defines the workers' network: two availability zones (from
// cdk.context.json for the fake account, looked up by the CLI otherwise)
// with private subnets, gateway endpoints (free) for DynamoDB and S3, and,
// with natGateways=0, an interface endpoint for every other API the
// workers call (WorkerRoutes).
//
// Cost trade-off, at us-east-1 prices: one NAT gateway is about $33 a
// month plus $0.045 a GB; an interface endpoint is about $7.30 a month per
// AZ, so the seven a Fargate pool needs without one (SQS, KMS, ECR API,
// ECR Docker, CloudWatch Logs, ECS; EC2 pools: SQS, KMS, Auto Scaling)
// cost about $88 for two AZs, and keep every call on AWS's network. The
// default, one NAT gateway, is the cheaper of the two and lets http tasks
// reach the internet; DynamoDB traffic (the most calls) bypasses it
// through the gateway endpoint. With one, the other AZ's tasks reach the
// internet through the first AZ (cross-AZ data at $0.01 a GB) and lose it
// when that AZ fails; natGateways=2 puts one in each AZ, each AZ's private
// subnet routing to its own (about $66 a month). natGateways=0 puts the
// workers in isolated subnets with the interface endpoints instead: no
// internet at all, so http tasks reach only AWS.
func newVPC(scope constructs.Construct, set Settings) (awsec2.Vpc, []awsec2.InterfaceVpcEndpoint) {
	nat := set.NAT()
	private := awsec2.SubnetType_PRIVATE_WITH_EGRESS
	subnets := []*awsec2.SubnetConfiguration{{Name: jsii.String("Public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)}}
	if nat == 0 {
		private = awsec2.SubnetType_PRIVATE_ISOLATED
		subnets = nil
	}
	subnets = append(subnets, &awsec2.SubnetConfiguration{Name: jsii.String("Workers"), SubnetType: private, CidrMask: jsii.Number(20)})
	vpc := awsec2.NewVpc(scope, jsii.String("Vpc"), &awsec2.VpcProps{
		VpcName:             jsii.String(set.Prefix + "-workers"),
		IpAddresses:         awsec2.IpAddresses_Cidr(jsii.String("10.80.0.0/16")),
		MaxAzs:              jsii.Number(maxAZs),
		NatGateways:         jsii.Number(float64(nat)),
		SubnetConfiguration: &subnets,
		GatewayEndpoints:    gatewayEndpoints(set),
		// Nothing runs in the default security group; restricting it
		// would take a custom-resource Lambda function.
		RestrictDefaultSecurityGroup: jsii.Bool(false),
	})
	var endpoints []awsec2.InterfaceVpcEndpoint
	if nat == 0 {
		for _, r := range set.workerRoutes() {
			if r.Gateway {
				continue
			}
			// Not open to the whole VPC: each pool's security group is
			// let in (newWorkerSecurityGroup).
			endpoints = append(endpoints, vpc.AddInterfaceEndpoint(jsii.String(r.ID), &awsec2.InterfaceVpcEndpointOptions{
				Service: r.interfaceService(), PrivateDnsEnabled: jsii.Bool(true), Open: jsii.Bool(false),
			}))
		}
	}
	// Rejected connections only: what a review of the network needs,
	// without paying to log every accepted packet.
	flowLogs := awslogs.NewLogGroup(scope, jsii.String("VpcFlowLogs"), &awslogs.LogGroupProps{
		Retention:     retention(set),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
		TrafficType: awsec2.FlowLogTrafficType_REJECT,
	})
	return vpc, endpoints
}

// gatewayEndpoints are WorkerRoutes' gateway endpoints, made with or
// without a NAT gateway (they cost nothing).
func gatewayEndpoints(set Settings) *map[string]*awsec2.GatewayVpcEndpointOptions {
	out := map[string]*awsec2.GatewayVpcEndpointOptions{}
	for _, r := range WorkerRoutes {
		if r.Gateway {
			out[r.ID] = &awsec2.GatewayVpcEndpointOptions{Service: r.gatewayService()}
		}
	}
	return &out
}

// newWorkers defines the workers of each pool: a Fargate service in the
// cluster, or an Auto Scaling group of EC2 instances (ec2.go), running the
// pool's image (the stock one unless workerImage names another).
func (s *Stack) newWorkers(set Settings) (*Workers, error) {
	w := &Workers{
		Services: map[string]awsecs.FargateService{},
		Groups:   map[string]awsautoscaling.AutoScalingGroup{},
		Roles:    map[string]awsiam.Role{},
	}
	w.VPC, w.Endpoints = newVPC(s.Stack, set)
	images, err := newPoolImages(s.Stack, set)
	if err != nil {
		return nil, err
	}
	var stock awsecs.ContainerImage
	if set.onFargate() {
		w.Cluster = awsecs.NewCluster(s.Stack, jsii.String("Cluster"), &awsecs.ClusterProps{
			ClusterName:         jsii.String(set.Prefix + "-workers"),
			Vpc:                 w.VPC,
			ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
		})
		if set.onFargateStock() {
			// One stock image for every pool that runs it, built from the
			// repository's Dockerfile by `cdk deploy` (synth only hashes the
			// folder: no Docker needed).
			// The version is a build argument, so part of the asset's hash: it
			// names the sources' last commit, so it changes with them only.
			var buildArgs *map[string]*string
			if set.Version != "" {
				buildArgs = &map[string]*string{"VERSION": jsii.String(set.Version)}
			}
			stock = awsecs.ContainerImage_FromAsset(jsii.String(set.SourceDir), &awsecs.AssetImageProps{
				File:      jsii.String("Dockerfile"),
				Platform:  awsecrassets.Platform_LINUX_ARM64(),
				BuildArgs: buildArgs,
			})
		}
		output(s.Stack, "ClusterName", w.Cluster.ClusterName(), "ECS cluster of the worker services")
	}
	var binary awss3assets.Asset
	if set.onEC2Binary() {
		binary = newWorkerBinary(s.Stack, set)
	}
	for _, pool := range slices.Sorted(maps.Keys(s.Pools)) {
		img, custom := images[pool]
		switch {
		case set.Worker(pool).EC2():
			s.newWorkerGroup(w, set, pool, binary, images[pool])
		case custom:
			s.newWorkerService(w, set, pool, img.ecs)
		default:
			s.newWorkerService(w, set, pool, stock)
		}
	}
	return w, nil
}

// newWorkerRole defines the role of a pool's workers, assumed by
// principal (ECS tasks or EC2 instances), with only the calls the worker
// makes (packages worker, execstore, queue, messages, workers), on
// resources named one by one, and the pool's S3 buckets (its s3 tasks').
func (s *Stack) newWorkerRole(scope constructs.Construct, id, name, pool string, buckets []string, principal awsiam.IPrincipal) awsiam.Role {
	role := awsiam.NewRole(scope, jsii.String(id), &awsiam.RoleProps{
		AssumedBy:   principal,
		Description: jsii.String("runs " + name),
	})
	allow := func(sid string, resources []*string, actions ...string) {
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String(sid),
			Actions:   jsii.Strings(actions...),
			Resources: &resources,
		}))
	}
	// Claim, take over (a transaction with a condition on the lost
	// session) and finish executions.
	allow("Executions", []*string{s.Executions.TableArn()},
		"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query")
	// Task messages, the worker registry and the session it holds (renewals,
	// the takeover's condition check on a dead session), and the project
	// versions whose files its runs need (GetItem of the project and the
	// version items).
	allow("Catalog", []*string{s.Catalog.TableArn()},
		"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:Query",
		"dynamodb:ConditionCheckItem")
	allow("PoolQueue", []*string{s.Pools[pool].QueueArn()},
		"sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:SendMessage")
	// The pool's s3 tasks: its buckets only, none when it lists none.
	if len(buckets) > 0 {
		var arns, objects []*string
		for _, b := range buckets {
			arn := "arn:" + *awscdk.Aws_PARTITION() + ":s3:::" + b
			arns = append(arns, jsii.String(arn))
			objects = append(objects, jsii.String(arn+"/*"))
		}
		allow("PoolBuckets", arns, "s3:ListBucket", "s3:GetBucketLocation")
		allow("PoolBucketObjects", objects, "s3:GetObject", "s3:PutObject", "s3:DeleteObject",
			"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
		suppressMatching(role, "AwsSolutions-IAM5", "s3 tasks name their objects at run time: <bucket>/* is every object "+
			"of a bucket the pool lists (the buckets setting), and no other bucket", `^Resource::arn:<AWS::Partition>:s3:::[a-z0-9.-]+/\*$`)
	}
	// Open the sensitive parameters the API sealed: decrypt only, and only
	// with an execution parameter's encryption context (internal/executions/execution), so
	// that these credentials, stolen, open no environment variable or
	// anything else the key sealed.
	keys := make([]any, len(execution.SealContextKeys))
	for i, k := range execution.SealContextKeys {
		keys[i] = k
	}
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OpenSealedParameters"),
		Actions:   jsii.Strings("kms:Decrypt"),
		Resources: &[]*string{s.SecretsKey.KeyArn()},
		Conditions: &map[string]any{
			"StringEquals":              map[string]any{"kms:EncryptionContext:purpose": execution.SealPurpose},
			"ForAllValues:StringEquals": map[string]any{"kms:EncryptionContextKeys": keys},
			"Null":                      map[string]any{"kms:EncryptionContext:execution": "false", "kms:EncryptionContext:parameter": "false"},
		},
	}))
	return role
}

// workerEnvironment is a pool's workers' environment as deployed: the
// settings' (Settings.workerEnvironment), the key that opens the
// sensitive parameters the API sealed, and the exec tasks' user.
func (s *Stack) workerEnvironment(set Settings, pool string) map[string]string {
	env := set.workerEnvironment(pool)
	env["SCALEOUT_KMS_KEY_ID"] = *s.SecretsKey.KeyArn()
	// Exec tasks run as a user of their own (created by the Dockerfile and
	// by the EC2 user data), not the worker's.
	env["SCALEOUT_TASK_USER"] = ec2.TaskUser
	return env
}

// newWorkerSecurityGroup defines a pool's workers' security group: no
// inbound, outbound to AWS (and the internet through the NAT gateway), let
// into the interface endpoints.
func newWorkerSecurityGroup(scope constructs.Construct, w *Workers, name string) awsec2.SecurityGroup {
	sg := awsec2.NewSecurityGroup(scope, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              w.VPC,
		Description:      jsii.String(name + ": no inbound; outbound to AWS and, with a NAT gateway, to the targets of http tasks"),
		AllowAllOutbound: jsii.Bool(true),
	})
	for _, ep := range w.Endpoints {
		ep.Connections().AllowDefaultPortFrom(sg, jsii.String("HTTPS from "+name))
	}
	return sg
}

// workerSubnets are the private subnets the workers run in.
func workerSubnets(set Settings) *awsec2.SubnetSelection {
	if set.NAT() == 0 {
		return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
	}
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
}

func (s *Stack) newWorkerService(w *Workers, set Settings, pool string, image awsecs.ContainerImage) {
	cfg := set.Worker(pool)
	name := set.Prefix + "-worker-" + pool
	scope := constructs.NewConstruct(s.Stack, jsii.String("Worker-"+pool))
	queue := s.Pools[pool]

	logs := awslogs.NewLogGroup(scope, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     retention(set),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := s.newWorkerRole(scope, "TaskRole", name, pool, cfg.Buckets, awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil))
	// The worker keeps its task out of scale-in while it runs executions
	// (package scalein): the ECS agent calls UpdateTaskProtection with the
	// task role, on the cluster's tasks only.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("TaskScaleInProtection"),
		Actions: jsii.Strings("ecs:UpdateTaskProtection"),
		Resources: jsii.Strings(*s.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ecs"), Resource: jsii.String("task"),
			ResourceName: jsii.String(set.Prefix + "-workers/*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
		})),
	}))
	suppressMatching(role, "AwsSolutions-IAM5", "a task's id is known only once it runs: task/<cluster>/* names the tasks of the workers' cluster, "+
		"whose scale-in protection the worker sets through the ECS agent",
		`^Resource::arn:[^:]+:ecs:[^:]+:[^:]+:task/`+regexp.QuoteMeta(set.Prefix+"-workers/*")+`$`)
	w.Roles[pool] = role

	task := awsecs.NewFargateTaskDefinition(scope, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Family:         jsii.String(name),
		Cpu:            jsii.Number(float64(cfg.CPU)),
		MemoryLimitMiB: jsii.Number(float64(cfg.MemoryMiB)),
		TaskRole:       role,
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	env := map[string]*string{}
	for k, v := range s.workerEnvironment(set, pool) {
		env[k] = jsii.String(v)
	}
	task.AddContainer(jsii.String("Worker"), &awsecs.ContainerDefinitionOptions{
		ContainerName: jsii.String("worker"),
		Image:         image,
		Environment:   &env,
		Essential:     jsii.Bool(true),
		StopTimeout:   seconds(workerStopTimeout),
		Logging: awsecs.LogDrivers_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     logs,
			StreamPrefix: jsii.String("worker"),
		}),
	})
	suppress(task, "AwsSolutions-ECS2", "the environment holds names and sizes only (prefix, pools, pool, concurrency, grace), no secret")
	// The execution role pulls the image from the CDK assets repository
	// (named) and writes to the log group (named); ECR's
	// GetAuthorizationToken has no resource to name.
	suppress(task.ObtainExecutionRole(), "AwsSolutions-IAM5", "ecr:GetAuthorizationToken takes no resource: AWS requires \"*\"; the pulls are scoped to the CDK assets repository",
		"Resource::*")

	sg := newWorkerSecurityGroup(scope, w, name)
	svc := awsecs.NewFargateService(scope, jsii.String("Service"), &awsecs.FargateServiceProps{
		ServiceName:    jsii.String(name),
		Cluster:        w.Cluster,
		TaskDefinition: task,
		// No desired count: auto scaling owns it, and a deploy must not
		// reset it.
		MinHealthyPercent: jsii.Number(100),
		MaxHealthyPercent: jsii.Number(200),
		CircuitBreaker:    &awsecs.DeploymentCircuitBreaker{Rollback: jsii.Bool(true)},
		AssignPublicIp:    jsii.Bool(false),
		VpcSubnets:        workerSubnets(set),
		SecurityGroups:    &[]awsec2.ISecurityGroup{sg},
		PlatformVersion:   awsecs.FargatePlatformVersion_LATEST,
		PropagateTags:     awsecs.PropagatedTagSource_SERVICE,
	})
	w.Services[pool] = svc
	newBacklogScaling(scope, name, w, pool, queue, cfg)
	output(scope, "ServiceName", svc.ServiceName(), "Fargate service of the workers of pool "+pool)
}

// newBacklogScaling scales a pool's service on its backlog per task, as
// AWS recommends for services fed by SQS: target tracking on the metric
// math (visible + in-flight messages) / running tasks, with the worker's
// concurrency as the target, so that each task has about as much work as
// it runs at once. In-flight messages count too so that busy tasks are
// not scaled in while nothing waits. Running tasks come from Container
// Insights (ECS/ContainerInsights RunningTaskCount). An EC2 pool scales
// the same way on its in-service instances (newInstanceScaling).
//
// Target tracking cannot leave zero tasks (the ratio has no tasks to
// multiply), so when the minimum is 0 a step policy starts the first task:
// an alarm on "messages are visible and no task runs" adds one task;
// target tracking takes over from there and scales in to 0 when idle.
func newBacklogScaling(scope constructs.Construct, name string, w *Workers, pool string, queue awssqs.Queue, cfg Worker) {
	cluster, svc := w.Cluster, w.Services[pool]
	target := awsapplicationautoscaling.NewScalableTarget(scope, jsii.String("ScalableTarget"), &awsapplicationautoscaling.ScalableTargetProps{
		ServiceNamespace:  awsapplicationautoscaling.ServiceNamespace_ECS,
		ScalableDimension: jsii.String("ecs:service:DesiredCount"),
		ResourceId:        awscdk.Fn_Join(jsii.String("/"), jsii.Strings("service", *cluster.ClusterName(), *svc.ServiceName())),
		MinCapacity:       jsii.Number(float64(cfg.MinTasks)),
		MaxCapacity:       jsii.Number(float64(cfg.MaxTasks)),
		// ECS's service-linked role for Application Auto Scaling, as the
		// ECS constructs use: no role of the stack's own.
		Role: awsiam.Role_FromRoleArn(scope, jsii.String("ScalingRole"), awscdk.Stack_Of(scope).FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("iam"),
			Region:       jsii.String(""),
			Resource:     jsii.String("role/aws-service-role/ecs.application-autoscaling.amazonaws.com"),
			ResourceName: jsii.String("AWSServiceRoleForApplicationAutoScaling_ECSService"),
		}), nil),
	})
	var metrics []any
	for _, q := range backlogPerWorker(queue, w, pool) {
		m := &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDataQueryProperty{
			Id: jsii.String(q.id), ReturnData: jsii.Bool(q.expression != ""),
		}
		if q.expression != "" {
			m.Expression, m.Label = jsii.String(q.expression), jsii.String(q.label)
		} else {
			var dims []any
			for _, d := range q.dims {
				dims = append(dims, &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDimensionProperty{Name: d.name, Value: d.value})
			}
			m.MetricStat = &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricStatProperty{
				Metric: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricProperty{
					Namespace: q.namespace, MetricName: q.name, Dimensions: &dims,
				},
				Stat: q.stat,
			}
		}
		metrics = append(metrics, m)
	}
	policy := awsapplicationautoscaling.NewCfnScalingPolicy(scope, jsii.String("BacklogPerTask"), &awsapplicationautoscaling.CfnScalingPolicyProps{
		PolicyName:      jsii.String(name + "-backlog-per-task"),
		PolicyType:      jsii.String("TargetTrackingScaling"),
		ScalingTargetId: target.ScalableTargetId(),
		TargetTrackingScalingPolicyConfiguration: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingScalingPolicyConfigurationProperty{
			TargetValue:                   jsii.Number(float64(cfg.Concurrency)),
			ScaleOutCooldown:              jsii.Number(60),
			ScaleInCooldown:               jsii.Number(300),
			CustomizedMetricSpecification: &awsapplicationautoscaling.CfnScalingPolicy_CustomizedMetricSpecificationProperty{Metrics: &metrics},
		},
	})
	policy.Node().AddDependency(target)

	if cfg.MinTasks > 0 {
		return
	}
	start := awsapplicationautoscaling.NewStepScalingAction(scope, jsii.String("ScaleFromZero"), &awsapplicationautoscaling.StepScalingActionProps{
		ScalingTarget:  target,
		PolicyName:     jsii.String(name + "-scale-from-zero"),
		AdjustmentType: awsapplicationautoscaling.AdjustmentType_CHANGE_IN_CAPACITY,
		Cooldown:       awscdk.Duration_Seconds(jsii.Number(60)),
	})
	start.AddAdjustment(&awsapplicationautoscaling.AdjustmentTier{Adjustment: jsii.Number(1), LowerBound: jsii.Number(0)})
	newWorkWaitsAlarm(scope, name, w, pool, queue).AddAlarmAction(awscloudwatchactions.NewApplicationScalingAction(start))
}

// backlogQuery is one query of the backlog-per-worker metric math: a
// metric, or the expression over the others.
type backlogQuery struct {
	id                    string
	namespace, name, stat *string
	dims                  []dimension
	expression, label     string
}

// backlogPerWorker is the metric math both platforms scale on: (visible +
// in-flight messages of the pool's queue) / running workers, as the
// queries "visible", "inflight", "tasks" or "instances" (see
// Workers.running), and "backlogPerTask" or "backlogPerInstance", the one
// returned.
func backlogPerWorker(queue awssqs.IQueue, w *Workers, pool string) []backlogQuery {
	queueDims := []dimension{{jsii.String("QueueName"), queue.QueueName()}}
	sqs := func(id, metric string) backlogQuery {
		return backlogQuery{id: id, namespace: jsii.String("AWS/SQS"), name: jsii.String(metric), stat: jsii.String("Sum"), dims: queueDims}
	}
	r := w.running(pool)
	return []backlogQuery{
		sqs("visible", "ApproximateNumberOfMessagesVisible"),
		sqs("inflight", "ApproximateNumberOfMessagesNotVisible"),
		{id: r.id, namespace: jsii.String(r.namespace), name: jsii.String(r.name), stat: jsii.String("Average"), dims: r.dims},
		{
			id:         "backlogPer" + title(r.unit()),
			expression: "(visible + inflight) / " + r.id,
			label:      "messages per running " + r.unit(),
		},
	}
}

// newWorkWaitsAlarm alarms when messages wait in pool's queue and no
// worker runs: the alarm that starts a pool's first worker when its
// minimum is 0 (target tracking cannot scale from zero).
func newWorkWaitsAlarm(scope constructs.Construct, name string, w *Workers, pool string, queue awssqs.Queue) awscloudwatch.Alarm {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	r := w.running(pool)
	return awscloudwatch.NewAlarm(scope, jsii.String("WorkWaitsWithout"+title(r.id)), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("%s: messages wait and no %s runs; starts the first %s", name, r.unit(), r.unit())),
		Metric: awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String(fmt.Sprintf("IF(visible > 0 AND FILL(%s, 0) == 0, 1, 0)", r.id)),
			Label:      jsii.String("work waits without " + r.id),
			Period:     minute,
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"visible": queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}),
				r.id:      r.metric("Maximum", minute, ""),
			},
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

// suppressMatching is suppress for the findings that match pattern (an
// ARN that holds the account and region, resolved or not).
func suppressMatching(c constructs.IConstruct, rule, reason, pattern string) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String(rule), Reason: jsii.String(reason),
		AppliesTo: &[]any{&cdknag.RegexAppliesTo{Regex: jsii.String("/" + pattern + "/")}},
	}}, jsii.Bool(true))
}

// title is s with its first letter upper case ("tasks": "Tasks").
func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// retention is the settings' log retention as CloudWatch's enum.
func retention(set Settings) awslogs.RetentionDays {
	return map[int]awslogs.RetentionDays{
		1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
		7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
		60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
		150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
		400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
		1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
		2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
		3653: awslogs.RetentionDays_TEN_YEARS,
	}[set.Retention()]
}
