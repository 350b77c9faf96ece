package aggregate

import "github.com/scaleout/scaleout/scaleouttype"

// The duration sketch lives with Durations in scaleouttype; the store
// writes its buckets as "h_<i>" attributes ("h_z" for zeroBucket).
const (
	// SketchRelativeError is the bound on the relative error of P50 and P95.
	SketchRelativeError = scaleouttype.SketchRelativeError
	zeroBucket          = scaleouttype.ZeroBucket
)

// Durations summarize how long finished executions ran (ended_at minus
// started_at), in milliseconds.
type Durations = scaleouttype.Durations
