// Package task is the contract between the package engine and the task
// types it runs (exec, http, sleep, fail, set, and any added later such as
// SQL, S3 or data flow): a Type checks its settings before anything runs
// and runs one attempt; a Registry maps type names to Types, so a new type
// plugs in without touching the engine.
package task
