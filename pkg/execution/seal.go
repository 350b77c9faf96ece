package execution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/scaleout/scaleout/scaleouttype"
)

// Sealer seals values to store them encrypted, and opens them again. The
// secrets package implements it (AES-GCM locally, KMS on AWS); this package
// needs only these two calls. The context map binds a sealed value to where
// it belongs: Open with another context fails. Open fails with an error
// matching scaleouttype.ErrCannotOpen when the value does not open with this
// key or context.
type Sealer interface {
	Seal(ctx context.Context, plaintext []byte, context map[string]string) (string, error)
	Open(ctx context.Context, sealed string, context map[string]string) ([]byte, error)
}

// SealPurpose is the "purpose" of a sealed parameter's encryption
// context; SealContextKeys are all of that context's keys. The workers'
// IAM policy (infra/stack) lets them decrypt only with such a context, so
// that their credentials open execution parameters and nothing else the
// key sealed (environment variables, sealed with folder, environment and
// variable).
const SealPurpose = "execution-parameter"

// SealContextKeys are the keys of a sealed parameter's encryption context.
var SealContextKeys = []string{"execution", "parameter", "purpose"}

// sealContext binds a sealed parameter value to its execution and name:
// a value copied to another execution or parameter does not open.
func sealContext(executionID, name string) map[string]string {
	return map[string]string{"purpose": SealPurpose, "execution": executionID, "parameter": name}
}

// SealParameters returns e with the values of its sensitive parameters
// moved from Parameters into SealedParameters, each sealed by s for this
// execution and parameter, so that they are stored encrypted (AES-GCM
// locally, KMS on AWS) and only a worker holding the key reads them.
func SealParameters(ctx context.Context, e Execution, s Sealer) (Execution, error) {
	if s == nil || len(e.Sensitive) == 0 || len(e.Parameters) == 0 {
		return e, nil
	}
	params := make(map[string]any, len(e.Parameters))
	for k, v := range e.Parameters {
		params[k] = v
	}
	sealed := make(map[string]string, len(e.Sensitive)+len(e.SealedParameters))
	for k, v := range e.SealedParameters {
		sealed[k] = v
	}
	names := slices.Clone(e.Sensitive)
	sort.Strings(names)
	for _, k := range names {
		v, ok := params[k]
		if !ok {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return e, fmt.Errorf("seal parameter %q of execution %s: %w", k, e.ID, err)
		}
		out, err := s.Seal(ctx, b, sealContext(e.ID, k))
		if err != nil {
			return e, fmt.Errorf("seal parameter %q of execution %s: %w", k, e.ID, err)
		}
		sealed[k] = out
		delete(params, k)
	}
	e.Parameters, e.SealedParameters = params, sealed
	return e, nil
}

// ErrNoSealer is returned by OpenParameters for an execution with sealed
// parameters when no sealer was given.
var ErrNoSealer = errors.New("the execution has sensitive parameters sealed at rest, and this worker has no key to open them: give it SCALEOUT_KMS_KEY_ID (on AWS) or the API's SCALEOUT_SECRET_KEY")

// OpenParameters returns e with its sealed parameters opened back into
// Parameters (what a worker runs with).
func OpenParameters(ctx context.Context, e Execution, s Sealer) (Execution, error) {
	if len(e.SealedParameters) == 0 {
		return e, nil
	}
	if s == nil {
		return e, ErrNoSealer
	}
	params := make(map[string]any, len(e.Parameters)+len(e.SealedParameters))
	for k, v := range e.Parameters {
		params[k] = v
	}
	for k, sealed := range e.SealedParameters {
		b, err := s.Open(ctx, sealed, sealContext(e.ID, k))
		if errors.Is(err, scaleouttype.ErrCannotOpen) {
			return e, fmt.Errorf("open sensitive parameter %q of execution %s: %w: the worker needs the key the API sealed it with (the same SCALEOUT_SECRET_KEY, or SCALEOUT_KMS_KEY_ID)", k, e.ID, err)
		}
		if err != nil {
			return e, fmt.Errorf("open sensitive parameter %q of execution %s: %w", k, e.ID, err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return e, fmt.Errorf("open sensitive parameter %q of execution %s: %w", k, e.ID, err)
		}
		params[k] = v
	}
	e.Parameters, e.SealedParameters = params, nil
	return e, nil
}
