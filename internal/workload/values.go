package workload

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Every generator returns the argument to send and the exact text a scan
// into []byte returns for it (the server's text-protocol output, except for
// FLOAT and DOUBLE, below), so the model never parses what it reads.
// Values are chosen where that text is deterministic, and where it stays the
// same under the ALTERs the tests run (wider integer types, wider VARCHAR,
// conversion to utf8mb4_bin).

// edge returns one of the edge values one time in eight.
func edge[T any](r *rand.Rand, edges ...T) (T, bool) {
	if r.IntN(8) == 0 {
		return edges[r.IntN(len(edges))], true
	}
	var zero T
	return zero, false
}

func genInt32(r *rand.Rand) (any, string) {
	v, ok := edge[int64](r, math.MinInt32, math.MaxInt32, 0, -1)
	if !ok {
		v = int64(int32(r.Uint32()))
	}
	return v, strconv.FormatInt(v, 10)
}

func genUint32(r *rand.Rand) (any, string) {
	v, ok := edge[int64](r, 0, math.MaxUint32)
	if !ok {
		v = int64(r.Uint32())
	}
	return v, strconv.FormatInt(v, 10)
}

// genUint64 goes above 2^63 a third of the time: the binlog hands those to
// godwit as negative signed integers.
func genUint64(r *rand.Rand) (any, string) {
	v, ok := edge[uint64](r, 0, 1<<63-1, 1<<63, math.MaxUint64)
	if !ok {
		v = r.Uint64N(1 << 63)
		if r.IntN(3) == 0 {
			v += 1 << 63
		}
	}
	return v, strconv.FormatUint(v, 10)
}

func genInt8(r *rand.Rand) (any, string) {
	v := int64(r.IntN(256) - 128)
	return v, strconv.FormatInt(v, 10)
}

// genDecimal sends text, not a float: the server then stores it exactly and
// prints it back with all four decimals.
func genDecimal(r *rand.Rand) (any, string) {
	whole, frac := r.Int64N(1e10), r.IntN(1e4)
	if r.IntN(2) == 0 {
		whole = r.Int64N(1000) // small numbers are the common case
	}
	sign := ""
	if r.IntN(3) == 0 && whole+int64(frac) != 0 { // "-0.0000" comes back as "0.0000"
		sign = "-"
	}
	s := fmt.Sprintf("%s%d.%04d", sign, whole, frac)
	return s, s
}

// FLOAT and DOUBLE are the exception to "the server's text": since v1.8,
// go-sql-driver parses FLOAT and DOUBLE columns of the text protocol into
// float32 and float64, and database/sql renders them back with strconv's
// shortest 'g' format. A DOUBLE MariaDB prints as "264170175507.75" reaches
// the caller as "2.6417017550775e+11". So the text here is Go's.

// genFloat: MariaDB prints FLOAT with six significant digits (12345.25 reads
// back as "12345.2", 1234567 as "1234570") before the driver parses it, so
// only values of at most six digits survive: quarters under 10^4, and six
// digits at any scale. The argument is the float32 itself, so the server
// stores it without a second rounding.
func genFloat(r *rand.Rand) (any, string) {
	var f float32
	if r.IntN(4) == 0 {
		// The float32 nearest to the decimal, which is what the driver's
		// parse of the six digits the server prints gives back.
		f64, _ := strconv.ParseFloat(fmt.Sprintf("%de%d", r.IntN(1e6), r.IntN(60)-30), 32)
		f = float32(f64)
	} else {
		f = float32(r.IntN(40000)) / 4
	}
	if r.IntN(2) == 0 && f != 0 { // -0 would read back as "0"
		f = -f
	}
	return float64(f), strconv.FormatFloat(float64(f), 'g', -1, 32)
}

// genDouble: MariaDB prints a DOUBLE as the shortest text that reads back as
// the same number, so every double survives; the mix has binary fractions,
// short decimals (0.1 is not exact in binary) and the extremes.
func genDouble(r *rand.Rand) (any, string) {
	v, ok := edge(r, math.MaxFloat64, math.SmallestNonzeroFloat64, 1e15, 1e-7, 1e300, 0)
	if !ok {
		if r.IntN(2) == 0 {
			v = float64(r.Int64N(1<<53)) / float64(uint64(1)<<r.IntN(63))
		} else {
			v = float64(r.IntN(1e8)) / 100
		}
	}
	if r.IntN(3) == 0 && v != 0 { // -0 would read back as "0"
		v = -v
	}
	return v, strconv.FormatFloat(v, 'g', -1, 64)
}

