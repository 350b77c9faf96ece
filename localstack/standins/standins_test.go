package standins_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testlog"
	"github.com/scaleout/scaleout/localstack/standins"
)

// The tests run real stand-ins. They install once into DefaultDir() (the slow part, done by the first
// test that needs it) and give every test its own state folder, sharing that install through a
// node_modules symlink, and its own free ports: they never touch a stack running on the default ports.

var (
	installOnce sync.Once
	installErr  error
)

// setup returns options for a private stack: a fresh state folder that shares the install, free ports,
// and a logger that writes to the test log.
func setup(t *testing.T) standins.Options {
	t.Helper()
	installOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		installErr = standins.Install(ctx, standins.DefaultDir(), testLogger(t))
	})
	require.NoError(t, installErr)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(standins.DefaultDir(), "node_modules"), filepath.Join(dir, "node_modules")))
	ports := freePorts(t, 2)
	return standins.Options{Dir: dir, DynamoDBPort: ports[0], SQSPort: ports[1], Logger: testLogger(t)}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close() // held until all are picked, so they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testlog.Writer(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func clients(s *standins.Stack) (*dynamodb.Client, *sqs.Client) {
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	ddb := dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(s.DynamoDBEndpoint),
		Credentials:                     creds,
		DisableValidateResponseChecksum: true,
		RetryMaxAttempts:                1,
	})
	q := sqs.New(sqs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.SQSEndpoint),
		Credentials:      creds,
		RetryMaxAttempts: 1,
	})
	return ddb, q
}

// answers reports which stand-ins of s answer through the SDK.
func answers(s *standins.Stack) (dynamo, queue bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ddb, q := clients(s)
	_, derr := ddb.ListTables(ctx, &dynamodb.ListTablesInput{})
	_, qerr := q.ListQueues(ctx, &sqs.ListQueuesInput{})
	return derr == nil, qerr == nil
}

func requireUp(t *testing.T, s *standins.Stack) {
	t.Helper()
	d, q := answers(s)
	require.True(t, d, "DynamoDB Local should answer on %s", s.DynamoDBEndpoint)
	require.True(t, q, "fauxqs should answer on %s", s.SQSEndpoint)
}

func requireDownSoon(t *testing.T, s *standins.Stack) {
	t.Helper()
	require.Eventually(t, func() bool {
		d, q := answers(s)
		return !d && !q
	}, 30*time.Second, 50*time.Millisecond, "stand-ins should stop answering on %s and %s", s.DynamoDBEndpoint, s.SQSEndpoint)
}

