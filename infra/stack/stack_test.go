package stack_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/stack"
	"github.com/scaleout/scaleout/internal/api/auth"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/internal/wiring/config"
)

// The stack is synthesized once for the whole package (a synth costs
// seconds); every test reads the same template.
var synth struct {
	template    assertions.Template
	annotations assertions.Annotations
	json        map[string]any
	set         resources.Set
	settings    stack.Settings
	// app holds the three stacks.
	app awscdk.App
	// isolated is a second stack, in the same app, whose workers have no
	// NAT gateway (natGateways=0).
	isolated synthesized
	// options is a third stack, in the same app, with the options the
	// first leaves at their defaults: pool etl on EC2 (ec2_test.go) and a
	// JWT authorizer (apiAuth=jwt).
	options synthesized
}

type synthesized struct {
	template    assertions.Template
	annotations assertions.Annotations
	json        map[string]any
	set         resources.Set
	settings    stack.Settings
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "synthesize the stack:", err)
		code = 1
	}
	jsii.Close()
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	build, err := os.MkdirTemp("", "scaleout-infra-test-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(build) }() // a temporary folder: best effort
	// Placeholder bootstraps stand in for `make build`'s output.
	for _, fn := range []string{"api", "stream", "reconciler", "webhooks"} {
		if err := os.MkdirAll(filepath.Join(build, fn), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(build, fn, "bootstrap"), []byte("placeholder "+fn), 0o755); err != nil {
			return 0, err
		}
	}
	// And the EC2 workers' binary.
	if err := os.MkdirAll(filepath.Join(build, filepath.Dir(stack.WorkerBinary)), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(build, stack.WorkerBinary), []byte("placeholder worker"), 0o755); err != nil {
		return 0, err
	}
	flags, err := featureFlags()
	if err != nil {
		return 0, err
	}
	synth.settings = stack.Settings{
		Stage:    "test",
		Prefix:   "scaleout-test",
		Pools:    []string{"default", "etl"},
		IAMRoles: "arn:aws:iam::123456789012:role/ops=admin,arn:aws:sts::123456789012:assumed-role/ci/*=executor",
		BuildDir: build,
		// The worker's Dockerfile, at the repository root.
		SourceDir: filepath.Join("..", ".."),
		Workers: map[string]stack.Worker{
			"default": stack.DefaultWorker,
			"etl":     {CPU: 1024, MemoryMiB: 4096, Concurrency: 8, MinTasks: 1, MaxTasks: 10},
		},
		AlarmEmail: "ops@example.com",
		Version:    "1a2b3c4d5e6f",
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &flags})
	synth.app = app
	s, err := stack.New(app, "Scaleout", stack.Props{
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{
			Account: jsii.String("000000000000"), Region: jsii.String("us-east-1"),
		}},
		Settings: synth.settings,
	})
	if err != nil {
		return 0, err
	}
	synth.set = s.Resources
	synth.isolated.settings = synth.settings
	synth.isolated.settings.Prefix = "scaleout-isolated"
	// A Fargate pool and an EC2 pool: each platform's routes.
	synth.isolated.settings.Pools = []string{"default", "batch"}
	batch := stack.DefaultWorker
	batch.Platform = stack.PlatformEC2
	synth.isolated.settings.Workers = map[string]stack.Worker{"default": stack.DefaultWorker, "batch": batch}
	synth.isolated.settings.NATGateways = new(int)
	isolated, err := stack.New(app, "ScaleoutIsolated", stack.Props{
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{
			Account: jsii.String("000000000000"), Region: jsii.String("us-east-1"),
		}},
		Settings: synth.isolated.settings,
	})
	if err != nil {
		return 0, err
	}
	synth.options.settings = synth.settings
	synth.options.settings.Prefix = "scaleout-options"
	synth.options.settings.Workers = map[string]stack.Worker{
		"default": stack.DefaultWorker,
		"etl": {Concurrency: 8, MinTasks: 0, MaxTasks: 6, Platform: stack.PlatformEC2, InstanceType: "c7g.large",
			Buckets: []string{"landing-bucket", "archive.bucket"}},
	}
	// One NAT gateway in each AZ (TestNATGatewayPerAZ).
	nat := 2
	synth.options.settings.NATGateways = &nat
	synth.options.settings.APIAuth = stack.APIAuthJWT
	synth.options.settings.JWTIssuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
	synth.options.settings.JWTAudience = []string{"client-a", "client-b"}
	synth.options.settings.JWTRoles = "data-platform=admin,etl-operators=executor"
	options, err := stack.New(app, "ScaleoutOptions", stack.Props{
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{
			Account: jsii.String("000000000000"), Region: jsii.String("us-east-1"),
		}},
		Settings: synth.options.settings,
	})
	if err != nil {
		return 0, err
	}
	if err := synthesize(s, isolated, options); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// synthesize turns the panic of a failed synth (an unsuppressed cdk-nag
