package sqlio

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFloatNumericMatchesPgx shows a float encoded as binary numeric by
// floatNumericCodec decodes to the same numeric as pgx's own encoding of
// it, with the same sign and scale, and that it allocates nothing per value.
func TestFloatNumericMatchesPgx(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 12.34, -12.34, 0.5, 0.0001, 0.00012, 1e-7, 123456789.123,
		10000, 100000, 1e20, -1e20, 99999999.99, 1.0 / 3, 2.0 / 3, math.Pi, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, 5e-300, 1234.5678, 9999, 10001, 0.1, 0.01, 0.001, 1.1, 100.01}
	for i := range 2000 { // amounts as a CSV gives them, and arbitrary values
		floats = append(floats, float64(i*7919%100000)+float64(i%100)/100, float64(i)*1.2345e-3, -float64(i)*97.5)
	}
	tm := pgtype.NewMap()
	num, _ := tm.TypeForOID(pgtype.NumericOID)
	codec := floatNumericCodec{num.Codec}
	decode := func(b []byte) string {
		var n pgtype.Numeric
		require.NoError(t, tm.Scan(pgtype.NumericOID, pgtype.BinaryFormatCode, b, &n))
		v, err := n.Value()
		require.NoError(t, err)
		return v.(string)
	}
	for _, f := range floats {
		cell := &pgFloat[float64]{vals: []float64{f}}
		plan := codec.PlanEncode(tm, pgtype.NumericOID, pgtype.BinaryFormatCode, cell)
		require.IsType(t, floatNumericPlan{}, plan)
		ours, err := plan.Encode(cell, nil)
		require.NoError(t, err)
		theirs, err := tm.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, pgtype.Float8{Float64: f, Valid: true}, nil)
		require.NoError(t, err)
		assert.Equal(t, decode(theirs), decode(ours), "%s", strconv.FormatFloat(f, 'g', -1, 64))
		assert.Equal(t, theirs[4:8], ours[4:8], "sign and dscale of %v", f)
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		cell := &pgFloat[float64]{vals: []float64{f}}
		ours, err := codec.PlanEncode(tm, pgtype.NumericOID, pgtype.BinaryFormatCode, cell).Encode(cell, nil)
		require.NoError(t, err)
		theirs, err := tm.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, pgtype.Float8{Float64: f, Valid: true}, nil)
		require.NoError(t, err)
		assert.Equal(t, theirs, ours, "%v goes to pgx's plan", f)
	}
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(1000, func() { buf = appendFloatNumeric(buf[:0], 123456.78) })
	assert.Zero(t, allocs, "allocations per value")
}

// TestFloatNumericLeavesOtherValuesAlone shows only the COPY's float
// cells take the fast plan: anything else gets the wrapped codec's.
func TestFloatNumericLeavesOtherValuesAlone(t *testing.T) {
	tm := pgtype.NewMap()
	num, _ := tm.TypeForOID(pgtype.NumericOID)
	codec := floatNumericCodec{num.Codec}
	for _, v := range []any{pgtype.Float8{Float64: 1.5, Valid: true}, &pgInt[int64]{vals: []int64{3}}, 1.5} {
		plan := codec.PlanEncode(tm, pgtype.NumericOID, pgtype.BinaryFormatCode, v)
		assert.IsType(t, num.Codec.PlanEncode(tm, pgtype.NumericOID, pgtype.BinaryFormatCode, v), plan, "%T", v)
	}
	cell := &pgFloat[float64]{vals: []float64{1.5}}
	assert.NotEqual(t, fmt.Sprintf("%T", floatNumericPlan{}),
		fmt.Sprintf("%T", codec.PlanEncode(tm, pgtype.NumericOID, pgtype.TextFormatCode, cell)), "text format")
}
