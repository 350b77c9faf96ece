package main

import "testing"

func TestBenchFold(t *testing.T) {
	t.Parallel()
	rps, wpb := benchFold(20000)
	t.Logf("bench: stream.records_per_s %.0f records/s", rps)
	t.Logf("bench: stream.writes_per_batch %.1f writes", wpb)
	if wpb <= 0 || rps <= 0 {
		t.Fatal("no figures")
	}
}
