package testenv

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/localstack/s3standin"
	"github.com/scaleout/scaleout/localstack/standins"
)

// S3 is a bucket of one test's own on the S3 stand-in.
type S3 struct {
	// Client reaches the stand-in, path style.
	Client *s3.Client
	// Bucket is the test's bucket, empty and created already.
	Bucket string
	// Endpoint is the stand-in's URL.
	Endpoint string
	// Connection is an s3 connection named "files" to the bucket, for a
	// task's connection.Set.
	Connection connection.Connection
}

var (
	s3Once sync.Once
	s3Srv  *s3standin.Server
	s3Err  error
)

// s3Server is the test binary's S3 stand-in, started on first use and
// left to end with the process.
func s3Server() (*s3standin.Server, error) {
	s3Once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s3Srv, s3Err = s3standin.Start(ctx, s3standin.Options{})
	})
	return s3Srv, s3Err
}

// setenvS3 points AWS_ENDPOINT_URL_S3 at the stand-in, unless it is set:
// code that builds its S3 clients from the environment reaches it too.
func setenvS3() error {
	srv, err := s3Server()
	if err != nil {
		return err
	}
	if _, ok := os.LookupEnv("AWS_ENDPOINT_URL_S3"); !ok {
		return os.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	}
	return nil
}

// S3Client returns a client of the S3 stand-in at endpoint.
func S3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       standins.Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(standins.AccessKeyID, standins.SecretAccessKey, ""),
	})
}

// S3Bucket creates an empty bucket for the calling test on the test
// binary's S3 stand-in (started on first use; testenv.Main is not needed).
func S3Bucket(tb testing.TB) S3 {
	tb.Helper()
	srv, err := s3Server()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return NewBucket(tb, srv.URL)
}

// NewBucket creates an empty bucket for the calling test on the S3 server
// at endpoint (a stand-in the test started itself, with its own clock).
func NewBucket(tb testing.TB, endpoint string) S3 {
	tb.Helper()
	c := S3Client(endpoint)
	bucket := strings.ToLower(Name("bucket"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		tb.Fatalf("testenv: create bucket %s: %v", bucket, err)
	}
	return S3{Client: c, Bucket: bucket, Endpoint: endpoint, Connection: connection.Connection{
		Name: "files", Kind: connection.S3, Bucket: bucket, Region: standins.Region, Endpoint: endpoint, PathStyle: true,
	}}
}