func start(t *testing.T, o standins.Options) *standins.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := standins.Start(ctx, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func TestStartReusesAndStopsOnlyWhatItStarted(t *testing.T) {
	t.Parallel()
	o := setup(t)
	ctx := t.Context()

	first := start(t, o)
	require.Equal(t, []string{standins.ServiceDynamoDB, standins.ServiceSQS}, first.Started())
	require.Equal(t, "http://127.0.0.1:"+strconv.Itoa(o.DynamoDBPort), first.DynamoDBEndpoint)
	require.Equal(t, "http://127.0.0.1:"+strconv.Itoa(o.SQSPort), first.SQSEndpoint)
	for _, name := range []string{"dynamodb", "sqs"} {
		port := map[string]int{"dynamodb": o.DynamoDBPort, "sqs": o.SQSPort}[name]
		require.FileExists(t, filepath.Join(o.Dir, fmt.Sprintf("%s-%d.pid", name, port)))
	}

	// Both answer as the real services, through the SDK.
	ddb, q := clients(first)
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("standins-test"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		StreamSpecification:  &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewAndOldImages},
	})
	require.NoError(t, err)
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("standins-test")})
	require.NoError(t, err)
	_, err = q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queue.QueueUrl, MessageBody: aws.String("hello")})
	require.NoError(t, err)

	// Starting again reuses the same processes: the table and the queue are there.
	second := start(t, o)
	third := start(t, o)
	require.Empty(t, second.Started())
	require.Empty(t, third.Started())
	require.Equal(t, first.DynamoDBEndpoint, second.DynamoDBEndpoint)
	ddb2, q2 := clients(second)
	tables, err := ddb2.ListTables(ctx, &dynamodb.ListTablesInput{})
	require.NoError(t, err)
	require.Contains(t, tables.TableNames, "standins-test")
	_, err = q2.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("standins-test")})
	require.NoError(t, err)

	// A stack in another folder reuses them too, and never stops what it did not start.
	other := start(t, standins.Options{Dir: t.TempDir(), DynamoDBPort: o.DynamoDBPort, SQSPort: o.SQSPort, Logger: o.Logger})
	require.Empty(t, other.Started())
	require.NoError(t, other.Stop())
	requireUp(t, first)

	// A stack that only reused them does not stop them.
	require.NoError(t, third.Stop())
	requireUp(t, first)

	// The starter stops them, unless another stack still uses them: then the last user does.
	require.NoError(t, first.Stop())
	requireUp(t, first)
	require.NoError(t, second.Stop())
	requireDownSoon(t, first)
	require.NoFileExists(t, filepath.Join(o.Dir, fmt.Sprintf("dynamodb-%d.pid", o.DynamoDBPort)))
	require.NoFileExists(t, filepath.Join(o.Dir, fmt.Sprintf("sqs-%d.pid", o.SQSPort)))

	require.NoError(t, first.Stop(), "a second Stop does nothing")
}

func TestConcurrentStartStartsOneCopy(t *testing.T) {
	t.Parallel()
	o := setup(t)

	const callers = 4
	stacks := make([]*standins.Stack, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			stacks[i], errs[i] = standins.Start(ctx, o)
		})
	}
	wg.Wait()
	started := map[string]int{}
	for i := range callers {
		require.NoError(t, errs[i])
		t.Cleanup(func() { _ = stacks[i].Stop() })
		for _, name := range stacks[i].Started() {
			started[name]++
		}
	}
	require.Equal(t, map[string]int{standins.ServiceDynamoDB: 1, standins.ServiceSQS: 1}, started)
	requireUp(t, stacks[0])

	for i := range callers {
		require.NoError(t, stacks[i].Stop())
	}
	requireDownSoon(t, stacks[0])
}

func TestStopAllStopsEveryRecordedStandIn(t *testing.T) {
	t.Parallel()
	o := setup(t)
	s := start(t, o)
	requireUp(t, s)

	require.NoError(t, standins.StopAll(o.Dir, o.Logger))
	requireDownSoon(t, s)
	pids, err := filepath.Glob(filepath.Join(o.Dir, "*.pid"))
	require.NoError(t, err)
	require.Empty(t, pids)
	require.NoError(t, s.Stop(), "Stop after StopAll has nothing left to do")
}

func TestStartReplacesAHungStandIn(t *testing.T) {
	t.Parallel()
	o := setup(t)
	first := start(t, o)
	pidPath := filepath.Join(o.Dir, fmt.Sprintf("dynamodb-%d.pid", o.DynamoDBPort))
	b, err := os.ReadFile(pidPath)
	require.NoError(t, err)
	hung, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	// Freeze DynamoDB Local: it keeps its port but no longer answers.
	require.NoError(t, syscall.Kill(hung, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(hung, syscall.SIGKILL) })
	// The stop is asynchronous: a busy JVM thread may still answer a request
	// until every thread is seen stopped.
	require.Eventually(t, func() bool { return allThreadsStopped(hung) }, 10*time.Second, 10*time.Millisecond)

	second := start(t, o)
	require.Equal(t, []string{standins.ServiceDynamoDB}, second.Started())
	requireUp(t, second)
	b, err = os.ReadFile(pidPath)
	require.NoError(t, err)
	require.NotEqual(t, strconv.Itoa(hung), strings.TrimSpace(string(b)))

	require.NoError(t, first.Stop())
	requireUp(t, second)
	require.NoError(t, second.Stop())
	requireDownSoon(t, second)
}

