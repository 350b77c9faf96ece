// Package assemble builds Scaleout's parts (the API server, a worker, the
// stream handler) from a Config and the AWS clients. The Lambda and worker
// mains and the local mode all assemble through it, so that each part is
// built the same way wherever it runs.
package assemble