// error fails validation) into an error.
func synthesize(s, isolated, options *stack.Stack) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	synth.template = assertions.Template_FromStack(s.Stack, nil)
	synth.json = *synth.template.ToJSON()
	synth.annotations = assertions.Annotations_FromStack(s.Stack)
	for _, st := range []struct {
		to *synthesized
		s  *stack.Stack
	}{{&synth.isolated, isolated}, {&synth.options, options}} {
		st.to.template = assertions.Template_FromStack(st.s.Stack, nil)
		st.to.json = *st.to.template.ToJSON()
		st.to.annotations = assertions.Annotations_FromStack(st.s.Stack)
		st.to.set = st.s.Resources
	}
	return nil
}

// featureFlags are cdk.json's context and cdk.context.json (the
// availability zones of the fake account), which the CLI hands the app at
// synth time: the tests synthesize with the same context.
func featureFlags() (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cdk struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &cdk); err != nil {
		return nil, err
	}
	b, err = os.ReadFile(filepath.Join("..", "..", "cdk.context.json"))
	if err != nil {
		return nil, err
	}
	var lookups map[string]any
	if err := json.Unmarshal(b, &lookups); err != nil {
		return nil, err
	}
	maps.Copy(cdk.Context, lookups)
	return cdk.Context, nil
}

// check runs one assertions check; a failed one panics, which would end
// the test binary, so it is turned into a test error that names the line
// of the check.
func check(t testing.TB, f func()) {
	t.Helper()
	_, file, line, _ := runtime.Caller(1)
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s:%d: %v", filepath.Base(file), line, r)
		}
	}()
	f()
}

type obj = map[string]any

func arr(v ...any) *[]any { return &v }

func like(m obj) assertions.Matcher { return assertions.Match_ObjectLike(&m) }

func getAtt(id, attr string) obj { return obj{"Fn::GetAtt": []any{id, attr}} }

func resourceID(t *testing.T, typ string, props obj) string {
	t.Helper()
	return resourceIDIn(t, synth.template, typ, props)
}

// resourceIDIn is the logical ID of the one resource of tpl that has props.
func resourceIDIn(t *testing.T, tpl assertions.Template, typ string, props obj) string {
	t.Helper()
	var id string
	check(t, func() { id = *tpl.GetResourceId(jsii.String(typ), obj{"Properties": like(props)}) })
	return id
}

// resourcesOf returns the template's resources of one type by logical ID.
func resourcesOf(typ string) map[string]obj { return resourcesIn(synth.json, typ) }

// resourcesIn returns the resources of one type of a template.
func resourcesIn(tpl obj, typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range tpl["Resources"].(obj) {
		if r := r.(obj); r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// recorder keeps the errors reported to it instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAssertionFailuresAreRecovered(t *testing.T) {
	r := &recorder{TB: t}
	check(r, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), obj{"TableName": "no-such-table"})
	})
	require.Len(t, r.errors, 1)
	require.Contains(t, r.errors[0], "no-such-table")
}

func TestTablesComeFromResources(t *testing.T) {
	for _, def := range synth.set.Tables() {
		t.Run(def.Name, func(t *testing.T) {
			keys := []any{obj{"AttributeName": def.PartitionKey.Name, "KeyType": "HASH"}}
			if def.SortKey != nil {
				keys = append(keys, obj{"AttributeName": def.SortKey.Name, "KeyType": "RANGE"})
			}
			stream := assertions.Match_Absent()
			if def.Stream {
				stream = like(obj{"StreamViewType": "NEW_AND_OLD_IMAGES"})
			}
			check(t, func() {
				synth.template.HasResource(jsii.String("AWS::DynamoDB::Table"), obj{
					"DeletionPolicy": "RetainExceptOnCreate",
					"Properties": like(obj{
						"TableName":                        def.Name,
						"KeySchema":                        assertions.Match_ArrayEquals(&keys),
						"BillingMode":                      "PAY_PER_REQUEST",
						"PointInTimeRecoverySpecification": obj{"PointInTimeRecoveryEnabled": true},
						"SSESpecification":                 obj{"SSEEnabled": true},
						"TimeToLiveSpecification":          obj{"AttributeName": def.TTLAttribute, "Enabled": true},
						"StreamSpecification":              stream,
					}),
				})
			})
		})
	}
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(2)) })
}

