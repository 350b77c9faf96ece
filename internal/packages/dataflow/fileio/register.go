package fileio

import (
	"github.com/scaleout/scaleout/internal/packages/connection"
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

// s3Kinds are the connections file components name: s3 ones.
var s3Kinds = []connection.Kind{connection.S3}

// ConnectionKinds implement dataflow.ConnectionUser: package validation
// checks that `connection` names an s3 connection of the package.
func (*CSVSource) ConnectionKinds() []connection.Kind { return s3Kinds }

// ConnectionKinds implements dataflow.ConnectionUser.
func (*JSONLSource) ConnectionKinds() []connection.Kind { return s3Kinds }

// ConnectionKinds implements dataflow.ConnectionUser.
func (*ParquetSource) ConnectionKinds() []connection.Kind { return s3Kinds }

// ConnectionKinds implements dataflow.ConnectionUser.
func (*CSVDestination) ConnectionKinds() []connection.Kind { return s3Kinds }

// ConnectionKinds implements dataflow.ConnectionUser.
func (*JSONLDestination) ConnectionKinds() []connection.Kind { return s3Kinds }

// ConnectionKinds implements dataflow.ConnectionUser.
func (*ParquetDestination) ConnectionKinds() []connection.Kind { return s3Kinds }
