// Package config reads Scaleout's settings from the environment, in one
// place, for every process (API function, worker, stream function and the
// local mode). Validate reports every problem at once.
package config
