package tests

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// `scaleout dev` serves S3 itself on SCALEOUT_S3_PORT and points its
// worker there: a package whose s3 connection names no endpoint lists,
// gets and puts objects on it, through the real SDK, and the objects
// are there for any S3 client.
func TestSingleComputerServesS3(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)

	// The test binary's own S3 stand-in (testenv) is in the environment:
	// unset, so that dev serves its own.
	d := startDev(t, buildScaleout(t), "AWS_ENDPOINT_URL_S3=", "SCALEOUT_S3_PORT="+strconv.Itoa(port))
	require.Eventually(t, func() bool { return strings.Contains(d.logs.String(), "S3: "+endpoint+" ") },
		10*time.Second, 50*time.Millisecond, "dev prints the S3 endpoint with the others")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := testenv.S3Client(endpoint)
	bucket := strings.ToLower(testenv.Name("devs3"))
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err, "dev's S3 answers on SCALEOUT_S3_PORT")
	for key, body := range map[string]string{"in/a.csv": "1,a\n", "in/b.csv": "2,b\n", "other/c.csv": "3,c\n"} {
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
		require.NoError(t, err)
	}

	def := `name: s3-on-dev
connections:
  files: {kind: s3, bucket: ` + bucket + `, region: us-east-1}
variables:
  listed: {type: int, default: 0}
tasks:
  - name: list
    type: s3
    with: {connection: files, op: list, prefix: in/}
    outputs: {listed: count}
  - name: fetch
    type: s3
    after: [{task: list, when: "vars.listed == 2"}]
    with: {connection: files, op: get, prefix: in/, to: data/}
  - name: join
    type: exec
    after: [{task: fetch}]
    with: {command: [sh, -c, "cat data/a.csv data/b.csv > joined.csv"]}
  - name: upload
    type: s3
    after: [{task: join}]
    with: {connection: files, op: put, from: joined.csv, key: out/joined.csv}
`
	e := post(t, d, map[string]any{"definition": def})
	got := waitFinal(t, d, e.ID)
	require.Equal(t, "succeeded", got.Status, got.Error)
	require.Equal(t, map[string]string{"list": "succeeded", "fetch": "succeeded", "join": "succeeded", "upload": "succeeded"}, got.taskStatus())

	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("out/joined.csv")})
	require.NoError(t, err, "the package put its file on dev's S3")
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	require.Equal(t, "1,a\n2,b\n", string(body))
}