func TestPortTakenByAnotherProgram(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		service string
		envVar  string
	}{
		{standins.ServiceDynamoDB, standins.EnvDynamoDBPort},
		{standins.ServiceSQS, standins.EnvSQSPort},
	} {
		t.Run(tc.service, func(t *testing.T) {
			t.Parallel()
			// A plain TCP server that is not an AWS service.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			taken := ln.Addr().(*net.TCPAddr).Port
			free := freePorts(t, 1)[0]
			// No install is needed to find this out: the state folder is empty.
			o := standins.Options{Dir: t.TempDir(), DynamoDBPort: free, SQSPort: taken, Logger: testLogger(t)}
			if tc.service == standins.ServiceDynamoDB {
				o.DynamoDBPort, o.SQSPort = taken, free
			}

			_, err = standins.Start(t.Context(), o)
			require.Error(t, err)
			var pe *standins.PortInUseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tc.service, pe.Service)
			require.Equal(t, taken, pe.Port)
			require.Contains(t, err.Error(), "port "+strconv.Itoa(taken))
			require.Contains(t, err.Error(), tc.envVar)
			t.Log(err)

			// Nothing was started, not even the stand-in whose port was free.
			pids, _ := filepath.Glob(filepath.Join(o.Dir, "*.pid"))
			require.Empty(t, pids)
		})
	}
}

// The tests below change PATH or the environment, so they do not run in parallel.

func TestStartReportsTheLogWhenTheProcessDies(t *testing.T) {
	o := setup(t)
	bin := t.TempDir()
	script := "#!/bin/sh\necho 'fake java: no JVM here' >&2\nexit 3\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "java"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	_, err := standins.Start(t.Context(), o)
	require.Error(t, err)
	t.Log(err)
	require.Contains(t, err.Error(), "exited while starting")
	require.Contains(t, err.Error(), "fake java: no JVM here")
	pids, _ := filepath.Glob(filepath.Join(o.Dir, "*.pid"))
	require.Empty(t, pids)
}

func TestStartWithoutJava(t *testing.T) {
	o := setup(t)
	t.Setenv("PATH", t.TempDir())

	_, err := standins.Start(t.Context(), o)
	require.Error(t, err)
	require.ErrorIs(t, err, exec.ErrNotFound)
	require.Contains(t, err.Error(), "java not found on PATH: DynamoDB Local needs Java 17 or newer")
}

func TestBadPortVariable(t *testing.T) {
	t.Setenv(standins.EnvDynamoDBPort, "eighty")
	t.Setenv(standins.EnvSQSPort, "70000")
	t.Setenv(standins.EnvS3Port, "-1")
	_, err := standins.Start(t.Context(), standins.Options{Dir: t.TempDir()})
	require.Error(t, err)
	require.Contains(t, err.Error(), `SCALEOUT_DYNAMODB_PORT="eighty" is not a TCP port`)
	require.Contains(t, err.Error(), `SCALEOUT_SQS_PORT="70000" is not a TCP port`)
	require.Contains(t, err.Error(), `SCALEOUT_S3_PORT="-1" is not a TCP port`)

	_, err = standins.Start(t.Context(), standins.Options{Dir: t.TempDir(), DynamoDBPort: 8001, SQSPort: 9001, S3Port: 9001})
	require.ErrorContains(t, err, "SQS and S3 both set to port 9001: give them different ports (SCALEOUT_SQS_PORT, SCALEOUT_S3_PORT)")
}

