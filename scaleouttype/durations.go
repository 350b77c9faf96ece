package scaleouttype

import (
	"math"
	"sort"
)

// The duration sketch is a fixed log histogram: a duration of d ms (d ≥ 1)
// goes to bucket floor(log(d)/log(gamma)), and a bucket reports the point
// 2·gamma^i/(gamma+1) between its bounds, so that any quantile it returns is
// within a relative error of (gamma-1)/(gamma+1) of a duration of the right
// rank (DDSketch's bound, with a fixed gamma). Zero-length durations have a
// bucket of their own and report 0.
//
// Buckets are plain counters ("h_<i>" attributes), so two sketches merge by
// adding counts: DynamoDB does it atomically with ADD, in the same UpdateItem
// that adds the batch's counts.
const (
	gamma = 1.04
	// SketchRelativeError is the bound on the relative error of P50 and P95.
	SketchRelativeError = (gamma - 1) / (gamma + 1) // ≈ 1.96 %
	// ZeroBucket is the bucket of zero-length (and negative) durations.
	ZeroBucket = -1
)

var logGamma = math.Log(gamma)

// DurationBucket is the sketch bucket of a duration of ms milliseconds.
func DurationBucket(ms int64) int {
	if ms <= 0 {
		return ZeroBucket
	}
	return int(math.Floor(math.Log(float64(ms)) / logGamma))
}

func bucketValue(i int) int64 {
	if i == ZeroBucket {
		return 0
	}
	return int64(math.Round(2 * math.Pow(gamma, float64(i)) / (gamma + 1) * gamma))
}

// Observe adds one duration.
func (d *Durations) Observe(ms int64) {
	d.Record(ms)
	d.Settle()
}

// Merge adds o to d.
func (d *Durations) Merge(o Durations) {
	if o.Count == 0 {
		return
	}
	if d.Count == 0 || o.MinMS < d.MinMS {
		d.MinMS = o.MinMS
	}
	if d.Count == 0 || o.MaxMS > d.MaxMS {
		d.MaxMS = o.MaxMS
	}
	d.Count += o.Count
	d.SumMS += o.SumMS
	if d.Buckets == nil {
		d.Buckets = map[int]int64{}
	}
	for i, n := range o.Buckets {
		d.Buckets[i] += n
	}
	d.Settle()
}

// Settle computes P50MS and P95MS from the sketch.
func (d *Durations) Settle() {
	d.P50MS = d.Quantile(0.50)
	d.P95MS = d.Quantile(0.95)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) from the sketch, clamped to
// [MinMS, MaxMS]; 0 when there is nothing.
func (d Durations) Quantile(q float64) int64 {
	var total int64
	idx := make([]int, 0, len(d.Buckets))
	for i, n := range d.Buckets {
		if n > 0 {
			idx = append(idx, i)
			total += n
		}
	}
	if total == 0 {
		return 0
	}
	sort.Ints(idx)
	rank := int64(math.Floor(q * float64(total-1)))
	var seen int64
	for _, i := range idx {
		seen += d.Buckets[i]
		if seen > rank {
			v := bucketValue(i)
			return min(max(v, d.MinMS), d.MaxMS)
		}
	}
	return d.MaxMS
}

// Record is Observe without the quantiles (call Settle after), for the hot path. A negative
// duration (clock skew) counts as 0.
func (d *Durations) Record(ms int64) {
	ms = max(ms, 0)
	if d.Count == 0 || ms < d.MinMS {
		d.MinMS = ms
	}
	if d.Count == 0 || ms > d.MaxMS {
		d.MaxMS = ms
	}
	d.Count++
	d.SumMS += ms
	if d.Buckets == nil {
		d.Buckets = map[int]int64{}
	}
	d.Buckets[DurationBucket(ms)]++
}
