// Package execution is the domain model of one package execution: its
// fields, its statuses (as the SSIS catalog names them) and the transitions
// allowed between them, as one table of store operations (Transitions). It
// knows nothing of AWS; the store adapters enforce these transitions with
// conditional writes whose status part they build from that table.
package execution
