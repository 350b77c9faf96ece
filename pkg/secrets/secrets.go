package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Sealer encrypts and decrypts small values bound to an encryption context.
type Sealer interface {
	// Seal encrypts plaintext for the context and returns printable text.
	Seal(ctx context.Context, plaintext []byte, context map[string]string) (string, error)
	// Open decrypts what Seal returned; the context must be the same.
	Open(ctx context.Context, sealed string, context map[string]string) ([]byte, error)
}

// ErrOpen is matched (errors.Is) when a sealed value cannot be opened: a
// different key or context, a tampered or truncated value, or a value
// sealed by another kind of sealer. The error never holds the value.
// It is the domain's scaleouttype.ErrCannotOpen, which callers that do not
// import this package (the execution model) check.
var ErrOpen = scaleouttype.ErrCannotOpen

// EnvKey is the environment variable that holds the local sealer's key.
const EnvKey = "SCALEOUT_SECRET_KEY"

// KeySize is the local sealer's key length in bytes (AES-256).
const KeySize = 32

// Version is the current sealed-value format.
const Version = "v1"

// Kinds of sealed values.
const (
	KindLocal = "local"
	KindKMS   = "kms"
)

// LocalSealer seals with AES-256-GCM and a key it holds.
type LocalSealer struct {
	aead cipher.AEAD
}

// NewLocalSealer returns a sealer using key, which must be KeySize bytes.
func NewLocalSealer(key []byte) (*LocalSealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key: %d bytes, want %d (AES-256)", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &LocalSealer{aead: aead}, nil
}

// LocalKeyFromString decodes a 32-byte key written as hex (64 characters)
// or base64 (standard or URL alphabet, padded or not).
func LocalKeyFromString(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("secret key is empty: give %d random bytes as base64 or hex (for example: openssl rand -base64 32)", KeySize)
	}
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("secret key decodes to %d bytes, want %d: give %d random bytes as base64 or hex (for example: openssl rand -base64 32)", len(b), KeySize, KeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret key is neither base64 nor hex: give %d random bytes as base64 or hex (for example: openssl rand -base64 32)", KeySize)
}

// KeyFromEnv reads the local sealer's key from SCALEOUT_SECRET_KEY. The
// error says what to set; it never holds the variable's value.
func KeyFromEnv() ([]byte, error) {
	v, ok := os.LookupEnv(EnvKey)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%s is not set: set it to %d random bytes as base64 or hex (for example: export %s=$(openssl rand -base64 32))", EnvKey, KeySize, EnvKey)
	}
	k, err := LocalKeyFromString(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvKey, err)
	}
	return k, nil
}

// Seal implements Sealer.
func (s *LocalSealer) Seal(_ context.Context, plaintext []byte, ec map[string]string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: random nonce: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, plaintext, aad(KindLocal, ec))
	return prefix(KindLocal) + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open implements Sealer.
func (s *LocalSealer) Open(_ context.Context, sealed string, ec map[string]string) ([]byte, error) {
	raw, err := payload(KindLocal, sealed)
	if err != nil {
		return nil, err
	}
	n := s.aead.NonceSize()
	if len(raw) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	out, err := s.aead.Open(nil, raw[:n], raw[n:], aad(KindLocal, ec))
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key or context, or the value was altered", ErrOpen)
	}
	return out, nil
}

func prefix(kind string) string { return Version + ":" + kind + ":" }

// payload checks the version and kind and decodes the rest.
func payload(kind, sealed string) ([]byte, error) {
	v, rest, ok1 := strings.Cut(sealed, ":")
	k, b64, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: not a sealed value (want %s<base64>)", ErrOpen, prefix(kind))
	}
	if v != Version {
		return nil, fmt.Errorf("%w: format %q, this build reads %q", ErrOpen, v, Version)
	}
	if k != kind {
		return nil, fmt.Errorf("%w: sealed by a %q sealer, this one is %q", ErrOpen, k, kind)
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64", ErrOpen)
	}
	return raw, nil
}

// aad encodes the format and the context unambiguously: each string is
// length-prefixed, the pairs sorted by key.
func aad(kind string, ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	put := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	put(prefix(kind))
	for _, k := range keys {
		put(k)
		put(ec[k])
	}
	return b
}

// KMSMaxPlaintext is the largest value KMS Encrypt takes.
const KMSMaxPlaintext = 4096

// KMSSealer seals with an AWS KMS symmetric key.
type KMSSealer struct {
	client *kms.Client
	keyID  string
}

// NewKMSSealer returns a sealer using the KMS key keyID (an id, ARN or
// alias).
func NewKMSSealer(client *kms.Client, keyID string) (*KMSSealer, error) {
	if client == nil || keyID == "" {
		return nil, errors.New("KMS sealer: a client and a key id are required")
	}
	return &KMSSealer{client: client, keyID: keyID}, nil
}

// Seal implements Sealer.
func (s *KMSSealer) Seal(ctx context.Context, plaintext []byte, ec map[string]string) (string, error) {
	if len(plaintext) > KMSMaxPlaintext {
		return "", fmt.Errorf("seal: %d bytes, KMS takes at most %d", len(plaintext), KMSMaxPlaintext)
	}
	out, err := s.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId: aws.String(s.keyID), Plaintext: plaintext, EncryptionContext: ec,
	})
	if err != nil {
		return "", fmt.Errorf("seal with KMS key %s: %w", s.keyID, err)
	}
	return prefix(KindKMS) + base64.RawStdEncoding.EncodeToString(out.CiphertextBlob), nil
}

// Open implements Sealer.
func (s *KMSSealer) Open(ctx context.Context, sealed string, ec map[string]string) ([]byte, error) {
	raw, err := payload(KindKMS, sealed)
	if err != nil {
		return nil, err
	}
	out, err := s.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId: aws.String(s.keyID), CiphertextBlob: raw, EncryptionContext: ec,
	})
	var bad *kmstypes.InvalidCiphertextException
	var wrongKey *kmstypes.IncorrectKeyException
	if errors.As(err, &bad) || errors.As(err, &wrongKey) {
		return nil, fmt.Errorf("%w with KMS key %s: wrong key or context, or the value was altered", ErrOpen, s.keyID)
	}
	if err != nil {
		return nil, fmt.Errorf("open with KMS key %s: %w", s.keyID, err)
	}
	return out.Plaintext, nil
}

var (
	_ Sealer = (*LocalSealer)(nil)
	_ Sealer = (*KMSSealer)(nil)
)
