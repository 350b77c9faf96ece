package client_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// forbidden are the AWS service clients a caller of the HTTP API must not
// link: the client signs requests (SigV4) and reads the credential chain,
// and nothing more.
var forbidden = regexp.MustCompile(`/service/(dynamodb|dynamodbstreams|sqs|kms|eventbridge|secretsmanager)(/|$)`)

// TestLinksNoAWSServiceClient keeps the client light: `go list -deps` of the
// package lists no DynamoDB, DynamoDB Streams, SQS, KMS, EventBridge or
// Secrets Manager package, and none of Scaleout's server-side packages.
func TestLinksNoAWSServiceClient(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if forbidden.MatchString(dep) {
			t.Errorf("the client links %s: import the shared types from scaleouttype, not a store or the API", dep)
		}
		if rest, ok := strings.CutPrefix(dep, "github.com/scaleout/scaleout/"); ok &&
			rest != "client" && rest != "scaleouttype" && rest != "pkg/wait" {
			t.Errorf("the client links %s: it may import only scaleouttype (and pkg/wait) of this module", dep)
		}
	}
}
