// Package tests holds Scaleout's end-to-end tests: they build the real
// `scaleout` binary, run it as a user would against the local stand-ins,
// and talk to it over HTTP only.
package tests
