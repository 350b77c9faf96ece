package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/scaleout/scaleout/internal/aws/resources"
)

// Props configure the stack.
type Props struct {
	awscdk.StackProps
	Settings Settings
}

// Stack is Scaleout's stack, with the constructs later parts (workers,
// alarms) attach to.
type Stack struct {
	awscdk.Stack
	// Resources are the definitions the tables and queues were built from.
	Resources  resources.Set
	Executions awsdynamodb.Table
	Catalog    awsdynamodb.Table
	// SecretsKey seals sensitive environment values.
	SecretsKey awskms.Key
	// Pools maps a pool name to its work queue (with its dead-letter queue).
	Pools map[string]awssqs.Queue
	// StreamDLQ receives the descriptions of stream batches the stream
	// function failed on after every retry.
	StreamDLQ awssqs.Queue
	API       awslambda.Function
	Stream    awslambda.Function
	// Reconciler runs on a schedule (see package reconcile).
	Reconciler awslambda.Function
	HTTPAPI    awsapigatewayv2.HttpApi
	// ExecutionEvents is the custom event bus the stream function sends
	// executions' final statuses to (source "scaleout", detail type
	// "Execution Ended").
	ExecutionEvents awsevents.EventBus
	// WebhookQueue holds the webhook deliveries the stream function
	// enqueues (with its dead-letter queue); Webhooks sends them.
	WebhookQueue awssqs.Queue
	Webhooks     awslambda.Function
	// WebhookSecret signs the webhooks the webhook sender sends to
	// executions' callback URLs; receivers verify them with it.
	WebhookSecret awssecretsmanager.Secret
	// URL is the API's base URL (its $default stage).
	URL *string
	// Workers are the pools' Fargate services (nil with Settings.NoWorkers).
	Workers *Workers
	// Monitoring holds the alarms, their topic and the dashboard.
	Monitoring *Monitoring
}

// Function settings. The HTTP API gives an integration 30 s at most.
const (
	apiTimeout     = 15 * time.Second
	streamTimeout  = 60 * time.Second
	functionMemory = resources.FunctionMemoryMiB
)

