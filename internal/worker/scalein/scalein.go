package scalein

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// MaxProtection is the longest ECS protects a task in one request (48 h).
const MaxProtection = 48 * time.Hour

// ECSAgent sets a task's scale-in protection through the ECS agent's
// endpoint. URI is the ECS_AGENT_URI the agent gives every container.
type ECSAgent struct {
	URI string
	// Client defaults to a client with a 10 s timeout.
	Client *http.Client
}

// protectionRequest is the endpoint's PUT body.
type protectionRequest struct {
	ProtectionEnabled bool
	ExpiresInMinutes  *int64 `json:",omitempty"`
}

// protectionResponse is the agent's answer: the protection, or why not.
type protectionResponse struct {
	Protection *struct {
		ProtectionEnabled bool
		ExpirationDate    *time.Time
		TaskArn           string
	} `json:"protection"`
	Failure *struct {
		Arn, Reason, Detail string
	} `json:"failure"`
	Error *struct {
		Arn, Code, Message string
	} `json:"error"`
}

// Protect turns the task's protection on for ttl (rounded up to whole
// minutes, 1 minute to 48 hours), or off.
func (a ECSAgent) Protect(ctx context.Context, on bool, ttl time.Duration) error {
	if a.URI == "" {
		return fmt.Errorf("ECS task protection: no agent URI (ECS_AGENT_URI is set by ECS on every task)")
	}
	req := protectionRequest{ProtectionEnabled: on}
	if on {
		minutes := int64(math.Ceil(ttl.Minutes()))
		minutes = min(max(minutes, 1), int64(MaxProtection/time.Minute))
		req.ExpiresInMinutes = &minutes
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(a.URI, "/")+"/task-protection/v1/state", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ECS task protection: %w", err)
	}
	r.Header.Set("Content-Type", "application/json")
	client := a.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(r)
	if err != nil {
		return fmt.Errorf("ECS task protection (enabled=%t): %w", on, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("ECS task protection (enabled=%t): read the answer: %w", on, err)
	}
	var out protectionResponse
	jsonErr := json.Unmarshal(b, &out)
	switch {
	case out.Error != nil:
		return fmt.Errorf("ECS task protection (enabled=%t): HTTP %d: %s: %s", on, res.StatusCode, out.Error.Code, out.Error.Message)
	case out.Failure != nil:
		return fmt.Errorf("ECS task protection (enabled=%t): HTTP %d: %s: %s", on, res.StatusCode, out.Failure.Reason, out.Failure.Detail)
	case res.StatusCode/100 != 2:
		return fmt.Errorf("ECS task protection (enabled=%t): HTTP %d: %s", on, res.StatusCode, strings.TrimSpace(string(b)))
	case jsonErr != nil || out.Protection == nil:
		return fmt.Errorf("ECS task protection (enabled=%t): unexpected answer %q", on, strings.TrimSpace(string(b)))
	case out.Protection.ProtectionEnabled != on:
		return fmt.Errorf("ECS task protection: asked enabled=%t, the agent says enabled=%t", on, out.Protection.ProtectionEnabled)
	}
	return nil
}

// InstanceProtector is the one call of the Auto Scaling API Instance makes.
type InstanceProtector interface {
	SetInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error)
}

// Instance sets an EC2 instance's scale-in protection in its Auto Scaling
// group.
type Instance struct {
	Client     InstanceProtector
	Group      string
	InstanceID string
}

// Protect sets or clears the instance's protection; ttl does not apply
// (an instance's protection does not expire).
func (i Instance) Protect(ctx context.Context, on bool, _ time.Duration) error {
	_, err := i.Client.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
		AutoScalingGroupName: aws.String(i.Group),
		InstanceIds:          []string{i.InstanceID},
		ProtectedFromScaleIn: aws.Bool(on),
	})
	if err != nil {
		return fmt.Errorf("scale-in protection of instance %s in group %s (protected=%t): %w", i.InstanceID, i.Group, on, err)
	}
	return nil
}
