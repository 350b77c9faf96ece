package s3client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/packages/connection"
	"github.com/scaleout/scaleout/internal/packages/s3client"
	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

func clients() *s3client.Clients {
	return &s3client.Clients{PartSize: 5 << 20, LoadConfig: func(ctx context.Context) (aws.Config, error) {
		return config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}}
}

func TestCreateOpenMatching(t *testing.T) {
	t.Parallel()
	env := testenv.S3Bucket(t)
	cs := clients()
	cl, err := cs.For(t.Context(), env.Connection)
	require.NoError(t, err)
	again, err := cs.For(t.Context(), env.Connection)
	require.NoError(t, err)
	require.Same(t, cl, again, "one client per region and endpoint")

	// Larger than a part: the upload goes in parts as it is written.
	big := bytes.Repeat([]byte("0123456789abcdef\n"), (6<<20)/17)
	for _, k := range []string{"in/a.csv", "in/b.csv", "in/sub/c.csv", "in/d.txt"} {
		u := cl.Create(t.Context(), env.Bucket, k)
		_, err := io.Copy(u, bytes.NewReader(big))
		require.NoError(t, err)
		require.NoError(t, u.Close())
	}
	keys, err := cl.Matching(t.Context(), env.Bucket, "in/*.csv")
	require.NoError(t, err)
	require.Equal(t, []string{"in/a.csv", "in/b.csv"}, keys)
	keys, err = cl.Matching(t.Context(), env.Bucket, "in/**.csv")
	require.NoError(t, err)
	require.Equal(t, []string{"in/a.csv", "in/b.csv", "in/sub/c.csv"}, keys)

	r, err := cl.Open(t.Context(), env.Bucket, "in/sub/c.csv")
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Equal(t, big, got)
}

func TestAbortLeavesNoObject(t *testing.T) {
	t.Parallel()
	env := testenv.S3Bucket(t)
	cl, err := clients().For(t.Context(), env.Connection)
	require.NoError(t, err)
	u := cl.Create(t.Context(), env.Bucket, "out/half.jsonl")
	_, err = u.Write([]byte(strings.Repeat("x", 1000)))
	require.NoError(t, err)
	u.Abort(errors.New("the flow failed"))
	_, err = env.Client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(env.Bucket), Key: aws.String("out/half.jsonl")})
	require.Error(t, err, "an aborted upload writes no object")
}

func TestNotS3(t *testing.T) {
	t.Parallel()
	_, err := clients().For(t.Context(), connection.Connection{Name: "db", Kind: connection.Postgres})
	require.EqualError(t, err, `connection "db" is a postgres connection, not s3`)
}

func TestGlob(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		glob, key string
		match     bool
	}{
		{"in/*.csv", "in/a.csv", true},
		{"in/*.csv", "in/x/a.csv", false},
		{"in/**.csv", "in/x/a.csv", true},
		{"in/?.csv", "in/ab.csv", false},
		{"in/[!a].csv", "in/b.csv", true},
		{"in/[!a].csv", "in/a.csv", false},
	} {
		re, err := s3client.Glob(c.glob)
		require.NoError(t, err)
		require.Equal(t, c.match, re.MatchString(c.key), "%s ~ %s", c.glob, c.key)
	}
	_, err := s3client.Glob("in/[.csv")
	require.EqualError(t, err, "a [ is not closed with ]")
	require.Equal(t, "in/", s3client.GlobPrefix("in/*.csv"))
	require.True(t, s3client.IsGlob("a/*"))
	require.False(t, s3client.IsGlob("a/b.csv"))
}
