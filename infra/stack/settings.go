package stack

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scaleout/scaleout/pkg/config"
	"github.com/scaleout/scaleout/pkg/resources"
)

// Context keys read by SettingsFrom (`cdk synth -c key=value`, or the
// "context" object of cdk.json).
const (
	// ContextStage names the installation: "dev", "prod", ... (default "dev").
	ContextStage = "stage"
	// ContextPrefix overrides the resource prefix (default "scaleout-<stage>").
	ContextPrefix = "prefix"
	// ContextPools lists the pools: "a,b" or a JSON array (default "default").
	ContextPools = "pools"
	// ContextIAMRoles maps caller ARNs to Scaleout roles, in the format of
	// SCALEOUT_IAM_ROLES ("arn=role,...") or as a JSON object {"arn": "role"}.
	ContextIAMRoles = "iamRoles"
	// ContextBuildDir is the folder `make build` writes the Lambda
	// bootstraps to, relative to the working directory (default "build").
	ContextBuildDir = "buildDir"
)

// DefaultStage is the stage when none is given.
const DefaultStage = "dev"

// Settings are what one installation chooses. The zero value is not valid:
// build Settings with SettingsFrom or fill Prefix, IAMRoles and BuildDir.
type Settings struct {
	// Stage names the installation in tags and in the default prefix.
	Stage string
	// Prefix names every table, queue and function, and the stack.
	Prefix string
	// Pools are the installation's worker pools, one queue each.
	Pools []string
	// IAMRoles is SCALEOUT_IAM_ROLES for the API function: "arn=role,...",
	// where an ARN may end in '*' to match a prefix.
	IAMRoles string
	// BuildDir holds api/bootstrap and stream/bootstrap (from `make build`).
	// Relative paths are relative to the working directory.
	BuildDir string
}

// SettingsFrom reads the settings through get, which returns a context
// value or nil (in the app: the CDK node's TryGetContext).
func SettingsFrom(get func(key string) any) (Settings, error) {
	var errs []error
	str := func(key, def string) string {
		switch v := get(key).(type) {
		case nil:
			return def
		case string:
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
			return def
		default:
			errs = append(errs, fmt.Errorf("context %q: give a string, got %T", key, v))
			return def
		}
	}
	s := Settings{Stage: str(ContextStage, DefaultStage)}
	s.Prefix = str(ContextPrefix, "scaleout-"+s.Stage)
	s.BuildDir = str(ContextBuildDir, "build")

	switch v := get(ContextPools).(type) {
	case nil:
	case string:
		s.Pools = splitList(v)
	case []any:
		for _, p := range v {
			name, ok := p.(string)
			if !ok {
				errs = append(errs, fmt.Errorf("context %q: list pool names as strings, got %T", ContextPools, p))
				continue
			}
			s.Pools = append(s.Pools, strings.TrimSpace(name))
		}
	default:
		errs = append(errs, fmt.Errorf("context %q: give \"a,b\" or a JSON array, got %T", ContextPools, v))
	}
	if len(s.Pools) == 0 {
		s.Pools = []string{resources.DefaultPool}
	}

	switch v := get(ContextIAMRoles).(type) {
	case nil:
	case string:
		s.IAMRoles = strings.Join(splitList(v), ",")
	case map[string]any:
		var entries []string
		for _, arn := range slices.Sorted(maps.Keys(v)) {
			role, ok := v[arn].(string)
			if !ok {
				errs = append(errs, fmt.Errorf("context %q: the role of %q is not a string", ContextIAMRoles, arn))
				continue
			}
			entries = append(entries, arn+"="+role)
		}
		s.IAMRoles = strings.Join(entries, ",")
	default:
		errs = append(errs, fmt.Errorf("context %q: give \"arn=role,...\" or a JSON object, got %T", ContextIAMRoles, v))
	}
	if err := errors.Join(append(errs, s.Validate())...); err != nil {
		return s, err
	}
	return s, nil
}

// Validate reports every problem with s, checking the functions'
// environment with the same code (package config) that the functions run,
// so that a stack that synthesizes also starts.
func (s Settings) Validate() error {
	_, err := s.config()
	return err
}

// config parses the API function's environment as the function will.
func (s Settings) config() (config.Config, error) {
	var errs []error
	if s.BuildDir == "" {
		errs = append(errs, errors.New("no build folder: set the context value buildDir (default build) and run `make build`"))
	}
	if s.StackName() == "" {
		errs = append(errs, fmt.Errorf("prefix %q: start it with a letter, it also names the CloudFormation stack", s.Prefix))
	}
	env := s.apiEnvironment()
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err == nil {
		_, err = cfg.Authenticator()
		if err != nil {
			err = fmt.Errorf("%w: pass them with -c %s='arn:aws:iam::123456789012:role/ops=admin,...'", err, ContextIAMRoles)
		}
	}
	return cfg, errors.Join(append(errs, err)...)
}

// StackName is the CloudFormation stack's name: the prefix with '_'
// replaced by '-', or "" when the prefix cannot name a stack.
func (s Settings) StackName() string {
	name := strings.ReplaceAll(s.Prefix, "_", "-")
	if name == "" || !('a' <= name[0] && name[0] <= 'z' || 'A' <= name[0] && name[0] <= 'Z') {
		return ""
	}
	return name
}

// baseEnvironment is what every function reads.
func (s Settings) baseEnvironment() map[string]string {
	return map[string]string{
		"SCALEOUT_PREFIX": s.Prefix,
		"SCALEOUT_POOLS":  strings.Join(s.Pools, ","),
	}
}

// apiEnvironment is the API function's environment.
func (s Settings) apiEnvironment() map[string]string {
	env := s.baseEnvironment()
	env["SCALEOUT_AUTH"] = "iam"
	env["SCALEOUT_IAM_ROLES"] = s.IAMRoles
	return env
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
