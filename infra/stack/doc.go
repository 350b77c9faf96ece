// Package stack is Scaleout's AWS CDK stack: the DynamoDB tables and SQS
// queues stated once in package resources, the API function behind an API
// Gateway HTTP API with IAM authorization (or a JWT authorizer), the stream
// function that folds the executions table's stream into the catalog table
// and sends executions' final statuses to a custom EventBridge bus, the
// workers (one ECS Fargate service per pool, arm64, from the repository's
// Dockerfile, scaled on the backlog per task; workers.go; or, per pool, an
// Auto Scaling group of Graviton instances running the worker binary under
// the systemd unit of package infra/ec2; ec2.go), and the alarms, their
// SNS topic and a CloudWatch dashboard (alarms.go).
//
// Nothing here restates a table or queue: New builds them from the
// resources.Set that the functions' own configuration (package config)
// derives from the same prefix and pools, and the tests check the
// synthesized names against that set. The functions' environment is
// validated at synth time with the same config.FromEnv the functions run,
// so a stack that synthesizes also starts.
//
// Settings come from CDK context (see SettingsFrom): stage, prefix, pools,
// iamRoles (who may call the API, as SCALEOUT_IAM_ROLES), buildDir (the
// Lambda bootstraps that `make build` writes), sourceDir (the Dockerfile),
// the workers' size, scaling, platform and image per pool (workerCpu,
// workerMemory, workerConcurrency, minTasks, maxTasks, workerPlatform,
// instanceType, workerImage: the stock image, a folder's Dockerfile built
// as an image asset, or a pushed image; images.go, workerimages.go, and
// dockerfile.go, which checks a folder's Dockerfile at synth time), apiAuth with jwtIssuer and jwtAudience, alarmEmail,
// logRetentionDays and natGateways. The workers' environment is validated
// like the functions'. The command in infra/ only wires them together;
// infra.mk at the repository root builds it once to bin/infra and runs the
// CDK CLI pinned by infra/cdk-cli/package-lock.json (installed under
// build/_cdk-cli, where neither gofmt nor the go tool walks its
// node_modules).
package stack