// New defines the stack. It fails, before defining anything, when the
// settings are not valid.
func New(scope constructs.Construct, id string, props Props) (*Stack, error) {
	set := props.Settings
	cfg, err := set.config()
	if err != nil {
		return nil, err
	}
	sp := props.StackProps
	if sp.StackName == nil {
		sp.StackName = jsii.String(set.StackName())
	}
	if sp.Description == nil {
		sp.Description = jsii.String("Scaleout " + set.Prefix + ": executions API, stream aggregation, pool queues, Fargate workers, alarms")
	}
	s := &Stack{
		Stack:     awscdk.NewStack(scope, jsii.String(id), &sp),
		Resources: cfg.Resources(),
		Pools:     map[string]awssqs.Queue{},
	}
	// cdk-nag's AWS Solutions rules run at synth; a finding that is not
	// suppressed below, with its reason, fails the synth.
	awscdk.Aspects_Of(s.Stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	awscdk.Tags_Of(s.Stack).Add(jsii.String("project"), jsii.String("scaleout"), nil)
	if set.Stage != "" {
		awscdk.Tags_Of(s.Stack).Add(jsii.String("stage"), jsii.String(set.Stage), nil)
	}

	s.Executions = newTable(s.Stack, "Executions", s.Resources.Executions, set.TablesProtected())
	s.Catalog = newTable(s.Stack, "Catalog", s.Resources.Catalog, set.TablesProtected())
	for _, pool := range slices.Sorted(maps.Keys(s.Resources.Pools)) {
		scope := constructs.NewConstruct(s.Stack, jsii.String("Pool-"+pool))
		q := newQueue(scope, "Queue", s.Resources.Pools[pool])
		s.Pools[pool] = q
		output(scope, "QueueUrl", q.QueueUrl(), "work queue of pool "+pool)
	}

	s.API = newFunction(s.Stack, "Api", functionProps{
		name:        set.Prefix + "-api",
		description: "Scaleout HTTP API (behind API Gateway, IAM authorization)",
		code:        filepath.Join(set.BuildDir, "api"),
		timeout:     apiTimeout,
		environment: set.apiEnvironment(),
		retention:   retention(set),
		// Kept from the account's pool and capped: an API burst beyond it
		// is throttled here instead of taking the concurrency the stream
		// function (one instance per stream shard, unreserved) needs.
		reserved: set.APIReserved(),
	})
	// Sensitive environment values are sealed with this key (envelope
	// encryption context: folder, environment, variable).
	s.SecretsKey = awskms.NewKey(s.Stack, jsii.String("SecretsKey"), &awskms.KeyProps{
		Description:       jsii.String("Scaleout " + set.Prefix + ": seals sensitive environment values and execution parameters"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// Only what the KMS sealer calls (not GrantEncryptDecrypt's wildcards).
	s.SecretsKey.Grant(s.API, jsii.String("kms:Encrypt"), jsii.String("kms:Decrypt"))
	s.API.AddEnvironment(jsii.String("SCALEOUT_KMS_KEY_ID"), s.SecretsKey.KeyArn(), nil)
	// Exactly the calls the API makes (the test TestAPIRoleGrantsWhatTheAPICalls
	// names the caller of each and checks them against the code): no Scan,
	// no stream reads, no DeleteItem on executions.
	s.API.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(apiExecutionsActions...),
		Resources: &[]*string{s.Executions.TableArn()},
	}))
	s.API.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:Query"),
		Resources: &[]*string{awscdk.Fn_Join(jsii.String(""), &[]*string{s.Executions.TableArn(), jsii.String("/index/*")})},
	}))
	// Folders, projects, environments, worker records, idempotency
	// records, messages and aggregates live in the catalog table.
	s.API.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(apiCatalogActions...),
		Resources: &[]*string{s.Catalog.TableArn()},
	}))
	suppress(s.API.Role(), "AwsSolutions-IAM5",
		"index/* names the executions table's own indexes (by package, folder, status, day) that GET /v1/executions queries",
		"Resource::<Executions6708FA0B.Arn>/index/*")
	for _, pool := range slices.Sorted(maps.Keys(s.Pools)) {
		// Send, find, and read the depth for GET /v1/pools; never receive or delete.
		s.Pools[pool].Grant(s.API, jsii.String("sqs:SendMessage"), jsii.String("sqs:GetQueueUrl"), jsii.String("sqs:GetQueueAttributes"))
	}
	s.HTTPAPI, s.URL = newHTTPAPI(s.Stack, set, s.API, retention(set))

	// The reconciler runs one pass a minute: it re-enqueues executions whose
	// message was lost and recovers those whose worker died long ago.
	s.Reconciler = newFunction(s.Stack, "Reconciler", functionProps{
		name:        set.Prefix + "-reconciler",
		description: "Scaleout reconciler: re-enqueues lost messages, recovers lost attempts",
		code:        filepath.Join(set.BuildDir, "reconciler"),
		timeout:     time.Minute,
		environment: set.baseEnvironment(),
		retention:   retention(set),
		// One pass at a time, and always a slot for it.
		reserved: 1,
		// A failed pass is an error (the errors alarm counts it); the next
		// scheduled pass, a minute later, is its retry.
		noAsyncRetries: true,
	})
	// Reads and conditionally updates executions through the by_status
	// index; never deletes. In the catalog it only reads worker sessions
	// (is an execution's holder alive?) and checks, in the recovery's
	// transaction, that a dead one stayed dead.
	s.Executions.Grant(s.Reconciler, jsii.String("dynamodb:Query"), jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:UpdateItem"))
	s.Catalog.Grant(s.Reconciler, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:ConditionCheckItem"))
	suppress(s.Reconciler.Role(), "AwsSolutions-IAM5",
		"index/* names the executions table's own indexes; the reconciler queries by_status",
		"Resource::<Executions6708FA0B.Arn>/index/*")
	for _, pool := range slices.Sorted(maps.Keys(s.Pools)) {
		s.Pools[pool].Grant(s.Reconciler, jsii.String("sqs:SendMessage"), jsii.String("sqs:GetQueueUrl"))
	}
	awsevents.NewRule(s.Stack, jsii.String("ReconcileSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the Scaleout reconciler every minute"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Reconciler, nil)},
	})

	s.Stream = newFunction(s.Stack, "Stream", functionProps{
		name:        set.Prefix + "-stream",
		description: "Scaleout stream aggregation: executions table stream to catalog aggregates",
		code:        filepath.Join(set.BuildDir, "stream"),
		timeout:     streamTimeout,
		environment: set.baseEnvironment(),
		retention:   retention(set),
	})
	s.StreamDLQ = awssqs.NewQueue(s.Stack, jsii.String("StreamDlq"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	suppress(s.StreamDLQ, "AwsSolutions-SQS3", "this queue is the stream event source's on-failure destination: a dead-letter queue itself")
	s.Stream.AddEventSource(awslambdaeventsources.NewDynamoEventSource(s.Executions, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(resources.StreamBatchSize),
		MaxBatchingWindow:       batchingWindow(resources.StreamBatchingWindow),
		BisectBatchOnError:      jsii.Bool(true),
		RetryAttempts:           jsii.Number(10),
		MaxRecordAge:            awscdk.Duration_Seconds(jsii.Number(resources.StreamMaxRecordAge.Seconds())),
		ReportBatchItemFailures: jsii.Bool(true),
		OnFailure:               awslambdaeventsources.NewSqsDlq(s.StreamDLQ),
		// With a tumbling window Lambda names each batch's shard, which
		// the aggregates' dedup keys on (per shard watermarks); the
		// window's state is not used, so the longest window keeps the
		// extra end-of-window invocations rare. Parallelization stays 1:
		// a shard's records must reach the function in order.
		TumblingWindow: awscdk.Duration_Seconds(jsii.Number(900)),
		// Only status transitions (and items created or deleted) invoke
		// the function; the re-enqueue mark on a pending execution does
		// not (see resources.StreamFilters).
		Filters: streamFilters(),
	}))
	s.Catalog.GrantWriteData(s.Stream)
	// Executions' final statuses go to a bus of their own, for rules of
	// any consumer; only the stream function may put events on it.
	s.ExecutionEvents = awsevents.NewEventBus(s.Stack, jsii.String("ExecutionEvents"), &awsevents.EventBusProps{
		EventBusName: jsii.String(set.EventBusName()),
		Description:  jsii.String("Scaleout " + set.Prefix + ": executions' final statuses (source scaleout, detail type Execution Ended)"),
	})
	s.ExecutionEvents.GrantPutEventsTo(s.Stream, nil)
	s.Stream.AddEnvironment(jsii.String("SCALEOUT_EVENT_BUS"), s.ExecutionEvents.EventBusName(), nil)
	suppress(s.Stream.Role(), "AwsSolutions-IAM5", "the DynamoDB event source (grantStreamRead) grants only dynamodb:ListStreams on *; the stream reads are scoped to the executions stream",
		"Resource::*")
	s.newWebhooks(set)

	if !set.NoWorkers {
		if s.Workers, err = s.newWorkers(set); err != nil {
			return nil, err
		}
	}
	s.Monitoring = s.newMonitoring(set)

	if set.JWT() {
		output(s.Stack, "ApiUrl", s.URL, "base URL of the Scaleout HTTP API (send a JWT from "+set.JWTIssuer+" as a bearer token; the console is at <url>/ui/)")
	} else {
		output(s.Stack, "ApiUrl", s.URL, "base URL of the Scaleout HTTP API (sign requests with SigV4)")
	}
	output(s.Stack, "EventBusName", s.ExecutionEvents.EventBusName(), "EventBridge bus of executions' final statuses (source scaleout, detail type Execution Ended)")
	output(s.Stack, "EventBusArn", s.ExecutionEvents.EventBusArn(), "ARN of the executions' event bus")
	// The webhook signing secret: made by Secrets Manager, read by the
	// webhook sender when it starts, and by receivers to verify.
	s.WebhookSecret = awssecretsmanager.NewSecret(s.Stack, jsii.String("WebhookSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Scaleout " + set.Prefix + ": signs the webhooks sent to executions' callback URLs (HMAC-SHA256)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	s.WebhookSecret.GrantRead(s.Webhooks, nil)
	s.Webhooks.AddEnvironment(jsii.String("SCALEOUT_WEBHOOK_SECRET_ARN"), s.WebhookSecret.SecretArn(), nil)
	suppress(s.WebhookSecret, "AwsSolutions-SMG4", "the webhook signing secret is shared with the customer's receivers, "+
		"which verify with it: an automatic rotation would fail their checks; rotate it by hand with the receivers (README)")
	output(s.Stack, "WebhookSecretArn", s.WebhookSecret.SecretArn(),
		"Secrets Manager secret that signs the webhooks: receivers verify X-Scaleout-Signature with it")
	output(s.Stack, "ExecutionsTableName", s.Executions.TableName(), "executions table")
	output(s.Stack, "CatalogTableName", s.Catalog.TableName(), "catalog (aggregates) table")
	output(s.Stack, "StreamDlqUrl", s.StreamDLQ.QueueUrl(), "stream batches the stream function gave up on")
	return s, nil
}

// apiExecutionsActions are the API's calls on the executions table:
// PutItem (POST /v1/executions, alone or in the idempotent transaction),
// GetItem (GET /v1/executions/{id}), UpdateItem (stop, and fail when the
// message cannot be sent), BatchGetItem (a listed page's items) and Scan
// (one item, once per installation: whether executions made before the
// day markers are there; see execstore's days.go). Its Query goes to the
// indexes only.
var apiExecutionsActions = []string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchGetItem", "dynamodb:Scan"}

// apiCatalogActions are the API's calls on the catalog table: reads
// (GetItem, Query, BatchGetItem: catalog, workers, messages, aggregates)
// and writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem: folders,
// projects, environments, worker records, stop requests, idempotency
// records).
var apiCatalogActions = []string{
	"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem",
	"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
}

// newTable turns a table definition into an on-demand table with point-in-
// time recovery, AWS-managed encryption and TTL.
//
// The names are fixed (the code finds the tables by them), so the policy
// is RETAIN_ON_UPDATE_OR_DELETE (CloudFormation's RetainExceptOnCreate):
// kept when the stack is deleted or the table replaced, but deleted when
// the stack's first create fails and rolls back, so that the next deploy
// does not stop on "already exists". Deletion protection (protect) guards
// the kept tables against a delete outside CloudFormation; it also
// refuses the delete of that rollback (README "Deploying to AWS" says how
// to go on, and how to adopt kept tables).
func newTable(scope constructs.Construct, id string, def resources.Table, protect bool) awsdynamodb.Table {
	props := &awsdynamodb.TableProps{
		TableName:    jsii.String(def.Name),
		PartitionKey: attribute(def.PartitionKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
		DeletionProtection: jsii.Bool(protect),
	}
	if def.SortKey != nil {
		props.SortKey = attribute(*def.SortKey)
	}
	if def.Stream {
		props.Stream = awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES
	}
	if def.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(def.TTLAttribute)
	}
	t := awsdynamodb.NewTable(scope, jsii.String(id), props)
	for _, ix := range def.Indexes {
		gsi := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   attribute(ix.PartitionKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		}
		switch ix.Projection.Type {
		case resources.ProjectKeysOnly:
			gsi.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
		case resources.ProjectInclude:
			gsi.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
			gsi.NonKeyAttributes = jsii.Strings(ix.Projection.NonKeyAttributes...)
		}
		if ix.SortKey != nil {
			gsi.SortKey = attribute(*ix.SortKey)
		}
		t.AddGlobalSecondaryIndex(gsi)
	}
	return t
}

func attribute(k resources.Key) *awsdynamodb.Attribute {
	typ := awsdynamodb.AttributeType_STRING
	if k.Type == resources.Number {
		typ = awsdynamodb.AttributeType_NUMBER
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: typ}
}

// newQueue turns a queue definition (and its dead-letter queue) into
// SQS-encrypted queues that refuse plain HTTP.
func newQueue(scope constructs.Construct, id string, def resources.Queue) awssqs.Queue {
	props := &awssqs.QueueProps{
		QueueName:  jsii.String(def.Name),
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
	}
	if def.VisibilityTimeout > 0 {
		props.VisibilityTimeout = seconds(def.VisibilityTimeout)
	}
	if def.ReceiveWait > 0 {
		props.ReceiveMessageWaitTime = seconds(def.ReceiveWait)
	}
	if def.Retention > 0 {
		props.RetentionPeriod = seconds(def.Retention)
	}
	if def.DeadLetter != nil {
		props.DeadLetterQueue = &awssqs.DeadLetterQueue{
			Queue:           newQueue(scope, id+"Dlq", *def.DeadLetter),
			MaxReceiveCount: jsii.Number(def.MaxReceiveCount),
		}
	}
	return awssqs.NewQueue(scope, jsii.String(id), props)
}

func seconds(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}

type functionProps struct {
	name, description, code string
	timeout                 time.Duration
	environment             map[string]string
	retention               awslogs.RetentionDays
	// reserved is the reserved concurrency (0: none, the account's pool).
	reserved int
	// noAsyncRetries turns off Lambda's two retries of a failed
	// asynchronous invocation (a schedule's).
	noAsyncRetries bool
}

// newFunction defines a Go function (arm64, provided.al2023, handler
// bootstrap) with JSON logs kept for the settings' retention.
func newFunction(scope constructs.Construct, id string, p functionProps) awslambda.Function {
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     p.retention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// Its own role, without AWSLambdaBasicExecutionRole (logs on *): it may
	// write to its log group only.
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("runs " + p.name),
	})
	logs.GrantWrite(role)
	env := map[string]*string{}
	for k, v := range p.environment {
		env[k] = jsii.String(v)
	}
	props := &awslambda.FunctionProps{
		Role:          role,
		FunctionName:  jsii.String(p.name),
		Description:   jsii.String(p.description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(p.code), nil),
		MemorySize:    jsii.Number(functionMemory),
		Timeout:       seconds(p.timeout),
		Environment:   &env,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
	}
	if p.reserved > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(p.reserved)
	}
	if p.noAsyncRetries {
		props.RetryAttempts = jsii.Number(0)
	}
	return awslambda.NewFunction(scope, jsii.String(id), props)
}