// Each index has the keys and the projection package resources states.
func TestIndexesComeFromResources(t *testing.T) {
	def := synth.set.Executions
	var gsis []any
	for _, ix := range def.Indexes {
		keys := []any{obj{"AttributeName": ix.PartitionKey.Name, "KeyType": "HASH"}}
		if ix.SortKey != nil {
			keys = append(keys, obj{"AttributeName": ix.SortKey.Name, "KeyType": "RANGE"})
		}
		projection := obj{"ProjectionType": string(ix.Projection.Type)}
		if ix.Projection.Type == resources.ProjectInclude {
			attrs := []any{}
			for _, a := range ix.Projection.NonKeyAttributes {
				attrs = append(attrs, a)
			}
			projection["NonKeyAttributes"] = attrs
		}
		gsis = append(gsis, like(obj{"IndexName": ix.Name, "KeySchema": keys, "Projection": projection}))
	}
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), like(obj{
			"TableName":              def.Name,
			"GlobalSecondaryIndexes": assertions.Match_ArrayWith(&gsis),
		}))
	})
}

func TestQueuesRedriveToTheirDeadLetterQueues(t *testing.T) {
	for pool, def := range synth.set.Pools {
		t.Run(pool, func(t *testing.T) {
			dlq := resourceID(t, "AWS::SQS::Queue", obj{"QueueName": def.DeadLetter.Name})
			queue := resourceID(t, "AWS::SQS::Queue", obj{
				"QueueName":                     def.Name,
				"VisibilityTimeout":             def.VisibilityTimeout.Seconds(),
				"ReceiveMessageWaitTimeSeconds": def.ReceiveWait.Seconds(),
				"MessageRetentionPeriod":        def.Retention.Seconds(),
				"SqsManagedSseEnabled":          true,
				"RedrivePolicy": obj{
					"deadLetterTargetArn": getAtt(dlq, "Arn"),
					"maxReceiveCount":     def.MaxReceiveCount,
				},
			})
			check(t, func() {
				synth.template.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj{
					"QueueName":              def.DeadLetter.Name,
					"MessageRetentionPeriod": def.DeadLetter.Retention.Seconds(),
					"SqsManagedSseEnabled":   true,
				})
			})
			for _, id := range []string{queue, dlq} {
				check(t, func() {
					synth.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj{
						"Queues": []any{obj{"Ref": id}},
						"PolicyDocument": like(obj{"Statement": assertions.Match_ArrayWith(arr(like(obj{
							"Effect":    "Deny",
							"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
						})))}),
					})
				})
			}
		})
	}
}

// TestNamesEqualResources checks both ways that the stack names exactly the
// tables and queues of the resources.Set, so the two cannot drift.
func TestNamesEqualResources(t *testing.T) {
	var wantTables, wantQueues []string
	for _, tb := range synth.set.Tables() {
		wantTables = append(wantTables, tb.Name)
	}
	for _, q := range synth.set.Queues() {
		wantQueues = append(wantQueues, q.Name, q.DeadLetter.Name)
	}
	var gotTables, gotQueues []string
	for _, r := range resourcesOf("AWS::DynamoDB::Table") {
		gotTables = append(gotTables, r["Properties"].(obj)["TableName"].(string))
	}
	unnamed := 0
	for _, r := range resourcesOf("AWS::SQS::Queue") {
		name, ok := r["Properties"].(obj)["QueueName"].(string)
		if !ok {
			unnamed++ // the stream function's failure queue, which no code looks up
			continue
		}
		gotQueues = append(gotQueues, name)
	}
	require.ElementsMatch(t, wantTables, gotTables)
	require.ElementsMatch(t, wantQueues, gotQueues)
	require.Equal(t, 1, unnamed)
	for _, name := range append(gotTables, gotQueues...) {
		require.True(t, strings.HasPrefix(name, synth.settings.Prefix+"-"), name)
	}
}

func TestFunctionsAreGoOnArm(t *testing.T) {
	for _, fn := range []string{"api", "stream", "reconciler", "webhooks"} {
		t.Run(fn, func(t *testing.T) {
			id := resourceID(t, "AWS::Lambda::Function", obj{"FunctionName": synth.settings.Prefix + "-" + fn})
			logs := resourcesOf("AWS::Logs::LogGroup")
			check(t, func() {
				synth.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj{
					"FunctionName":  synth.settings.Prefix + "-" + fn,
					"Architectures": []any{"arm64"},
					"Runtime":       "provided.al2023",
					"Handler":       "bootstrap",
					"LoggingConfig": obj{"LogFormat": "JSON", "LogGroup": obj{"Ref": assertions.Match_AnyValue()}},
				})
			})
			props := resourcesOf("AWS::Lambda::Function")[id]["Properties"].(obj)
			group := props["LoggingConfig"].(obj)["LogGroup"].(obj)["Ref"].(string)
			require.Equal(t, float64(30), logs[group]["Properties"].(obj)["RetentionInDays"])

			// The environment must be one the function starts with.
			env := map[string]string{}
			for k, v := range props["Environment"].(obj)["Variables"].(obj) {
				s, ok := v.(string)
				if !ok {
					// A reference resolved at deploy time: the KMS key's ARN,
					// the event bus's name (TestExecutionEventBus), the
					// webhook secret's ARN (TestWebhookSecret) or the webhook
					// queue's URL (TestWebhookSender).
					require.Contains(t, []string{"SCALEOUT_KMS_KEY_ID", "SCALEOUT_EVENT_BUS", "SCALEOUT_WEBHOOK_SECRET_ARN", "SCALEOUT_WEBHOOK_QUEUE_URL"}, k)
					s = "arn:aws:resolved-at-deploy"
					if k == "SCALEOUT_WEBHOOK_QUEUE_URL" {
						s = "https://sqs.us-east-1.amazonaws.com/000000000000/resolved-at-deploy"
					}
				}
				env[k] = s
			}
			cfg, err := config.FromEnv(func(k string) string { return env[k] })
			require.NoError(t, err)
			require.Equal(t, synth.set, cfg.Resources())
			if fn == "api" {
				require.Equal(t, "iam", env["SCALEOUT_AUTH"])
				require.Equal(t, synth.settings.IAMRoles, env["SCALEOUT_IAM_ROLES"])
				_, err := cfg.Authenticator()
				require.NoError(t, err)
				require.NotEmpty(t, env["SCALEOUT_KMS_KEY_ID"], "sensitive values are sealed with KMS")
			}
		})
	}
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(4)) })
}

