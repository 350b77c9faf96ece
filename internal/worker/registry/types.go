package registry

import "github.com/scaleout/scaleout/internal/worker/registry/registrytype"

// The registry's domain lives in package registrytype, which both
// registries (this one and package execmem's) share; these names keep the
// callers reading as they did.
type (
	// Worker is one registered worker.
	Worker = registrytype.Worker
	// Registration is what a worker says about itself when it starts.
	Registration = registrytype.Registration
	// Changes is an administrator's edit: a nil field is left as it is.
	Changes = registrytype.Changes
	// Session is one run of a worker process: the lease every execution
	// it claims is held under.
	Session = registrytype.Session
	// Run is an execution attempt a session runs.
	Run = registrytype.Run
	// Signals are what a worker learns from its session item.
	Signals = registrytype.Signals
	// SessionState is a worker's session as stored.
	SessionState = registrytype.SessionState
)

// Errors; check them with errors.Is (see package registrytype).
var (
	ErrInvalid     = registrytype.ErrInvalid
	ErrSessionLive = registrytype.ErrSessionLive
	ErrSessionLost = registrytype.ErrSessionLost
	ErrBusy        = registrytype.ErrBusy
)

// Limits on the fields a worker or an administrator sets.
const (
	MaxIDLength          = registrytype.MaxIDLength
	MaxDisplayNameLength = registrytype.MaxDisplayNameLength
	MaxDescriptionLength = registrytype.MaxDescriptionLength
	MaxTags              = registrytype.MaxTags
	MaxTagKeyLength      = registrytype.MaxTagKeyLength
	MaxTagValueLength    = registrytype.MaxTagValueLength
	MaxPools             = registrytype.MaxPools
	MaxMachineLength     = registrytype.MaxMachineLength
	MaxVersionLength     = registrytype.MaxVersionLength
)

// DefaultRetention is how long after its last heartbeat a Store keeps a
// worker, unless told otherwise.
const DefaultRetention = registrytype.DefaultRetention

// ValidID reports whether id can name a worker (see registrytype.ValidID).
func ValidID(id string) error { return registrytype.ValidID(id) }
