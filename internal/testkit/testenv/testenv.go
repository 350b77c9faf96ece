package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scaleout/scaleout/internal/aws/awsconfig"
	"github.com/scaleout/scaleout/internal/aws/bootstrap"
	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/localstack/standins"
)

// Prefix names the shared test tables and queues.
const Prefix = "test"

// Main runs a test binary with the stand-ins up: use it as TestMain.
func Main(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	stack, err := standins.Start(ctx, standins.Options{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: cannot start the stand-ins:", err)
		os.Exit(1)
	}
	stack.Setenv()
	if err := setenvS3(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: cannot start the S3 stand-in:", err)
		_ = stack.Stop()
		os.Exit(1)
	}
	code := m.Run()
	if err := stack.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv: stopping the stand-ins:", err)
	}
	os.Exit(code)
}

// Env is what AWS returns.
type Env struct {
	Clients *awsconfig.Clients
	Set     resources.Set
	Created bootstrap.Result
}

var (
	once   sync.Once
	shared Env
	setErr error
)

// AWS returns clients on the stand-ins and the shared test resources.
func AWS(tb testing.TB) Env {
	tb.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c, err := awsconfig.Load(ctx)
		if err != nil {
			setErr = err
			return
		}
		set, err := resources.New(Prefix, resources.DefaultPool, "other", "api")
		if err != nil {
			setErr = err
			return
		}
		res, err := bootstrap.Ensure(ctx, c.DynamoDB, c.SQS, set)
		shared, setErr = Env{Clients: c, Set: set, Created: res}, err
	})
	if setErr != nil {
		tb.Fatalf("testenv: %v (is testenv.Main the package's TestMain?)", setErr)
	}
	return shared
}

// Name returns a name unique to this test run, for packages and ids that
// must not meet another test's.
func Name(prefix string) string {
	return prefix + "-" + uuid.NewString()[:8]
}
