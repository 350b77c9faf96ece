// Package execution is the domain model of one package execution: the
// transitions allowed between its statuses (as the SSIS catalog names them),
// as one table of store operations (Transitions); its leases, what becomes
// of a lost attempt, its size limits, and the sealing of its sensitive
// parameters through a Sealer it declares. The types themselves (Execution,
// Status, ...) live in scaleouttype, which the public client shares; the
// names here are aliases. It knows nothing of AWS; the store adapters
// enforce these transitions with conditional writes whose status part they
// build from that table, and pkg/secrets implements the Sealer.
package execution
