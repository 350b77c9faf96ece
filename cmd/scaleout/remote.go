package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/localstack/standins"
	"github.com/scaleout/scaleout/pkg/devstack"
)

// remote holds the flags every command that calls the HTTP API takes, and
// builds its client. They are registered on each such command (not on the
// root), so that `dev`, `standins` and `package` do not show them.
type remote struct {
	endpoint string
	token    string
	sigv4    bool
	output   string
	timeout  time.Duration
	getenv   func(string) string
	// keptToken is the token `scaleout dev` keeps (see devstack.Secrets),
	// or "": what a command for a local API uses when given none.
	keptToken func() string
}

// Environment variables of the API commands, read in settings only.
const (
	envEndpoint = "SCALEOUT_ENDPOINT"
	envToken    = "SCALEOUT_TOKEN"
)

func newRemote(cmd *cobra.Command) *remote {
	r := &remote{getenv: os.Getenv, keptToken: func() string {
		s, err := devstack.ReadSecrets(standins.DefaultDir())
		if err != nil {
			return ""
		}
		return s.Token
	}}
	f := cmd.PersistentFlags()
	f.StringVar(&r.endpoint, "endpoint", "", "the API's base URL (default $"+envEndpoint+" or "+client.DefaultEndpoint+")")
	f.StringVar(&r.token, "token", "", "the API's bearer token (default $"+envToken+")")
	f.BoolVar(&r.sigv4, "aws-sigv4", false, "sign requests with your AWS credentials (SigV4, service execute-api) for a stack deployed on AWS, instead of a token")
	f.StringVarP(&r.output, "output", "o", "table", "table (for people) or json (the API's JSON as is, for scripts)")
	f.DurationVar(&r.timeout, "timeout", 30*time.Second, "how long one API request may take")
	return r
}

// settings resolves the flags and the environment.
func (r *remote) settings(cmd *cobra.Command) (endpoint, token string, err error) {
	endpoint = r.endpoint
	if !cmd.Flags().Changed("endpoint") {
		endpoint = r.getenv(envEndpoint)
	}
	if endpoint == "" {
		endpoint = client.DefaultEndpoint
	}
	token = r.token
	if !cmd.Flags().Changed("token") {
		token = r.getenv(envToken)
		if token == "" && !r.sigv4 && isLocal(endpoint) {
			// The token `scaleout dev` made and kept, for a local API.
			token = r.keptToken()
		}
	}
	switch {
	case r.output != "table" && r.output != "json":
		return "", "", fmt.Errorf("--output %q: use table or json", r.output)
	case r.timeout <= 0:
		return "", "", fmt.Errorf("--timeout %s: give a positive duration such as 30s", r.timeout)
	case r.sigv4 && cmd.Flags().Changed("token"):
		return "", "", errors.New("give --token or --aws-sigv4, not both")
	case !r.sigv4 && strings.TrimSpace(token) == "":
		return "", "", fmt.Errorf("no API token: set %s or pass --token (`scaleout dev` prints the token it uses, and a command for it on this computer finds it by itself), "+
			"or pass --aws-sigv4 for a stack deployed on AWS", envToken)
	}
	return endpoint, token, nil
}

// isLocal reports whether an endpoint is on this computer (loopback).
func isLocal(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()
}

// client builds the API client.
func (r *remote) client(cmd *cobra.Command) (*client.Client, error) {
	endpoint, token, err := r.settings(cmd)
	if err != nil {
		return nil, err
	}
	o := client.Options{Endpoint: endpoint, Token: token, Timeout: r.timeout, UserAgent: "scaleout-cli"}
	if r.sigv4 {
		ctx, cancel := context.WithTimeout(cmd.Context(), r.timeout)
		defer cancel()
		s, err := client.NewSigV4(ctx, endpoint)
		if err != nil {
			return nil, fmt.Errorf("--aws-sigv4: %w", err)
		}
		o.Signer, o.Token = s, ""
	}
	return client.New(o)
}

// json reports whether the output is JSON.
func (r *remote) json() bool { return r.output == "json" }

// runE makes a command's RunE: it builds the client, runs fn, and adds
// what to do to the errors people meet first.
func (r *remote) runE(fn func(cmd *cobra.Command, args []string, c *client.Client) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := r.client(cmd)
		if err != nil {
			return err
		}
		err = fn(cmd, args, c)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, context.Canceled) && cmd.Context().Err() != nil:
			return exitError{code: 130}
		case errors.Is(err, client.ErrUnauthenticated):
			if r.sigv4 {
				return fmt.Errorf("%w\n(the API takes a bearer token, not a SigV4 signature: drop --aws-sigv4 and give --token)", err)
			}
			return fmt.Errorf("%w\n(check --token or $%s: it must be one of the tokens the API was started with; "+
				"`scaleout dev` started without SCALEOUT_TOKEN uses the one it made and printed, kept in %s: "+
				"unset SCALEOUT_TOKEN to use that one, or restart it with yours exported)",
				err, envToken, filepath.Join(standins.DefaultDir(), devstack.SecretsFile))
		}
		return err
	}
}

// stdout is where a command's result goes; progress goes to stderr when
// the result is JSON, so that stdout stays parseable.
func (r *remote) progressOut(cmd *cobra.Command) io.Writer {
	if r.json() {
		return cmd.ErrOrStderr()
	}
	return cmd.OutOrStdout()
}
