// Package scratch makes the scratch directory of one execution attempt:
// a fresh, private directory under a root (SCALEOUT_SCRATCH_DIR, default
// os.TempDir()/scaleout-runs) that the runner hands to every task as
// task.Input.Dir. exec tasks start in it, s3 tasks get and put files in it,
// and the runner removes it when the attempt ends, however it ends.
//
// Each directory is named after the execution and attempt, with a random
// tail, so two attempts (on one worker or after a restart) never share
// one. Given an Owner (the worker's task user), the directory belongs to
// that user, so programs running as it can write there; a worker that may
// not chown (no CAP_CHOWN) opens it to all instead (0777: its name is
// random, and the root is traversable but not listable by others, 0711).
package scratch
