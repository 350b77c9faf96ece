// Package projectfiles puts the files of a deployed project version (SQL
// scripts, configuration, small reference files: the bundle's Files) into
// each run's scratch directory, so that a package's exec tasks can run
// `psql -f sql/load.sql` and its sql tasks can say `file: sql/load.sql`.
//
// Source is the port: where a version's files come from, in domain terms
// (catalog.Catalog.Files is the adapter, on DynamoDB or in memory). Cache
// fetches each (folder, project, version) once, keeps it on disk under a
// directory of its own, and copies it into every run's directory before
// the run starts. Deployed versions never change, so an entry is never
// stale; the cache is bounded by size (MaxBytes) and drops the least
// recently used versions first. Concurrent runs of one version wait for
// one fetch.
//
// Files are copied, not linked: a task may change or delete what it was
// given without touching the cache or another run. Paths were validated at
// deploy; they are written through an os.Root all the same, so none can
// land outside the directory it is meant for.
//
// A project deleted and deployed again starts its versions from 1 anew: a
// worker that cached the old project's version 1 keeps giving it until the
// entry is evicted or the worker restarts. Delete a project only when you
// mean to retire it.
package projectfiles
