package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
)

// Route is how a worker reaches one AWS API. With a NAT gateway every API
// is reached through it (DynamoDB and S3 through their free gateway
// endpoints); with natGateways=0 the workers' subnets have no way out but
// the VPC endpoints, so every API a worker's role calls needs one here, or
// those calls hang until they time out.
type Route struct {
	// ID is the endpoint's construct id.
	ID string
	// Endpoint is the endpoint's service: com.amazonaws.<region>.<Endpoint>.
	Endpoint string
	// Gateway is a gateway endpoint (DynamoDB, S3: free, made with or
	// without a NAT gateway); else an interface endpoint, made with
	// natGateways=0 only.
	Gateway bool
	// SDK is the SDK package (github.com/aws/aws-sdk-go-v2/service/<SDK>)
	// of the worker's client that calls the API; "" for calls made for the
	// worker: by ECS (image pull, log driver, the agent) or at an
	// instance's boot.
	SDK string
	// Fargate and EC2 say which platforms call it; EC2Container that EC2
	// pools call it when their workers run in a container (an image other
	// than the stock one, pulled by Docker on the instance).
	Fargate, EC2, EC2Container bool
	// Why names the calls.
	Why string
}

// WorkerRoutes are the AWS APIs a worker calls and the VPC endpoints that
// reach them: newVPC makes its endpoints from this list, and the tests
// check it against the SDK clients the worker binary links (go list -deps
// ./cmd/scaleout-worker) and against the endpoints in the template.
//
// The Lambda functions run outside the VPC and reach AWS's public
// endpoints: they need no route here.
var WorkerRoutes = []Route{
	{ID: "DynamoDb", Endpoint: "dynamodb", Gateway: true, SDK: "dynamodb", Fargate: true, EC2: true,
		Why: "executions, catalog, messages and worker sessions"},
	{ID: "S3", Endpoint: "s3", Gateway: true, SDK: "s3", Fargate: true, EC2: true,
		Why: "s3 tasks on the pool's buckets; the image's layers (ECR keeps them in S3); the worker binary an instance downloads at boot"},
	{ID: "Sqs", Endpoint: "sqs", SDK: "sqs", Fargate: true, EC2: true, Why: "the pool's queue"},
	{ID: "Kms", Endpoint: "kms", SDK: "kms", Fargate: true, EC2: true,
		Why: "kms:Decrypt opens the sensitive parameters the API sealed"},
	{ID: "EcrApi", Endpoint: "ecr.api", Fargate: true, EC2Container: true,
		Why: "the image pull's authorization (the task's execution role; an instance's docker login)"},
	{ID: "EcrDocker", Endpoint: "ecr.dkr", Fargate: true, EC2Container: true, Why: "the image pull"},
	{ID: "Logs", Endpoint: "logs", Fargate: true, Why: "the awslogs log driver (the task's execution role)"},
	{ID: "Ecs", Endpoint: "ecs", Fargate: true,
		Why: "the ECS agent's task scale-in protection calls UpdateTaskProtection signed with the task role"},
	{ID: "AutoScaling", Endpoint: "autoscaling", SDK: "autoscaling", EC2: true,
		Why: "SetInstanceProtection keeps a busy instance out of scale-in"},
}

// NotCalled is an SDK client linked into the worker binary that the
// worker never calls.
type NotCalled struct {
	// Importers are the Scaleout packages allowed to import it; a new one
	// must be looked at (does the worker now call it?).
	Importers []string
	Why       string
}

// WorkerSDKNotCalled are the SDK clients the worker binary links but never
// calls, so they need no route.
var WorkerSDKNotCalled = map[string]NotCalled{
	"dynamodbstreams": {[]string{"internal/aws/awsconfig"},
		"awsconfig builds it for every process; only the local stream poller of scaleout dev reads streams"},
	"eventbridge": {[]string{"internal/aws/awsconfig", "internal/stream/notify"},
		"only the stream function puts Execution Ended events"},
	"secretsmanager": {[]string{"internal/wiring/assemble", "internal/stream/notify"},
		"only the webhook sender reads the webhook secret (assemble.WebhookSecret, notify.SecretsManagerSecret)"},
	"sts":     {nil, sdkCredentials},
	"sso":     {nil, sdkCredentials},
	"ssooidc": {nil, sdkCredentials},
	"signin":  {nil, sdkCredentials},
}

const sdkCredentials = "the SDK's default credential chain links it for profiles, SSO and web identity; " +
	"a worker's credentials come from the ECS credentials endpoint or the instance metadata service"

// workerRoutes are the routes the settings' platforms need.
func (s Settings) workerRoutes() []Route {
	var out []Route
	for _, r := range WorkerRoutes {
		if (r.Fargate && s.onFargate()) || (r.EC2 && s.onEC2()) || (r.EC2Container && s.onEC2Container()) {
			out = append(out, r)
		}
	}
	return out
}

func (r Route) interfaceService() awsec2.InterfaceVpcEndpointAwsService {
	return awsec2.NewInterfaceVpcEndpointAwsService(jsii.String(r.Endpoint), nil, nil, nil)
}

func (r Route) gatewayService() awsec2.GatewayVpcEndpointAwsService {
	switch r.Endpoint {
	case "dynamodb":
		return awsec2.GatewayVpcEndpointAwsService_DYNAMODB()
	case "s3":
		return awsec2.GatewayVpcEndpointAwsService_S3()
	}
	panic("no gateway endpoint for " + r.Endpoint) // a programming error, caught by the stack tests
}
