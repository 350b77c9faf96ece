// Package execution is the domain model of one package execution: its
// fields, its statuses (as the SSIS catalog names them) and the transitions
// allowed between them. It knows nothing of AWS; the store adapters enforce
// these transitions with conditional writes.
package execution
