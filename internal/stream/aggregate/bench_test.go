package aggregate

import (
	"testing"

	"github.com/scaleout/scaleout/internal/stream/streamgen"
)

func BenchmarkFold(b *testing.B) {
	const batch = 100 // Lambda's default batch size
	recs := streamgen.Generate(streamgen.Options{Seed: 1, Records: 10000})
	b.ResetTimer()
	for b.Loop() {
		for i := 0; i < len(recs); i += batch {
			if _, err := Plan("", "shardId-bench", recs[i:min(i+batch, len(recs))], DefaultRetention); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