// Route throttling of the routes open to anyone: each request to them
// invokes the API function, unlike an unsigned request to an authorized
// route, which API Gateway refuses itself. Uptime monitors poll the health
// check a few times a minute; a page load of the console fetches a handful
// of files.
const (
	healthRate, healthBurst   = 2, 5
	consoleRate, consoleBurst = 10, 50
)

// newHTTPAPI defines the HTTP API: every /v1 route goes to fn behind IAM
// authorization, or a JWT authorizer with apiAuth=jwt, except GET
// /v1/health, which is open so that monitors can call it unsigned.
//
// The $default stage throttles every route (apiThrottleRate, ..Burst) and
// the open routes much harder (healthRate, consoleRate), so that an
// anonymous caller can cost at most a few invocations a second. (HTTP APIs
// have no mock integration that could answer the health check without
// the function; keeping it open keeps the API's contract, unsigned
// liveness, for monitors that cannot sign.)
func newHTTPAPI(scope constructs.Construct, set Settings, fn awslambda.IFunction, keep awslogs.RetentionDays) (awsapigatewayv2.HttpApi, *string) {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(set.Prefix + "-api"),
		Description:        jsii.String("Scaleout HTTP API"),
		CreateDefaultStage: jsii.Bool(false),
	})
	accessLogs := awslogs.NewLogGroup(scope, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     keep,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:         jsii.String("$default"),
		AutoDeploy:        jsii.Bool(true),
		AccessLogSettings: &accessLogSettings{logs: accessLogs, jwt: set.JWT()},
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(float64(set.ThrottleRate())),
			BurstLimit: jsii.Number(float64(set.ThrottleBurst())),
		},
	})
	// Per route limits of the open routes; the stage names routes by key,
	// so it is made after them.
	routeSettings := map[string]any{}
	throttleRoutes := func(key string, routes *[]awsapigatewayv2.HttpRoute, rate, burst int) {
		routeSettings[key] = map[string]any{"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
		for _, r := range *routes {
			stage.Node().AddDependency(r)
		}
	}
	var authorizer awsapigatewayv2.IHttpRouteAuthorizer = awsapigatewayv2authorizers.NewHttpIamAuthorizer()
	if set.JWT() {
		var audience []*string
		for _, a := range set.JWTAudience {
			audience = append(audience, jsii.String(a))
		}
		authorizer = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), jsii.String(set.JWTIssuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
				AuthorizerName: jsii.String(set.Prefix + "-jwt"),
				JwtAudience:    &audience,
			})
	}
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Api"), fn, &awsapigatewayv2integrations.HttpLambdaIntegrationProps{
		PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
	})
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/v1/{proxy+}"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
		Integration: integration,
		Authorizer:  authorizer,
	})
	health := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/v1/health"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
		Integration: integration,
	})
	for _, r := range *health {
		suppress(r, "AwsSolutions-APIG4", "the health check is public on purpose: it reads no data and answers monitors that cannot sign requests; "+
			"the stage throttles it hard")
	}
	throttleRoutes("GET /v1/health", health, healthRate, healthBurst)
	if set.JWT() {
		// The console's static files: a browser can send a JWT as a
		// bearer token (it cannot sign SigV4), so with apiAuth=jwt the
		// page at /ui/ works on AWS too. The files carry no data; every
		// figure comes from the authorized /v1 routes.
		for _, path := range []string{"/", "/ui", "/ui/{proxy+}"} {
			console := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
				Path:        jsii.String(path),
				Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
				Integration: integration,
			})
			for _, r := range *console {
				suppress(r, "AwsSolutions-APIG4", "the console's static files (HTML, CSS, JS) are public on purpose: they hold no data, and the page calls the JWT-authorized /v1 routes")
			}
			throttleRoutes("GET "+path, console, consoleRate, consoleBurst)
		}
	}
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).AddPropertyOverride(jsii.String("RouteSettings"), routeSettings)
	return api, stage.Url()
}