func TestHTTPAPIRoutes(t *testing.T) {
	integration := resourceID(t, "AWS::ApiGatewayV2::Integration", obj{
		"IntegrationType":      "AWS_PROXY",
		"PayloadFormatVersion": "2.0",
	})
	target := obj{"Fn::Join": []any{"", []any{"integrations/", obj{"Ref": integration}}}}
	for route, authorization := range map[string]string{
		"ANY /v1/{proxy+}": "AWS_IAM",
		"GET /v1/health":   "NONE",
	} {
		check(t, func() {
			synth.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), obj{
				"RouteKey": route, "AuthorizationType": authorization, "Target": target,
			})
		})
	}
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(2)) })
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), obj{
			"StageName":         "$default",
			"AutoDeploy":        true,
			"AccessLogSettings": obj{"DestinationArn": assertions.Match_AnyValue(), "Format": assertions.Match_AnyValue()},
		})
	})
	check(t, func() { synth.template.HasOutput(jsii.String("ApiUrl"), obj{}) })
}

func TestStreamEventSource(t *testing.T) {
	executions := resourceID(t, "AWS::DynamoDB::Table", obj{"TableName": synth.set.Executions.Name})
	stream := resourceID(t, "AWS::Lambda::Function", obj{"FunctionName": synth.settings.Prefix + "-stream"})
	var dlq string
	for id, r := range resourcesOf("AWS::SQS::Queue") {
		if _, named := r["Properties"].(obj)["QueueName"]; !named {
			dlq = id
		}
	}
	require.NotEmpty(t, dlq, "no stream failure queue")
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj{
			"FunctionName":                   obj{"Ref": stream},
			"EventSourceArn":                 getAtt(executions, "StreamArn"),
			"StartingPosition":               "TRIM_HORIZON",
			"BatchSize":                      resources.StreamBatchSize,
			"MaximumBatchingWindowInSeconds": batchingWindowSeconds(),
			"BisectBatchOnFunctionError":     true,
			"MaximumRetryAttempts":           10,
			"MaximumRecordAgeInSeconds":      3600,
			"TumblingWindowInSeconds":        900,
			"ParallelizationFactor":          assertions.Match_Absent(), // a shard's records in order
			"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
			"DestinationConfig":              obj{"OnFailure": obj{"Destination": getAtt(dlq, "Arn")}},
			"FilterCriteria":                 obj{"Filters": filterPatterns()},
		})
	})
	// And the webhook sender's (TestWebhookSender).
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(2)) })
}

// filterPatterns are resources.StreamFilters as the template states them:
// each pattern a JSON string (compared as JSON).
func filterPatterns() []any {
	var out []any
	for _, f := range resources.StreamFilters {
		out = append(out, obj{"Pattern": assertions.Match_SerializedJson(jsonOf(f))})
	}
	return out
}

