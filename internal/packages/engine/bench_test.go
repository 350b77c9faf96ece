package engine

import (
	"context"
	"strconv"
	"testing"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// widePackage is n independent no-op tasks.
func widePackage(n int) *pkgfile.Package {
	p := &pkgfile.Package{Name: "wide", Tasks: make([]pkgfile.Task, n)}
	for i := range p.Tasks {
		p.Tasks[i] = pkgfile.Task{Name: "t" + strconv.Itoa(i), Type: "noop"}
	}
	return p
}

// deepPackage is a chain of n no-op tasks, each after the previous.
func deepPackage(n int) *pkgfile.Package {
	p := widePackage(n)
	p.Name = "deep"
	for i := 1; i < n; i++ {
		p.Tasks[i].After = []pkgfile.Constraint{{Task: p.Tasks[i-1].Name}}
	}
	return p
}

func benchRun(b *testing.B, p *pkgfile.Package) {
	reg := task.NewRegistry()
	reg.MustRegister("noop", noop{})
	plan, err := Compile(p, reg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := Run(context.Background(), plan, RunOptions{})
		if err != nil || res.Status != Succeeded {
			b.Fatalf("run: %v %s %s", err, res.Status, res.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(p.Tasks)), "us/task")
}

func BenchmarkWide1k(b *testing.B)   { benchRun(b, widePackage(1_000)) }
func BenchmarkWide10k(b *testing.B)  { benchRun(b, widePackage(10_000)) }
func BenchmarkWide100k(b *testing.B) { benchRun(b, widePackage(100_000)) }
func BenchmarkDeep1k(b *testing.B)   { benchRun(b, deepPackage(1_000)) }
func BenchmarkDeep10k(b *testing.B)  { benchRun(b, deepPackage(10_000)) }
func BenchmarkDeep100k(b *testing.B) { benchRun(b, deepPackage(100_000)) }