// With an S3Command (as `scaleout standins up` gives), Start runs the S3
// stand-in as a process of its own beside the others, Env names it, and
// StopPorts (`scaleout standins down`) stops it with them.
func TestStartsTheS3StandIn(t *testing.T) {
	o := setup(t)
	bin := filepath.Join(t.TempDir(), "scaleout")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/scaleout").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	o.S3Port = freePorts(t, 1)[0]
	o.S3Command = []string{bin, "standins", standins.S3ServeCommand}

	s, err := standins.Start(t.Context(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = standins.StopPorts(o) })
	want := "http://127.0.0.1:" + strconv.Itoa(o.S3Port)
	require.Equal(t, want, s.S3Endpoint)
	require.Contains(t, s.Env(), "AWS_ENDPOINT_URL_S3="+want)
	require.Contains(t, s.Started(), standins.ServiceS3)
	require.NoError(t, standins.CheckS3(t.Context(), want, 5*time.Second))

	require.NoError(t, standins.StopPorts(o))
	require.Eventually(t, func() bool { return standins.CheckS3(t.Context(), want, time.Second) != nil },
		10*time.Second, 50*time.Millisecond, "the S3 stand-in stops with the others")
	requireDownSoon(t, s)
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(standins.EnvDir, "/somewhere/else")
	require.Equal(t, "/somewhere/else", standins.DefaultDir())

	t.Setenv(standins.EnvDir, "")
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := wd
	for !fileHasModule(filepath.Join(root, "go.mod")) {
		require.NotEqual(t, root, filepath.Dir(root), "no go.mod of github.com/scaleout/scaleout above %s", wd)
		root = filepath.Dir(root)
	}
	require.Equal(t, filepath.Join(root, "localstack", ".standins"), standins.DefaultDir())

	t.Chdir(t.TempDir())
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(cache, "scaleout", "standins"), standins.DefaultDir())
}

func fileHasModule(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.Contains(string(b), "module github.com/scaleout/scaleout\n")
}

func TestEnvAndSetenv(t *testing.T) {
	s := &standins.Stack{DynamoDBEndpoint: "http://127.0.0.1:18000", SQSEndpoint: "http://127.0.0.1:19324"}
	want := []string{
		"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:18000",
		"AWS_ENDPOINT_URL_DYNAMODB_STREAMS=http://127.0.0.1:18000",
		"AWS_ENDPOINT_URL_SQS=http://127.0.0.1:19324",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1",
	}
	require.ElementsMatch(t, want, s.Env())

	for _, kv := range want {
		k, _, _ := strings.Cut(kv, "=")
		t.Setenv(k, "") // restores the variable after the test
		require.NoError(t, os.Unsetenv(k))
	}
	t.Setenv("AWS_REGION", "eu-west-1") // the user's setting wins
	s.Setenv()
	require.Equal(t, "eu-west-1", os.Getenv("AWS_REGION"))
	require.Equal(t, "http://127.0.0.1:19324", os.Getenv("AWS_ENDPOINT_URL_SQS"))
	require.Equal(t, "http://127.0.0.1:18000", os.Getenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS"))

	// config.LoadDefaultConfig picks the variables up.
	cfg, err := config.LoadDefaultConfig(t.Context())
	require.NoError(t, err)
	require.Equal(t, "eu-west-1", cfg.Region)
	creds, err := cfg.Credentials.Retrieve(t.Context())
	require.NoError(t, err)
	require.Equal(t, "test", creds.AccessKeyID)
}

// Example shows how a test binary or `scaleout dev` brings the stand-ins up and points the SDK at them.
func Example() {
	ctx := context.Background()
	stack, err := standins.Start(ctx, standins.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // e.g. "java not found on PATH: DynamoDB Local needs Java 17 or newer ..."
		return
	}
	defer func() {
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	stack.Setenv() // AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS, ... unless already set

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	_ = dynamodb.NewFromConfig(cfg) // talks to DynamoDB Local
	_ = sqs.NewFromConfig(cfg)      // talks to fauxqs
}

// allThreadsStopped reports whether every thread of pid is in state T.
func allThreadsStopped(pid int) bool {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return false
	}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			return false
		}
	}
	return true
}