func jsonOf(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

// roleNames names each IAM role of a template by what assumes it: a
// function's name, a task definition's family (its task role), the family
// with " execution" (its execution role), a launch template's name with
// " instance" (its instances' role) or "flow logs".
func roleNames(tpl obj) map[string]string {
	out := map[string]string{}
	roleID := func(v any) string { return v.(obj)["Fn::GetAtt"].([]any)[0].(string) }
	for _, r := range resourcesIn(tpl, "AWS::Lambda::Function") {
		out[roleID(r["Properties"].(obj)["Role"])] = r["Properties"].(obj)["FunctionName"].(string)
	}
	for _, r := range resourcesIn(tpl, "AWS::ECS::TaskDefinition") {
		p := r["Properties"].(obj)
		out[roleID(p["TaskRoleArn"])] = p["Family"].(string)
		out[roleID(p["ExecutionRoleArn"])] = p["Family"].(string) + " execution"
	}
	profiles := resourcesIn(tpl, "AWS::IAM::InstanceProfile")
	for _, r := range resourcesIn(tpl, "AWS::EC2::LaunchTemplate") {
		p := r["Properties"].(obj)
		profile := profiles[roleID(p["LaunchTemplateData"].(obj)["IamInstanceProfile"].(obj)["Arn"])]
		role := profile["Properties"].(obj)["Roles"].([]any)[0].(obj)["Ref"].(string)
		out[role] = p["LaunchTemplateName"].(string) + " instance"
	}
	for _, r := range resourcesIn(tpl, "AWS::EC2::FlowLog") {
		out[roleID(r["Properties"].(obj)["DeliverLogsPermissionArn"])] = "flow logs"
	}
	return out
}

// statements lists every IAM policy statement of the first stack by the
// role it is granted to (see roleNames).
func statements(t *testing.T) map[string][]obj { return statementsIn(t, synth.json) }

// statementsIn lists every IAM policy statement of a template by the role
// it is granted to (see roleNames).
func statementsIn(t *testing.T, tpl obj) map[string][]obj {
	t.Helper()
	names := roleNames(tpl)
	out := map[string][]obj{}
	for id, p := range resourcesIn(tpl, "AWS::IAM::Policy") {
		props := p["Properties"].(obj)
		roles := props["Roles"].([]any)
		require.Len(t, roles, 1, id)
		name := names[roles[0].(obj)["Ref"].(string)]
		require.NotEmpty(t, name, "policy %s is not a function's, a task's, an instance's or the flow log's", id)
		for _, st := range props["PolicyDocument"].(obj)["Statement"].([]any) {
			out[name] = append(out[name], st.(obj))
		}
	}
	return out
}

// resourceKey names a statement's resource: a logical ID with the
// attribute for GetAtt, a literal ARN, "*", or the printed expression.
func resourceKey(res any) string {
	switch r := res.(type) {
	case string:
		return r
	case obj:
		if att, ok := r["Fn::GetAtt"].([]any); ok {
			return att[0].(string) + "." + att[1].(string)
		}
		return fmt.Sprint(r)
	}
	return fmt.Sprint(res)
}

// grants lists, per role (see roleNames), the DynamoDB and SQS actions
// granted on each resource (see resourceKey).
func grants(t *testing.T) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	for name, sts := range statements(t) {
		out[name] = map[string][]string{}
		for _, st := range sts {
			require.Equal(t, "Allow", st["Effect"])
			for _, res := range list(st["Resource"]) {
				key := resourceKey(res)
				for _, a := range list(st["Action"]) {
					if a := a.(string); strings.HasPrefix(a, "dynamodb:") || strings.HasPrefix(a, "sqs:") {
						out[name][key] = append(out[name][key], a)
					}
				}
			}
		}
	}
	return out
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func TestLeastPrivilege(t *testing.T) {
	g := grants(t)
	id := func(typ, name string) string {
		key := "TableName"
		if typ == "AWS::SQS::Queue" {
			key = "QueueName"
		}
		return resourceID(t, typ, obj{key: name})
	}
	executions := id("AWS::DynamoDB::Table", synth.set.Executions.Name)
	catalog := id("AWS::DynamoDB::Table", synth.set.Catalog.Name)

	t.Run("no wildcard resources", func(t *testing.T) {
		for fn, byResource := range g {
			for res, actions := range byResource {
				if res == "*" {
					// dynamodb:ListStreams takes no resource; the DynamoDB
					// event source grants it on "*" and nothing else.
					require.Equal(t, []string{"dynamodb:ListStreams"}, actions, fn)
					require.Equal(t, synth.settings.Prefix+"-stream", fn)
				}
			}
		}
	})
	t.Run("api", func(t *testing.T) {
		api := g[synth.settings.Prefix+"-api"]
		var want []string
		// The executions table's indexes: GET /v1/executions queries them.
		indexes := "map[Fn::Join:[ [map[Fn::GetAtt:[" + executions + " Arn]] /index/*]]]"
		want = append(want, executions+".Arn", catalog+".Arn", indexes)
		require.Contains(t, api[indexes], "dynamodb:Query")
		for _, q := range synth.set.Pools {
			qid := id("AWS::SQS::Queue", q.Name)
			want = append(want, qid+".Arn")
			require.ElementsMatch(t, []string{"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}, api[qid+".Arn"])
		}
		require.ElementsMatch(t, want, slices.Collect(maps.Keys(api)))
		require.Subset(t, api[executions+".Arn"], []string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"})
		// Idempotency records are written in the catalog table, with the
		// execution, in one transaction.
		require.Subset(t, api[catalog+".Arn"], []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"})
	})
	t.Run("reconciler", func(t *testing.T) {
		rec := g[synth.settings.Prefix+"-reconciler"]
		require.ElementsMatch(t, []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"}, rec[executions+".Arn"])
		require.ElementsMatch(t, []string{"dynamodb:GetItem", "dynamodb:ConditionCheckItem"}, rec[catalog+".Arn"],
			"in the catalog the reconciler only reads worker sessions and checks a dead one in its recovery")
		for _, q := range synth.set.Pools {
			qid := id("AWS::SQS::Queue", q.Name)
			require.ElementsMatch(t, []string{"sqs:SendMessage", "sqs:GetQueueUrl"}, rec[qid+".Arn"])
		}
		check(t, func() {
			synth.template.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
				"ScheduleExpression": "rate(1 minute)",
			})
		})
	})
	t.Run("stream", func(t *testing.T) {
		stream := g[synth.settings.Prefix+"-stream"]
		for res := range stream {
			require.NotEqual(t, executions+".Arn", res, "the stream function needs the executions stream, not the table")
			require.False(t, strings.HasPrefix(res, "Pool"), "the stream function needs no pool queue: %s", res)
		}
		require.Subset(t, stream[executions+".StreamArn"], []string{"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream"})
		require.Contains(t, stream[catalog+".Arn"], "dynamodb:UpdateItem")
		require.NotContains(t, stream[catalog+".Arn"], "dynamodb:GetItem")
		// It queues webhook deliveries, and does nothing else with SQS
		// but report failed batches to its on-failure queue.
		hooks := id("AWS::SQS::Queue", synth.set.Webhooks.Name)
		require.Equal(t, []string{"sqs:SendMessage"}, stream[hooks+".Arn"])
		for res, actions := range stream {
			for _, a := range actions {
				if strings.HasPrefix(a, "sqs:") && res != hooks+".Arn" {
					require.True(t, strings.HasPrefix(res, "StreamDlq"), "the stream function may use %s on %s", a, res)
				}
			}
		}
	})
	t.Run("webhooks", func(t *testing.T) {
		sender := g[synth.settings.Prefix+"-webhooks"]
		hooks := id("AWS::SQS::Queue", synth.set.Webhooks.Name)
		// Receive, delete and delay on its own queue; never send.
		require.Subset(t, sender[hooks+".Arn"], []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"})
		require.NotContains(t, sender[hooks+".Arn"], "sqs:SendMessage")
		// Its delivery records in the catalog: nothing else of any table.
		require.ElementsMatch(t, []string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"}, sender[catalog+".Arn"])
		require.ElementsMatch(t, []string{hooks + ".Arn", catalog + ".Arn"}, slices.Collect(maps.Keys(sender)))
	})
}

// TestWebhookSender: webhooks are off the stream's path. The stream
// function sends deliveries to the webhook queue (its URL in its
// environment); the webhook sender, with its own timeout and reserved
// concurrency, takes batches of them with partial batch failures, and the
// queue redrives to a dead-letter queue that raises an alarm.
func TestWebhookSender(t *testing.T) {
	def := synth.set.Webhooks
	dlq := resourceID(t, "AWS::SQS::Queue", obj{"QueueName": def.DeadLetter.Name, "MessageRetentionPeriod": def.DeadLetter.Retention.Seconds()})
	queue := resourceID(t, "AWS::SQS::Queue", obj{
		"QueueName":              def.Name,
		"VisibilityTimeout":      def.VisibilityTimeout.Seconds(),
		"MessageRetentionPeriod": def.Retention.Seconds(),
		"SqsManagedSseEnabled":   true,
		"RedrivePolicy":          obj{"deadLetterTargetArn": getAtt(dlq, "Arn"), "maxReceiveCount": resources.WebhookMaxReceives},
	})
	// Lambda asks for a visibility timeout of six times the function's.
	require.GreaterOrEqual(t, def.VisibilityTimeout, 6*resources.WebhookSenderTimeout)

	sender := resourceID(t, "AWS::Lambda::Function", obj{
		"FunctionName":                 synth.settings.Prefix + "-webhooks",
		"Timeout":                      resources.WebhookSenderTimeout.Seconds(),
		"ReservedConcurrentExecutions": resources.WebhookConcurrency,
	})
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj{
			"FunctionName":          obj{"Ref": sender},
			"EventSourceArn":        getAtt(queue, "Arn"),
			"BatchSize":             resources.WebhookBatchSize,
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
			"ScalingConfig":         obj{"MaximumConcurrency": resources.WebhookConcurrency},
		})
	})
	fns := resourcesOf("AWS::Lambda::Function")
	env := fns[sender]["Properties"].(obj)["Environment"].(obj)["Variables"].(obj)
	require.Equal(t, obj{"Ref": queue}, env["SCALEOUT_WEBHOOK_QUEUE_URL"])
	stream := resourceID(t, "AWS::Lambda::Function", obj{"FunctionName": synth.settings.Prefix + "-stream"})
	env = fns[stream]["Properties"].(obj)["Environment"].(obj)["Variables"].(obj)
	require.Equal(t, obj{"Ref": queue}, env["SCALEOUT_WEBHOOK_QUEUE_URL"])
	require.NotContains(t, env, "SCALEOUT_WEBHOOK_SECRET_ARN", "the stream function signs nothing")

	topic := resourceID(t, "AWS::SNS::Topic", obj{"TopicName": synth.settings.Prefix + "-alarms"})
	check(t, func() {
		synth.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
			"AlarmName":    synth.settings.Prefix + "-webhooks-dlq",
			"Namespace":    "AWS/SQS",
			"MetricName":   "ApproximateNumberOfMessagesVisible",
			"Dimensions":   []any{obj{"Name": "QueueName", "Value": getAtt(dlq, "QueueName")}},
			"Threshold":    1,
			"AlarmActions": []any{obj{"Ref": topic}},
		})
	})
	check(t, func() { synth.template.HasOutput(jsii.String("WebhookQueueArn"), obj{"Value": getAtt(queue, "Arn")}) })
	check(t, func() { synth.template.HasOutput(jsii.String("WebhookDlqArn"), obj{"Value": getAtt(dlq, "Arn")}) })
}

// TestNagFindingsAreResolved: cdk-nag's AWS Solutions rules ran and left no
// error or warning; the findings that do not apply are suppressed with a
// reason, in the template's metadata.
func TestNagFindingsAreResolved(t *testing.T) {
	nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	check(t, func() { synth.annotations.HasNoError(jsii.String("*"), nag) })
	check(t, func() { synth.annotations.HasNoWarning(jsii.String("*"), nag) })
	check(t, func() {
		synth.template.HasResource(jsii.String("AWS::ApiGatewayV2::Route"), obj{
			"Properties": like(obj{"RouteKey": "GET /v1/health"}),
			"Metadata": like(obj{"cdk_nag": obj{"rules_to_suppress": assertions.Match_ArrayWith(arr(
				like(obj{"id": "AwsSolutions-APIG4", "reason": assertions.Match_AnyValue()}),
			))}}),
		})
	})
}

// TestExecutionEventBus: executions' final statuses go to a custom event
// bus that only the stream function may put events on, and whose name the
// stream function reads from SCALEOUT_EVENT_BUS.
func TestExecutionEventBus(t *testing.T) {
	bus := resourceID(t, "AWS::Events::EventBus", obj{"Name": synth.settings.EventBusName()})
	require.Equal(t, "scaleout-test-executions", synth.settings.EventBusName())
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::Events::EventBus"), jsii.Number(1)) })

	stream := resourceID(t, "AWS::Lambda::Function", obj{"FunctionName": synth.settings.Prefix + "-stream"})
	env := resourcesOf("AWS::Lambda::Function")[stream]["Properties"].(obj)["Environment"].(obj)["Variables"].(obj)
	require.Equal(t, obj{"Ref": bus}, env["SCALEOUT_EVENT_BUS"])

	// events:PutEvents on this bus, for the stream function only.
	sts := statements(t)
	var put []obj
	for role, rs := range sts {
		for _, st := range rs {
			for _, a := range list(st["Action"]) {
				if strings.HasPrefix(a.(string), "events:") {
					require.Equal(t, synth.settings.Prefix+"-stream", role, "%s may not use EventBridge", role)
					put = append(put, st)
				}
			}
		}
	}
	require.Equal(t, []obj{{"Action": "events:PutEvents", "Effect": "Allow", "Resource": getAtt(bus, "Arn")}}, put)

	check(t, func() { synth.template.HasOutput(jsii.String("EventBusName"), obj{"Value": obj{"Ref": bus}}) })
	check(t, func() { synth.template.HasOutput(jsii.String("EventBusArn"), obj{"Value": getAtt(bus, "Arn")}) })
}

// TestJWTAuthorizer: with apiAuth=jwt every route but the health check
// needs a JWT from the issuer for one of the audiences; without it (the
// first stack) no authorizer exists and IAM authorizes.
func TestJWTAuthorizer(t *testing.T) {
	tpl, set := synth.options.template, synth.options.settings
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(0)) })
	check(t, func() { tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Authorizer"), jsii.Number(1)) })
	var authorizer string
	for id := range resourcesIn(synth.options.json, "AWS::ApiGatewayV2::Authorizer") {
		authorizer = id
	}
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), obj{
			"AuthorizerType": "JWT",
			"IdentitySource": []any{"$request.header.Authorization"},
			"JwtConfiguration": obj{
				"Issuer":   set.JWTIssuer,
				"Audience": []any{"client-a", "client-b"},
			},
		})
	})
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), obj{
			"RouteKey": "ANY /v1/{proxy+}", "AuthorizationType": "JWT", "AuthorizerId": obj{"Ref": authorizer},
		})
	})
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), obj{
			"RouteKey": "GET /v1/health", "AuthorizationType": "NONE", "AuthorizerId": assertions.Match_Absent(),
		})
	})
	// The console's static files are open: a browser sends the JWT from
	// the page to the /v1 routes.
	for _, route := range []string{"GET /", "GET /ui", "GET /ui/{proxy+}"} {
		check(t, func() {
			tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), obj{
				"RouteKey": route, "AuthorizationType": "NONE", "AuthorizerId": assertions.Match_Absent(),
			})
		})
	}
	check(t, func() { tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(5)) })
	// The access log names the token's subject.
	check(t, func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), obj{
			"AccessLogSettings": like(obj{"Format": assertions.Match_StringLikeRegexp(jsii.String(`"caller":"\$context\.authorizer\.claims\.sub"`))}),
		})
	})
	// The API function maps the token's groups to roles.
	api := resourceIDIn(t, tpl, "AWS::Lambda::Function", obj{"FunctionName": set.Prefix + "-api"})
	env := resourcesIn(synth.options.json, "AWS::Lambda::Function")[api]["Properties"].(obj)["Environment"].(obj)["Variables"].(obj)
	require.Equal(t, "jwt", env["SCALEOUT_AUTH"])
	require.Equal(t, set.JWTRoles, env["SCALEOUT_JWT_ROLES"])
	require.NotContains(t, env, "SCALEOUT_IAM_ROLES")
	cfg, err := config.FromEnv(func(k string) string { s, _ := env[k].(string); return s })
	require.NoError(t, err)
	a, err := cfg.Authenticator()
	require.NoError(t, err)
	require.IsType(t, auth.JWTClaims{}, a)
	check(t, func() {
		tpl.HasOutput(jsii.String("ApiUrl"), obj{"Description": assertions.Match_StringLikeRegexp(jsii.String("JWT"))})
	})
}

