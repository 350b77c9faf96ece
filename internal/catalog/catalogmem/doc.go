// Package catalogmem is an in-memory catalog.Storage: the catalog's
// records kept in maps behind one mutex, for tests and for running the API
// without DynamoDB. Every rule (validation, sealing, bindings, resolution)
// stays in package catalog, which runs the same over this Storage as over
// the DynamoDB one; package catalogtest is the suite both pass.
//
//	cat, err := catalog.New(catalog.Config{Storage: catalogmem.New(), Types: types, Sealer: sealer})
//
// Each write checks its condition and changes the records under the lock,
// so it is atomic as the DynamoDB transactions are: a folder's counts
// change with the project or environment created or deleted in it. Records
// are copied in and out, so no caller shares memory with the store.
package catalogmem
