// Package eventbus is an EventBridge stand-in for tests: an HTTP server on
// loopback that answers the PutEvents call of the AWS JSON 1.1 protocol the
// way EventBridge does, so code under test reaches it through the real AWS
// SDK (eventbridge.Client with its BaseEndpoint, or AWS_ENDPOINT_URL_EVENTBRIDGE).
//
// Neither DynamoDB Local nor the SQS emulator has EventBridge, and
// LocalStack needs Docker, so this is the part of EventBridge Scaleout uses,
// and no more: PutEvents with the service's request checks (1 to 10
// entries, Source, DetailType and a JSON-object Detail in each, at most
// 256 KB a request, a signed request with the right X-Amz-Target), an
// EventId for every accepted entry, and entry failures (FailedEntryCount)
// that a test injects with FailEntries, as EventBridge reports them under
// throttling or an internal failure. Accepted events are kept in order for
// the test to read (Events) and can be waited for (WaitFor).
//
// Any other action gets the service's UnknownOperationException.
package eventbus