// TestOptionsNagFindingsAreResolved: the third stack (EC2 workers, JWT)
// passes cdk-nag too.
func TestOptionsNagFindingsAreResolved(t *testing.T) {
	nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*|CdkNagValidationFailure.*"))
	check(t, func() { synth.options.annotations.HasNoError(jsii.String("*"), nag) })
	check(t, func() { synth.options.annotations.HasNoWarning(jsii.String("*"), nag) })
}

// TestWebhookSecret: the webhook signing secret is generated by Secrets
// Manager, kept when the stack goes, readable by the webhook sender only,
// named to it by ARN, and given as an output for receivers.
func TestWebhookSecret(t *testing.T) {
	secret := resourceID(t, "AWS::SecretsManager::Secret", obj{
		"GenerateSecretString": obj{"PasswordLength": 64, "ExcludePunctuation": true},
	})
	check(t, func() { synth.template.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(1)) })
	require.Equal(t, "Retain", resourcesOf("AWS::SecretsManager::Secret")[secret]["DeletionPolicy"])

	sender := resourceID(t, "AWS::Lambda::Function", obj{"FunctionName": synth.settings.Prefix + "-webhooks"})
	env := resourcesOf("AWS::Lambda::Function")[sender]["Properties"].(obj)["Environment"].(obj)["Variables"].(obj)
	require.Equal(t, obj{"Ref": secret}, env["SCALEOUT_WEBHOOK_SECRET_ARN"])
	require.NotContains(t, env, "SCALEOUT_WEBHOOK_SECRET", "the secret itself is never in the function's configuration")

	var reads []string
	for role, rs := range statements(t) {
		for _, st := range rs {
			for _, a := range list(st["Action"]) {
				if strings.HasPrefix(a.(string), "secretsmanager:") {
					require.Equal(t, synth.settings.Prefix+"-webhooks", role, "%s may not read the webhook secret", role)
					require.Equal(t, obj{"Ref": secret}, st["Resource"])
					reads = append(reads, a.(string))
				}
			}
		}
	}
	require.Contains(t, reads, "secretsmanager:GetSecretValue")
	check(t, func() { synth.template.HasOutput(jsii.String("WebhookSecretArn"), obj{"Value": obj{"Ref": secret}}) })
}

// batchingWindowSeconds is the MaximumBatchingWindowInSeconds the template
// should hold: absent when resources.StreamBatchingWindow is 0.
func batchingWindowSeconds() any {
	if resources.StreamBatchingWindow <= 0 {
		return assertions.Match_Absent()
	}
	return int(resources.StreamBatchingWindow.Seconds())
}
