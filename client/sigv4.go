package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
)

// SigV4 signs requests with AWS Signature Version 4 for API Gateway's IAM
// authorization (service "execute-api"), as a deployed stack's API needs.
type SigV4 struct {
	// Credentials are the caller's AWS credentials.
	Credentials aws.CredentialsProvider
	// Region is the API's region.
	Region string
	// Service is the signing name; default "execute-api".
	Service string
	// Now is the signing time; default time.Now.
	Now func() time.Time

	signer *v4.Signer
}

// executeAPIHost matches an API Gateway endpoint, whose host names its region.
var executeAPIHost = regexp.MustCompile(`^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$`)

// NewSigV4 loads the user's AWS configuration as the AWS CLI does
// (environment, ~/.aws/config and credentials, AWS_PROFILE, SSO, ...) with
// config.LoadDefaultConfig. The region is the configuration's, else the one
// an execute-api endpoint's host names.
func NewSigV4(ctx context.Context, endpoint string, optFns ...func(*config.LoadOptions) error) (*SigV4, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("load the AWS configuration: %w", err)
	}
	region := cfg.Region
	if region == "" {
		if u, perr := url.Parse(endpoint); perr == nil {
			if m := executeAPIHost.FindStringSubmatch(u.Hostname()); m != nil {
				region = m[1]
			}
		}
	}
	if region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION (or the profile's region) to the stack's region")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("no AWS credentials: configure them as for the AWS CLI (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	}
	return &SigV4{Credentials: cfg.Credentials, Region: region, signer: v4.NewSigner()}, nil
}

// Sign implements Signer: it signs the method, URL, host and body.
func (s *SigV4) Sign(ctx context.Context, req *http.Request, body []byte) error {
	if s.Credentials == nil || s.Region == "" {
		return errors.New("sigv4: give Credentials and Region")
	}
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	service := s.Service
	if service == "" {
		service = "execute-api"
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	signer := s.signer
	if signer == nil {
		signer = v4.NewSigner()
	}
	return signer.SignHTTP(ctx, creds, req, hash, service, s.Region, now().UTC())
}
