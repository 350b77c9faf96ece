package pricing_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/internal/aws/pricing"
)

func TestCost(t *testing.T) {
	t.Parallel()
	p := pricing.ListPrices
	for _, tc := range []struct {
		name string
		u    pricing.Usage
		want float64
	}{
		{"nothing", pricing.Usage{}, 0},
		{"a million HTTP API requests", pricing.Usage{HTTPRequests: 1e6}, 1.00},
		{"a million Lambda invocations", pricing.Usage{LambdaInvocations: 1e6}, 0.20},
		{"75,000 GB-s", pricing.Usage{LambdaGBSeconds: 75_000}, 75_000 * 0.0000133334},
		{"a million WRU and RRU", pricing.Usage{WRU: 1e6, RRU: 1e6}, 0.625 + 0.125},
		{"27 WRU a million times", pricing.Usage{WRU: 27}.Scale(1e6), 27 * 0.625},
		{"a million SQS requests", pricing.Usage{SQSRequests: 1e6}, 0.40},
		{"a million events", pricing.Usage{Events: 1e6}, 1.00},
		{"everything", pricing.Usage{HTTPRequests: 1, LambdaInvocations: 2, WRU: 3, RRU: 4, SQSRequests: 5, Events: 6}.Scale(1e6),
			1 + 0.4 + 3*0.625 + 4*0.125 + 5*0.4 + 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := p.Cost(tc.u)
			require.InDelta(t, tc.want, c.Total(), 1e-9)
			sum := 0.0
			for _, l := range c {
				sum += l.USD
			}
			require.InDelta(t, sum, c.Total(), 1e-12)
		})
	}
}

func TestUsageAdd(t *testing.T) {
	t.Parallel()
	a := pricing.Usage{HTTPRequests: 1, LambdaInvocations: 2, LambdaGBSeconds: 3, WRU: 4, RRU: 5, SQSRequests: 6, Events: 7}
	require.Equal(t, a.Scale(2), a.Add(a))
}

func TestGBSeconds(t *testing.T) {
	t.Parallel()
	require.InDelta(t, 0.25*0.004, pricing.GBSeconds(256, 3.2), 1e-12, "3.2 ms is billed 4 ms")
	require.InDelta(t, 0.25*0.003, pricing.GBSeconds(256, 3), 1e-12)
	require.InDelta(t, 1.0, pricing.GBSeconds(1024, 1000), 1e-12)
}

func ExamplePrices_Cost() {
	// 27 write units, 3.4 SQS requests and one event per execution, for a
	// million executions.
	c := pricing.ListPrices.Cost(pricing.Usage{WRU: 27, SQSRequests: 3.4, Events: 1}.Scale(1e6))
	fmt.Printf("$%.3f\n", c.Total())
	// Output: $19.235
}
