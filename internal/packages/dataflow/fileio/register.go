package fileio

import (
	"github.com/scaleout/scaleout/internal/packages/dataflow"
	"github.com/scaleout/scaleout/internal/packages/s3client"
)

// sharedClients are the S3 clients of the types Register adds.
var sharedClients = &s3client.Clients{}

// Register adds the file components to r, reaching S3 through clients
// shared by every component of the process.
func Register(r *dataflow.Registry) { RegisterWith(r, sharedClients) }

// RegisterWith adds the file components to r, reaching S3 through
// clients (nil: the shared ones Register uses).
func RegisterWith(r *dataflow.Registry, clients *s3client.Clients) {
	if clients == nil {
		clients = sharedClients
	}
	for name, t := range Types(clients) {
		r.MustRegister(name, t)
	}
}

// Types are the file component types by name, reaching S3 through
// clients.
func Types(clients *s3client.Clients) map[string]dataflow.Type {
	return map[string]dataflow.Type{
		"csv_source":          &CSVSource{Clients: clients},
		"jsonl_source":        &JSONLSource{Clients: clients},
		"parquet_source":      &ParquetSource{Clients: clients},
		"csv_destination":     &CSVDestination{Clients: clients},
		"jsonl_destination":   &JSONLDestination{Clients: clients},
		"parquet_destination": &ParquetDestination{Clients: clients},
	}
}
