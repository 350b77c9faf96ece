// Package wait pauses for a while unless a context ends first: the one
// sleep that retries, backoffs and poll loops across Scaleout use, so that
// none of them outlives its caller's deadline or cancellation.
package wait