// DATE and DATETIME span their whole range, 1000 to 9999: more than a
// time.Duration holds, so the arithmetic is in Unix seconds.
var (
	minDatetime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxDatetime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

func genDate(r *rand.Rand) (any, string) {
	secs, ok := edge(r, minDatetime, maxDatetime)
	if !ok {
		secs = minDatetime + r.Int64N(maxDatetime-minDatetime+1)
	}
	s := time.Unix(secs, 0).UTC().Format(time.DateOnly)
	return s, s
}

func genDatetime(r *rand.Rand) (any, string) {
	secs, ok := edge(r, minDatetime, maxDatetime)
	if !ok {
		secs = minDatetime + r.Int64N(maxDatetime-minDatetime+1)
	}
	s := time.Unix(secs, int64(r.IntN(1e6))*1000).UTC().Format("2006-01-02 15:04:05.000000")
	return s, s
}

// genTimestamp is sent as text and read back in the session time zone, which
// every workload session sets to UTC: there are no DST gaps to fall into.
func genTimestamp(r *rand.Rand) (any, string) {
	secs, ok := edge[int64](r, 1, math.MaxInt32) // 1970-01-01 00:00:01 and 2038-01-19 03:14:07 UTC
	if !ok {
		secs = 1 + r.Int64N(math.MaxInt32)
	}
	t := time.Unix(secs, int64(r.IntN(1000))*int64(time.Millisecond)).UTC()
	s := t.Format("2006-01-02 15:04:05.000")
	return s, s
}

// textPieces mixes the characters that break naive copies: quotes and
// backslashes for escaping, 4-byte UTF-8 for utf8 (3-byte) paths, %, _ for
// LIKE, tabs and newlines, spaces (trailing ones too).
var textPieces = []string{
	"a", "b", "c", "x", "y", "z", "A", "Q", "Z", "0", "7", "9", " ", " ", "-", ".",
	"'", "\"", "\\", "%", "_", "\t", "\n", "é", "ß", "ñ", "漢", "字", "日本", "😀", "🦆", "👍🏽",
}

func randText(r *rand.Rand, maxRunes int) string {
	var b strings.Builder
	n, runes := r.IntN(maxRunes+1), 0
	for {
		p := textPieces[r.IntN(len(textPieces))]
		if runes+utf8.RuneCountInString(p) > n {
			return b.String()
		}
		b.WriteString(p)
		runes += utf8.RuneCountInString(p)
	}
}

// genChar: CHAR pads with spaces on disk and strips trailing spaces on read.
func genChar(r *rand.Rand) (any, string) {
	s := randText(r, 10)
	return s, strings.TrimRight(s, " ")
}

// genVarchar keeps trailing spaces: VARCHAR stores them, but PAD SPACE
// collations compare "a" equal to "a ", so a checksum built on = misses them.
func genVarchar(r *rand.Rand) (any, string) {
	s := randText(r, 100)
	if r.IntN(10) == 0 {
		s += "  "
	}
	if utf8.RuneCountInString(s) > 100 {
		s = string([]rune(s)[:100])
	}
	return s, s
}

func genText(r *rand.Rand) (any, string) {
	s := randText(r, 300)
	if r.IntN(10) == 0 {
		s += "\x00nul"
	}
	return s, s
}

// randBytes ends in zero bytes a quarter of the time: binlog events and
// fixed-width paths tend to drop those.
func randBytes(r *rand.Rand, max int) []byte {
	b := make([]byte, r.IntN(max+1))
	for i := range b {
		b[i] = byte(r.IntN(256))
		if r.IntN(8) == 0 {
			b[i] = 0
		}
	}
	if len(b) > 0 && r.IntN(4) == 0 {
		for i := len(b) - 1 - r.IntN(min(len(b), 4)); i < len(b); i++ {
			b[i] = 0
		}
	}
	return b
}

func genBlob(r *rand.Rand) (any, string) {
	b := randBytes(r, 200)
	return b, string(b)
}

func genVarbinary(r *rand.Rand) (any, string) {
	b := randBytes(r, 32)
	return b, string(b)
}

var enumValues = []string{"red", "green", "blue"}

func genEnum(r *rand.Rand) (any, string) {
	s := enumValues[r.IntN(len(enumValues))]
	return s, s
}

var setMembers = []string{"a", "b", "c", "d"}

// genSet writes members shuffled and sometimes repeated; MariaDB reads them
// back once each, in definition order ("" is the empty set, not NULL).
func genSet(r *rand.Rand) (any, string) {
	var in, out []string
	for _, m := range setMembers {
		if r.IntN(2) == 0 {
			in, out = append(in, m), append(out, m)
			if r.IntN(8) == 0 {
				in = append(in, m)
			}
		}
	}
	r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	return strings.Join(in, ","), strings.Join(out, ",")
}

// genBit sends a number; the text protocol returns BIT(8) as its raw byte.
func genBit(r *rand.Rand) (any, string) {
	v := r.IntN(256)
	return int64(v), string([]byte{byte(v)})
}

// genJSON writes compact JSON. MariaDB's JSON is LONGTEXT with a JSON_VALID
// check and keeps the text verbatim (MySQL would normalise it).
func genJSON(r *rand.Rand) (any, string) {
	str, _ := json.Marshal(randText(r, 20)) // quotes, backslashes, control characters escaped
	var s string
	switch r.IntN(3) {
	case 0:
		s = fmt.Sprintf(`{"n":%d,"s":%s,"ok":%t,"tags":["x","y"],"nil":null}`, r.Int64N(1e12)-5e11, str, r.IntN(2) == 0)
	case 1:
		s = fmt.Sprintf(`[%d,%s,{"deep":{"k":[1,2,3]}}]`, r.IntN(1000), str)
	default:
		s = string(str)
	}
	return s, s
}

func genKey(r *rand.Rand) (any, string) {
	v := int64(r.IntN(1_000_000)) // duplicates on purpose: k_idx is not unique
	return v, strconv.FormatInt(v, 10)
}
