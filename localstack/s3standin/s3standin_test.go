package s3standin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/localstack/s3standin"
)

func client(url string) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// TestServesWhatTheS3TasksUse holds the stand-in to the S3 calls the s3
// tasks make, through the real SDK: a multipart upload and download with
// the transfer manager, CopyObject, DeleteObjects, ListObjectsV2 paging,
// and the clock that stamps LastModified.
func TestServesWhatTheS3TasksUse(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv, err := s3standin.Start(ctx, s3standin.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	c := client(srv.URL)
	bucket := aws.String("probe")
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket})
	require.NoError(t, err)

	data := make([]byte, 12<<20)
	_, _ = rand.Read(data)
	tm := transfermanager.New(c, func(o *transfermanager.Options) {
		o.PartSizeBytes, o.MultipartUploadThreshold = 5<<20, 5<<20
	})
	up, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: bucket, Key: aws.String("big.bin"), Body: bytes.NewReader(data)})
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(up.UploadID), "a multipart upload")

	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String("copy.bin"), CopySource: aws.String("probe/big.bin")})
	require.NoError(t, err)
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("copy.bin")})
	require.NoError(t, err)
	body, err := io.ReadAll(got.Body)
	require.NoError(t, err)
	require.Equal(t, data, body)
	require.True(t, now.Equal(aws.ToTime(got.LastModified)), "LastModified %v", got.LastModified)

	for _, k := range []string{"p/a", "p/b", "p/c"} {
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: bytes.NewReader([]byte(k))})
		require.NoError(t, err)
	}
	var keys []string
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("p/"), MaxKeys: aws.Int32(2)})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		require.NoError(t, err)
		n++
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	require.Equal(t, []string{"p/a", "p/b", "p/c"}, keys)
	require.Equal(t, 2, n, "pages of two")

	del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("p/a")}, {Key: aws.String("p/b")}},
	}})
	require.NoError(t, err)
	require.Len(t, del.Deleted, 2)
	left, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("p/")})
	require.NoError(t, err)
	require.Len(t, left.Contents, 1)
}

// TestCloseEndsIt shows a closed stand-in refuses connections, and a second
// Close does nothing.
func TestCloseEndsIt(t *testing.T) {
	t.Parallel()
	srv, err := s3standin.Start(t.Context(), s3standin.Options{})
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	require.NoError(t, srv.Close())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = client(srv.URL).ListBuckets(ctx, &s3.ListBucketsInput{}, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	require.ErrorContains(t, err, "connection refused")
}