// accessLogSettings writes one JSON line per request, with the verified
// caller: the IAM caller's ARN, or the JWT's subject.
type accessLogSettings struct {
	logs awslogs.ILogGroup
	jwt  bool
}

func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination {
	return awsapigatewayv2.NewLogGroupLogDestination(a.logs)
}

func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat {
	caller := "$context.identity.userArn"
	if a.jwt {
		caller = "$context.authorizer.claims.sub"
	}
	return awsapigateway.AccessLogFormat_Custom(jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
		`"caller":"` + caller + `","requestTime":"$context.requestTime","routeKey":"$context.routeKey",` +
		`"status":"$context.status","latency":"$context.responseLatency","integrationError":"$context.integrationErrorMessage"}`))
}

// suppress records why a cdk-nag finding on c does not apply; appliesTo
// narrows it to the named findings of a granular rule.
func suppress(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	sup := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var to []any
		for _, a := range appliesTo {
			to = append(to, a)
		}
		sup.AppliesTo = &to
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(true))
}

func output(scope constructs.Construct, id string, value *string, description string) {
	awscdk.NewCfnOutput(scope, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}

// batchingWindow is the event source mapping's MaximumBatchingWindow, or
// nil (none) for 0.
func batchingWindow(d time.Duration) awscdk.Duration {
	if d <= 0 {
		return nil
	}
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}

// streamFilters are resources.StreamFilters as the event source mapping's
// filter criteria.
func streamFilters() *[]*map[string]interface{} {
	var out []*map[string]interface{}
	for _, f := range resources.StreamFilters {
		var pattern map[string]interface{}
		if err := json.Unmarshal([]byte(f), &pattern); err != nil {
			panic(fmt.Sprintf("resources.StreamFilters: %q is not JSON: %v", f, err)) // a programming error, caught by the stack tests
		}
		out = append(out, awslambda.FilterCriteria_Filter(&pattern))
	}
	return &out
}
