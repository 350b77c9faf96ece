// Package catalog is Scaleout's SSISDB: folders holding projects (versioned
// bundles of packages) and environments (typed variables, sensitive ones
// sealed), and the resolution of what an execution runs: a package of a
// project's latest version with its parameters bound from given values,
// environment variables and defaults.
//
// The HTTP API calls a *Catalog; errors are the sentinels scaleouttype.ErrNotFound,
// ErrExists, ErrNotEmpty, ErrConflict and ErrInvalid (errors.Is), carried
// by *NotFoundError, *NotEmptyError and *ValidationError, which say what
// and list every problem.
//
// # Rules and records
//
// A Catalog holds every rule: names and limits, bundle validation,
// environments' typing and sealing, version keeping, bindings checks,
// resolution, the suggestions of its errors, and the retries of a change
// that lost a race. It reads and writes records through a Storage, a small
// port in the catalog's terms (folders, projects and their versions,
// environments) whose every write is conditional on what was read. Two
// adapters implement it: the DynamoDB one in this package (New makes it
// from Config.DB and Config.Table, as the wiring does) and an in-memory
// one in package catalogmem; package catalogtest is the conformance suite
// both pass, so the rules behave the same on either.
//
// # Item layout of the DynamoDB adapter (the catalog table: pk, sk; shared with other packages:
// resources.CatalogItems lists every kind of item of the table)
//
//	pk                          sk                   what
//	FOLDERS                     FOLDER#<f>           folder: description, created_at,
//	                                                 n_projects, n_environments
//	FOLDER#<f>                  PROJECT#<p>          project: uid, latest, created_at, deployed_at,
//	                                                 deployed_by, references, bindings, config_rev
//	FOLDER#<f>                  ENV#<e>              environment: description, revision,
//	                                                 variables {name: type, value | sealed, ...}
//	PROJECT#<f>/<p>#<uid>       VERSION#0000000012   version: deployed_at, deployed_by, restored_from,
//	                                                 packages, size, bundle (gzip JSON)
//
// Names have no '/' or '#', so keys cannot collide. All folders share one
// partition so that they list in name order with a cursor; folders change
// rarely.
//
// # Consistency
//
// Every change that can race is conditional. Creating or deleting a project
// or an environment changes its folder's count in the same transaction
// (TransactWriteItems in DynamoDB, one lock in memory), conditional on the
// folder existing; deleting a
// folder is conditional on both counts being zero. So a folder is never
// deleted with something in it, and nothing is created in a deleted one.
//
// A deploy writes version N+1 in a transaction conditional on the project's
// latest being N; the loser of a race reads again and retries, so
// concurrent deploys get distinct versions. Versions older than the last
// Keep are deleted after each deploy (and are never shown, should that
// fail). A project's versions live in a partition named by its uid, drawn
// when it is created: a project deleted and deployed again starts afresh,
// and no late clean-up of the old one can touch it. Deleting a project
// deletes it, its versions and its folder count in one transaction.
//
// References (environments a project may run with) and bindings
// (parameter name → environment variable name) are on the project item,
// not on its versions: a redeploy or a restore keeps them. A binding
// applies to the project's parameters and to every package's parameter of
// that name. Bindings are checked when set, as a run resolves them, against
// the latest version and every referenced environment; the write is
// conditional on the project's uid, latest version and config_rev (which
// every change of references or bindings raises), so what was checked and
// the changes reported are what was replaced. A change of references is
// conditional the same way, so it keeps the bindings it read. Later changes (a redeploy, an
// environment update, a new reference) are not refused: runs ignore a
// binding no package declares, and fail, saying why, on one whose variable
// is missing or of the wrong type.
//
// # Bundles
//
// A bundle is stored in its version item as gzip-compressed JSON; one
// DynamoDB item holds 400 KB, so a bundle may take at most MaxBundleStored
// (350 KB) compressed, and its files MaxFilesSize (256 KB) uncompressed.
// Larger bundles are refused with a message saying so; large files would go
// to S3 in a later version. Every package is validated with pkgfile and the
// task registry, the project's parameters merged into it, and every
// problem of every package is listed, each with its package and line.
//
// # Environments
//
// Variables are typed with pkgfile's types and their values converted with
// pkgfile.Convert when written: a value of the wrong type is refused then,
// not when an execution starts. A sensitive value is sealed (package
// secrets) with the encryption context {folder, environment, variable}
// before it is written; it is never returned by GetEnvironment or
// Environments, and is opened only to resolve an execution's parameters.
// A parameter bound to a sensitive variable is made sensitive in the
// definition an execution gets, so the engine redacts it.
package catalog
