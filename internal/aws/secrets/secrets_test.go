package secrets_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/secrets"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, secrets.KeySize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

func setup(t *testing.T) (*secrets.LocalSealer, []byte) {
	t.Helper()
	k := newKey(t)
	s, err := secrets.NewLocalSealer(k)
	require.NoError(t, err)
	return s, k
}

var ec = map[string]string{"folder": "f", "environment": "prod", "variable": "token"}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	ctx := context.Background()
	for _, plain := range [][]byte{[]byte("s3cret"), {}, bytes.Repeat([]byte{0, 1, 2}, 5000)} {
		sealed, err := s.Seal(ctx, plain, ec)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(sealed, "v1:local:"), sealed)
		if len(plain) > 0 {
			require.NotContains(t, sealed, string(plain))
		}
		got, err := s.Open(ctx, sealed, map[string]string{"variable": "token", "environment": "prod", "folder": "f"})
		require.NoError(t, err)
		require.Len(t, got, len(plain))
		require.True(t, bytes.Equal(plain, got))
	}
	a, err := s.Seal(ctx, []byte("same"), ec)
	require.NoError(t, err)
	b, err := s.Seal(ctx, []byte("same"), ec)
	require.NoError(t, err)
	require.NotEqual(t, a, b, "a fresh nonce each time")
}

func TestOpenFails(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	other, _ := setup(t)
	ctx := context.Background()
	sealed, err := s.Seal(ctx, []byte("s3cret"), ec)
	require.NoError(t, err)
	payload := strings.TrimPrefix(sealed, "v1:local:")
	raw, err := base64.RawStdEncoding.DecodeString(payload)
	require.NoError(t, err)
	tampered := append([]byte(nil), raw...)
	tampered[len(tampered)-1] ^= 1

	for _, tc := range []struct {
		name    string
		opener  secrets.Sealer
		sealed  string
		context map[string]string
		want    string
	}{
		{"wrong context value", s, sealed, map[string]string{"folder": "f", "environment": "prod", "variable": "other"}, "wrong key or context"},
		{"missing context pair", s, sealed, map[string]string{"folder": "f", "environment": "prod"}, "wrong key or context"},
		{"extra context pair", s, sealed, map[string]string{"folder": "f", "environment": "prod", "variable": "token", "x": ""}, "wrong key or context"},
		{"ambiguous concatenation", s, sealed, map[string]string{"folder": "fenvironment", "prod": "", "variable": "token"}, "wrong key or context"},
		{"tampered ciphertext", s, "v1:local:" + base64.RawStdEncoding.EncodeToString(tampered), ec, "wrong key or context"},
		{"truncated", s, "v1:local:" + base64.RawStdEncoding.EncodeToString(raw[:10]), ec, "too short"},
		{"wrong key", other, sealed, ec, "wrong key or context"},
		{"unknown version", s, "v2:local:" + payload, ec, `format "v2"`},
		{"other kind", s, "v1:kms:" + payload, ec, `sealed by a "kms" sealer`},
		{"kind swapped", s, strings.Replace(sealed, "v1:local:", "v1:kms:", 1), ec, "kms"},
		{"not sealed", s, "s3cret", ec, "not a sealed value"},
		{"bad base64", s, "v1:local:!!!", ec, "bad base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.opener.Open(ctx, tc.sealed, tc.context)
			require.ErrorIs(t, err, secrets.ErrOpen)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, got)
			require.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestKeys(t *testing.T) {
	k := newKey(t)
	for _, tc := range []struct {
		name, in string
		want     []byte
		err      string
	}{
		{"hex", hex.EncodeToString(k), k, ""},
		{"base64", base64.StdEncoding.EncodeToString(k), k, ""},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(k), k, ""},
		{"spaces", "  " + base64.StdEncoding.EncodeToString(k) + "\n", k, ""},
		{"empty", "", nil, "empty"},
		{"short", base64.StdEncoding.EncodeToString(k[:16]), nil, "decodes to 16 bytes, want 32"},
		{"garbage", "not a key!", nil, "neither base64 nor hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := secrets.LocalKeyFromString(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	_, err := secrets.NewLocalSealer(k[:31])
	require.ErrorContains(t, err, "31 bytes, want 32")

	t.Setenv(secrets.EnvKey, "")
	_, err = secrets.KeyFromEnv()
	require.ErrorContains(t, err, "SCALEOUT_SECRET_KEY is not set")
	t.Setenv(secrets.EnvKey, "abc")
	_, err = secrets.KeyFromEnv()
	require.ErrorContains(t, err, "SCALEOUT_SECRET_KEY: ")
	require.NotContains(t, err.Error(), "abc")
	t.Setenv(secrets.EnvKey, hex.EncodeToString(k))
	got, err := secrets.KeyFromEnv()
	require.NoError(t, err)
	require.Equal(t, k, got)
}

func ExampleLocalSealer() {
	key, _ := secrets.LocalKeyFromString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	s, _ := secrets.NewLocalSealer(key)
	ctx := context.Background()
	where := map[string]string{"folder": "sales", "environment": "prod", "variable": "api_token"}
	sealed, _ := s.Seal(ctx, []byte("s3cret"), where)
	plain, _ := s.Open(ctx, sealed, where)
	fmt.Println(strings.HasPrefix(sealed, "v1:local:"), string(plain))
	// Output: true s3cret
}
