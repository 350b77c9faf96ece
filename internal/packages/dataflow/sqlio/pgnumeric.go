package sqlio

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// floatNumericCodec wraps a connection's numeric codec so that a float
// column of a batch going into a numeric column is encoded straight from
// its shortest decimal text to PostgreSQL's binary numeric. pgx's own plan
// for a float goes through math/big (a string, a parse, divisions and
// several allocations per value): on a COPY of a few columns it is half
// the client's CPU. The value is the same (pgx also encodes the shortest
// decimal text that reads back as the float). Every other value, and
// every decode, is the wrapped codec's.
type floatNumericCodec struct{ pgtype.Codec }

// PlanEncode implements pgtype.Codec.
func (c floatNumericCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if format == pgtype.BinaryFormatCode {
		switch value.(type) {
		case *pgFloat[float64], *pgFloat[float32]:
			return floatNumericPlan{other: c.Codec.PlanEncode(m, oid, format, value)}
		}
	}
	return c.Codec.PlanEncode(m, oid, format, value)
}

// useFloatNumeric puts floatNumericCodec on the connection's type map for
// numeric, once per connection.
func useFloatNumeric(conn *pgx.Conn) {
	tm := conn.TypeMap()
	t, ok := tm.TypeForOID(pgtype.NumericOID)
	if !ok {
		return
	}
	if _, done := t.Codec.(floatNumericCodec); done {
		return
	}
	tm.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: floatNumericCodec{t.Codec}})
}

// floatNumericPlan encodes a pgtype.Float64Valuer as binary numeric; NaN
// and the infinities go to the wrapped codec's plan.
type floatNumericPlan struct{ other pgtype.EncodePlan }

// Encode implements pgtype.EncodePlan.
func (p floatNumericPlan) Encode(value any, buf []byte) ([]byte, error) {
	f, err := value.(pgtype.Float64Valuer).Float64Value()
	if err != nil || !f.Valid {
		return nil, err
	}
	if math.IsNaN(f.Float64) || math.IsInf(f.Float64, 0) {
		return p.other.Encode(value, buf)
	}
	return appendFloatNumeric(buf, f.Float64), nil
}

// appendFloatNumeric appends f (finite) as PostgreSQL's binary numeric:
// ndigits, weight, sign, dscale (16 bits each), then ndigits base-10000
// digits, most significant first, without leading or trailing zero
// digits. The decimal digits are those of the shortest text that reads
// back as f; dscale is the number of its fractional digits.
func appendFloatNumeric(buf []byte, f float64) []byte {
	var tmp [400]byte // 'f' of the largest float64 is 309 digits; of the smallest, 326 characters
	s := strconv.AppendFloat(tmp[:0], f, 'f', -1, 64)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	whole, frac := s, []byte(nil)
	if dot := bytes.IndexByte(s, '.'); dot >= 0 {
		whole, frac = s[:dot], s[dot+1:]
	}
	lead := (4 - len(whole)%4) % 4 // zeros before the whole digits, to fill the first group
	nWhole := (len(whole) + lead) / 4
	groups := nWhole + (len(frac)+3)/4
	// group g is the decimal digits at [4g, 4g+4) of lead zeros + whole +
	// frac + trailing zeros.
	group := func(g int) uint16 {
		v := 0
		for k := range 4 {
			c := byte('0')
			switch pos := 4*g + k - lead; {
			case pos < 0:
			case pos < len(whole):
				c = whole[pos]
			case pos-len(whole) < len(frac):
				c = frac[pos-len(whole)]
			}
			v = v*10 + int(c-'0')
		}
		return uint16(v)
	}
	first, last := 0, groups-1
	for first <= last && group(first) == 0 {
		first++
	}
	for last >= first && group(last) == 0 {
		last--
	}
	ndigits, weight, sign := last-first+1, nWhole-1-first, uint16(0)
	if ndigits == 0 { // zero (also -0)
		weight = 0
	} else if neg {
		sign = 0x4000
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(ndigits))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(frac)))
	for g := first; g <= last; g++ {
		buf = binary.BigEndian.AppendUint16(buf, group(g))
	}
	return buf
}
