// Package scaleouttype holds the types that Scaleout's layers share: an
// execution and its statuses, attempts and task summaries; the filters and
// pages of listings; a worker as the API shows it; the catalog's folders,
// projects and environments; the statistics and the dashboard; the bodies of
// the HTTP API's requests and answers; its error codes and error body; and
// the domain errors that adapters wrap (ErrNotFound, ErrThrottled).
//
// It imports only the standard library, so that a program that calls the
// HTTP API (the public client, the command) links no AWS SDK, and so that the
// API, the worker and the store adapters speak of the same things without
// depending on one another. Adapters convert to and from these types at
// their edge.
package scaleouttype
