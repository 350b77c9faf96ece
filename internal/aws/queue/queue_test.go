package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/queue"
	"github.com/scaleout/scaleout/internal/executions/taskqueue"
	"github.com/scaleout/scaleout/internal/executions/taskqueue/queuetest"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestConformance runs the queue suite against SQS (the stand-in), on a
// queue of its own per case.
func TestConformance(t *testing.T) {
	t.Parallel()
	client := testenv.AWS(t).Clients.SQS
	queuetest.Run(t, func(t *testing.T) taskqueue.Queue {
		name := testenv.Prefix + "-conformance-" + uuid.NewString()[:8]
		out, err := client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
			require.NoError(t, err)
		})
		q, err := queue.Lookup(t.Context(), client, name)
		require.NoError(t, err)
		require.Equal(t, aws.ToString(out.QueueUrl), q.URL())
		return q
	})
}

func TestLookupOfAMissingQueueSaysWhatToDo(t *testing.T) {
	t.Parallel()
	_, err := queue.Lookup(t.Context(), testenv.AWS(t).Clients.SQS, testenv.Prefix+"-missing-"+uuid.NewString()[:8])
	require.ErrorContains(t, err, "is it created?")
}
