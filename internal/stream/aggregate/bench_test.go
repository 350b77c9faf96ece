package aggregate

import "testing"

func BenchmarkFold(b *testing.B) {
	recs := Generate(GenOptions{Seed: 1, Records: 10000})
	b.ResetTimer()
	for b.Loop() {
		for i := 0; i < len(recs); i += BenchBatchSize {
			if _, err := Plan("", "shardId-bench", recs[i:min(i+BenchBatchSize, len(recs))], DefaultRetention); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func TestBenchFold(t *testing.T) {
	rps, wpb := BenchFold(20000)
	t.Logf("bench: stream.records_per_s %.0f records/s", rps)
	t.Logf("bench: stream.writes_per_batch %.1f writes", wpb)
	if wpb <= 0 || rps <= 0 {
		t.Fatal("no figures")
	}
}
