package devstack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Secrets are what `scaleout dev` needs and makes when the environment
// gives none: an admin API token (SCALEOUT_TOKEN), the key that seals
// sensitive values (SCALEOUT_SECRET_KEY) and the webhook signing secret
// (SCALEOUT_WEBHOOK_SECRET).
type Secrets struct {
	Token         string `json:"token"`
	SecretKey     string `json:"secret_key"`
	WebhookSecret string `json:"webhook_secret"`
}

// SecretsFile is the file, in the stand-ins folder, that keeps them.
const SecretsFile = "dev-secrets.json"

// LoadSecrets returns the secrets kept in dir, making and keeping new ones
// the first time (created is then true). They are kept so that a restart
// of `scaleout dev` against stand-ins still running keeps the token valid
// and the values sealed before readable. The file is the user's alone
// (0600), written whole or not at all, and racing starters agree on one.
func LoadSecrets(dir string) (s Secrets, created bool, err error) {
	path := filepath.Join(dir, SecretsFile)
	s, err = readSecrets(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, false, err
	}
	if s, err = newSecrets(); err != nil {
		return s, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s, false, fmt.Errorf("keep dev secrets: %w", err)
	}
	tmp, err := os.CreateTemp(dir, SecretsFile+".*")
	if err != nil {
		return s, false, fmt.Errorf("keep dev secrets: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // linked or given up: the temporary name goes either way
	b, _ := json.MarshalIndent(s, "", "  ")
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close() // the write failed: that is the error to report
		return s, false, fmt.Errorf("keep dev secrets: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return s, false, fmt.Errorf("keep dev secrets: %w", err)
	}
	// Link fails if another starter kept its secrets first: use those.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			s, err = readSecrets(path)
			return s, false, err
		}
		return s, false, fmt.Errorf("keep dev secrets: %w", err)
	}
	return s, true, nil
}

// ReadSecrets returns the secrets kept in dir, without making any; the
// error wraps fs.ErrNotExist when there are none. The CLI reads the token
// there for a local API when none is given.
func ReadSecrets(dir string) (Secrets, error) { return readSecrets(filepath.Join(dir, SecretsFile)) }

func readSecrets(path string) (Secrets, error) {
	var s Secrets
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Token == "" || s.SecretKey == "" || s.WebhookSecret == "" {
		return s, fmt.Errorf("%s is not a dev secrets file (delete it to make new secrets; values sealed with the old key are then unreadable)", path)
	}
	return s, nil
}

func newSecrets() (Secrets, error) {
	hexOf := func(n int) (string, error) {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	}
	var s Secrets
	var err error
	if s.Token, err = hexOf(16); err != nil {
		return s, err
	}
	if s.SecretKey, err = hexOf(32); err != nil {
		return s, err
	}
	s.WebhookSecret, err = hexOf(32)
	return s, err
}

// SetSecrets sets, in this process's environment, SCALEOUT_TOKEN (unless
// SCALEOUT_TOKENS is set), SCALEOUT_SECRET_KEY (unless SCALEOUT_KMS_KEY_ID
// is set) and SCALEOUT_WEBHOOK_SECRET where they are unset, from the
// secrets kept in dir (LoadSecrets). It reports whether the token came
// from there, for the caller to print it.
func SetSecrets(dir string) (tokenKept bool, err error) {
	needToken := os.Getenv("SCALEOUT_TOKEN") == "" && os.Getenv("SCALEOUT_TOKENS") == ""
	needKey := os.Getenv("SCALEOUT_SECRET_KEY") == "" && os.Getenv("SCALEOUT_KMS_KEY_ID") == ""
	needHook := os.Getenv("SCALEOUT_WEBHOOK_SECRET") == ""
	if !needToken && !needKey && !needHook {
		return false, nil
	}
	kept, _, err := LoadSecrets(dir)
	if err != nil {
		return false, err
	}
	for _, v := range []struct {
		need       bool
		name, kept string
	}{
		{needToken, "SCALEOUT_TOKEN", kept.Token},
		{needKey, "SCALEOUT_SECRET_KEY", kept.SecretKey},
		{needHook, "SCALEOUT_WEBHOOK_SECRET", kept.WebhookSecret},
	} {
		if v.need {
			if err := os.Setenv(v.name, v.kept); err != nil {
				return false, err
			}
		}
	}
	return needToken, nil
}
