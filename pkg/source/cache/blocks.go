// Column blocks: a UTC day's records, column by column, for the questions
// no rollup answers (a filter, a pivot of two dimensions).

package cache

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/nextcore-ai/nextcore/pkg/source"
	"github.com/nextcore-ai/nextcore/pkg/source/cache/rawsqlite"
)

// A block is up to blockMax records of one UTC day (a segment), stored as
// one row per column: the dimension codes of the records (dictionary ids)
// and their measures, each packed at the width its values need above the
// smallest. A filter or pivot reads only the columns it needs, a day at a
// time, and sums at memory speed instead of decoding rows. Records are in
// time order within a block, by second of the day.
//
// An import appends a segment to each day it stored records of; a day
// whose segments grow past a few (a sync stores a page at a time) is
// merged into as few as hold it, at the end of the import.

// Columns of a block.
const (
	colSec = iota // seconds since the day's start
	colModel
	colKey
	colUser
	colRegion
	colStatus // the ok column: okError, okSuccess, okUnknown
	colProject
	colProvider
	colPrice
	colTagSet
	colRequests
	colPrompt
	colCompletion
	colCost
	colCacheRead
	colCacheWrite
	colCacheWrite1h
	colReasoning
	colLatency       // ms + 1; 0: none
	colLatencyBucket // source.LatencyBucket + 1; 0: none
	numCols
)

// blockMax is the most records a block holds: a day of more is several
// (a variable for the tests).
var blockMax = 1 << 16

// blockMergeAt is how many segments more than its records need a day may
// have before an import merges them.
const blockMergeAt = 4

// maxBlockBytes bounds the records an import holds for blocks before it
// writes them out.
const maxBlockBytes = 8 << 20

// blockRow is a record as a block stores it: its time (Unix ns) and its
// columns but colSec.
type blockRow struct {
	ts int64
	v  [numCols]int64
}

const blockRowBytes = 8 + numCols*8 + 8 // with the slice's share of growth

// dimCol is the block column of a dimension, -1 for none.
func dimCol(d source.Dim) int {
	switch d {
	case source.DimModel:
		return colModel
	case source.DimKey:
		return colKey
	case source.DimUser:
		return colUser
	case source.DimRegion:
		return colRegion
	case source.DimStatus:
		return colStatus
	case source.DimProject:
		return colProject
	case source.DimProvider:
		return colProvider
	case source.DimPrice, source.DimPairPrice:
		return colPrice
	case source.DimTag:
		return colTagSet
	}
	return -1
}

// blockRowOf is a stored record as a block row.
func blockRowOf(p *pending) blockRow {
	r := &p.r
	var b blockRow
	b.ts = r.Time
	v := &b.v
	v[colModel], v[colKey], v[colUser], v[colRegion] = p.ids[0], p.ids[1], p.ids[2], p.ids[3]
	v[colStatus], v[colProject], v[colProvider], v[colPrice] = p.ids[4], p.ids[5], p.ids[6], p.ids[priceSlot]
	v[colTagSet] = p.lids[2]
	v[colRequests], v[colPrompt], v[colCompletion], v[colCost] = r.Requests, r.PromptTokens, r.CompletionTokens, int64(r.Cost)
	v[colCacheRead], v[colCacheWrite], v[colCacheWrite1h], v[colReasoning] = r.CacheRead, r.CacheWrite, r.CacheWrite1h, r.Reasoning
	if r.LatencyMs >= 0 {
		v[colLatency] = r.LatencyMs + 1
		v[colLatencyBucket] = int64(source.LatencyBucketOf(r.LatencyMs)) + 1
	}
	return b
}

// dayOf is the UTC day (Unix seconds of its start) of a time in Unix ns.
func dayOf(ts int64) int64 { return floorDiv(floorDiv(ts, int64(time.Second)), Day) * Day }

// blockSet gathers block rows by day.
type blockSet struct {
	days  map[int64][]blockRow
	bytes int
}

func (s *blockSet) add(p *pending) {
	if s.days == nil {
		s.days = map[int64][]blockRow{}
	}
	day := dayOf(p.r.Time)
	s.days[day] = append(s.days[day], blockRowOf(p))
	s.bytes += blockRowBytes
}

// take hands over the rows gathered and starts anew.
func (s *blockSet) take() blockSet {
	out := *s
	*s = blockSet{}
	return out
}

// encodeCol packs vals: a width byte, the smallest value (8 bytes), then
// each value less the smallest in width bytes, little-endian, and 8 bytes
// of padding so that any width decodes with one 8-byte load. A column whose
// values are mostly its smallest (the tokens written to a cache, reasoning
// tokens, a status, requests: mostly 0, success or 1) is sparse: the width
// byte has sparseFlag, and the values are a count of the others (4 bytes),
// a bitmap of where they are (a bit a value, in 64-bit words), and those
// values only, then the padding.
func encodeCol(dst []byte, vals []int64) []byte {
	if len(vals) == 0 {
		return append(dst, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	width := (bits.Len64(uint64(hi)-uint64(lo)) + 7) / 8
	others := 0
	if width > 0 {
		for _, v := range vals {
			if v != lo {
				others++
			}
		}
	}
	words := (len(vals) + 63) / 64
	sparse := width > 0 && 4+8*words+others*width < len(vals)*width*3/4
	if sparse {
		dst = append(dst, byte(width)|sparseFlag)
	} else {
		dst = append(dst, byte(width))
	}
	dst = binary.LittleEndian.AppendUint64(dst, uint64(lo))
	if width == 0 {
		return dst
	}
	if sparse {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(others))
		for w := range words {
			var word uint64
			for i, v := range vals[w*64 : min(len(vals), w*64+64)] {
				if v != lo {
					word |= 1 << i
				}
			}
			dst = binary.LittleEndian.AppendUint64(dst, word)
		}
	}
	var buf [8]byte
	for _, v := range vals {
		if sparse && v == lo {
			continue
		}
		binary.LittleEndian.PutUint64(buf[:], uint64(v)-uint64(lo))
		dst = append(dst, buf[:width]...)
	}
	return append(dst, buf[:]...)
}

// sparseFlag marks a sparse column in its width byte (encodeCol).
const sparseFlag = 0x80

// packedCol is a column of a block as encodeCol packed it.
type packedCol struct {
	width int
	lo    uint64
	data  []byte // the values (of a sparse column, those not lo)
	bits  []byte // a sparse column's bitmap, nil for a dense one
	words int    // its 64-bit words
}

// colHeader reads a packed column of n values.
func colHeader(b []byte, n int) (c packedCol, err error) {
	if len(b) < 9 {
		return c, fmt.Errorf("%w: a block column of %d bytes", ErrCorrupted, len(b))
	}
	c.width, c.lo, c.data = int(b[0]&^sparseFlag), binary.LittleEndian.Uint64(b[1:9]), b[9:]
	values := n
	if b[0]&sparseFlag != 0 {
		c.words = (n + 63) / 64
		if c.width == 0 || len(c.data) < 4+8*c.words {
			return c, fmt.Errorf("%w: a sparse block column of %d bytes", ErrCorrupted, len(b))
		}
		values = int(binary.LittleEndian.Uint32(c.data))
		c.bits, c.data = c.data[4:4+8*c.words], c.data[4+8*c.words:]
		ones := 0
		for w := range c.words {
			ones += bits.OnesCount64(binary.LittleEndian.Uint64(c.bits[8*w:]))
		}
		if rest := n % 64; rest > 0 && binary.LittleEndian.Uint64(c.bits[8*(c.words-1):])>>rest != 0 {
			return c, fmt.Errorf("%w: a sparse block column marks values past its %d", ErrCorrupted, n)
		}
		if ones != values || values > n {
			return c, fmt.Errorf("%w: a sparse block column of %d values marks %d", ErrCorrupted, values, ones)
		}
	}
	if c.width > 8 || (c.width > 0 && len(c.data) != values*c.width+8) {
		return c, fmt.Errorf("%w: a block column of width %d holds %d bytes for %d values", ErrCorrupted, c.width, len(c.data), values)
	}
	return c, nil
}

// at is the k-th value packed.
func (c *packedCol) at(k int) int64 {
	return int64(c.lo + binary.LittleEndian.Uint64(c.data[c.width*k:])&(uint64(1)<<(8*c.width)-1)) // 1<<64 is 0: all ones
}

// word is the w-th word of a sparse column's bitmap.
func (c *packedCol) word(w int) uint64 { return binary.LittleEndian.Uint64(c.bits[8*w:]) }

// colCursor decodes a packed column a stretch of records at a time, in
// order: each stretch starts where the one before ended, at a multiple of
// 64 but for the end.
type colCursor struct {
	packedCol
	k int // of a sparse column: its values before the next stretch
}

// newColCursor reads a packed column of n values.
func newColCursor(b []byte, n int) (colCursor, error) {
	c, err := colHeader(b, n)
	return colCursor{packedCol: c}, err
}

// span decodes records lo…hi into dst (reused).
func (r *colCursor) span(lo, hi int, dst []int64) []int64 {
	dst = slices.Grow(dst[:0], hi-lo)[:hi-lo]
	lo64, data := r.lo, r.data
	if r.bits != nil {
		for i := range dst {
			dst[i] = int64(lo64)
		}
		for w := lo / 64; w < (hi+63)/64; w++ {
			for word := r.word(w); word != 0; word &= word - 1 {
				dst[w*64+bits.TrailingZeros64(word)-lo] = r.at(r.k)
				r.k++
			}
		}
		return dst
	}
	switch r.width {
	case 0:
		for i := range dst {
			dst[i] = int64(lo64)
		}
	case 1:
		data = data[lo:]
		for i := range dst {
			dst[i] = int64(lo64 + uint64(data[i]))
		}
	case 2:
		data = data[2*lo:]
		for i := range dst {
			dst[i] = int64(lo64 + uint64(binary.LittleEndian.Uint16(data[2*i:])))
		}
	case 4:
		data = data[4*lo:]
		for i := range dst {
			dst[i] = int64(lo64 + uint64(binary.LittleEndian.Uint32(data[4*i:])))
		}
	case 8:
		data = data[8*lo:]
		for i := range dst {
			dst[i] = int64(lo64 + binary.LittleEndian.Uint64(data[8*i:]))
		}
	default:
		for i := range dst {
			dst[i] = r.at(lo + i)
		}
	}
	return dst
}

// pick decodes the records lo+a of records lo…hi, for each a of at (in
// increasing order), into dst (reused).
func (r *colCursor) pick(lo, hi int, at []int32, dst []int64) []int64 {
	dst = slices.Grow(dst[:0], len(at))[:len(at)]
	if r.bits == nil {
		for j, a := range at {
			if r.width == 0 {
				dst[j] = int64(r.lo)
			} else {
				dst[j] = r.at(lo + int(a))
			}
		}
		return dst
	}
	w, k := lo/64, r.k // k: the values before word w
	for j, a := range at {
		i := lo + int(a)
		for ; w < i/64; w++ {
			k += bits.OnesCount64(r.word(w))
		}
		word, bit := r.word(w), uint64(1)<<(i%64)
		if word&bit == 0 {
			dst[j] = int64(r.lo)
		} else {
			dst[j] = r.at(k + bits.OnesCount64(word&(bit-1)))
		}
	}
	r.skip(lo, hi)
	return dst
}

// skip passes records lo…hi.
func (r *colCursor) skip(lo, hi int) {
	if r.bits == nil {
		return
	}
	for w := lo / 64; w < (hi+63)/64; w++ {
		r.k += bits.OnesCount64(r.word(w))
	}
}

// decodeCol unpacks n values packed by encodeCol into dst (reused).
func decodeCol(b []byte, n int, dst []int64) ([]int64, error) {
	r, err := newColCursor(b, n)
	if err != nil {
		return nil, err
	}
	return r.span(0, n, dst), nil
}

// writeBlocks stores the rows of each day as new segments of it.
func (w *Writer) writeBlocks(s blockSet) error {
	if len(s.days) == 0 {
		return nil
	}
	days := make([]int64, 0, len(s.days))
	for d := range s.days {
		days = append(days, d)
	}
	slices.Sort(days)
	for _, day := range days {
		rows := s.days[day]
		seg, err := w.nextSegment(day)
		if err != nil {
			return err
		}
		if err := w.putSegments(day, seg, rows); err != nil {
			return err
		}
		if w.blockDays == nil {
			w.blockDays = map[int64]bool{}
		}
		w.blockDays[day] = true
	}
	return nil
}

// nextSegment is the number of day's next segment.
func (w *Writer) nextSegment(day int64) (int64, error) {
	var next int64
	err := w.tx.QueryRowContext(w.ctx, "SELECT coalesce(max(seg) + 1, 0) FROM blocks WHERE tenant = ? AND col = 0 AND day = ?",
		w.tenant, day).Scan(&next)
	if err != nil {
		return 0, w.c.wrap(fmt.Errorf("read the column blocks: %w", err))
	}
	return next, nil
}

// putSegments sorts rows by time and writes them as segments of day from
// number seg on, blockMax records each.
func (w *Writer) putSegments(day, seg int64, rows []blockRow) error {
	slices.SortFunc(rows, func(a, b blockRow) int { return cmp.Compare(a.ts, b.ts) })
	vals := make([]int64, 0, min(len(rows), blockMax))
	var buf []byte
	for len(rows) > 0 {
		n := min(len(rows), blockMax)
		part := rows[:n]
		rows = rows[n:]
		for col := range numCols {
			vals = vals[:0]
			for i := range part {
				if col == colSec {
					vals = append(vals, floorDiv(part[i].ts, int64(time.Second))-day)
				} else {
					vals = append(vals, part[i].v[col])
				}
			}
			buf = encodeCol(buf[:0], vals)
			if _, err := w.tx.ExecContext(w.ctx, "INSERT INTO blocks (tenant, col, day, seg, n, data) VALUES (?, ?, ?, ?, ?, ?)",
				w.tenant, col, day, seg, n, buf); err != nil {
				return w.c.wrap(fmt.Errorf("write the column blocks: %w", err))
			}
		}
		seg++
	}
	return nil
}

// mergeBlocks merges the segments of each day this import wrote to that has
// more than it needs.
func (w *Writer) mergeBlocks() error {
	days := make([]int64, 0, len(w.blockDays))
	for d := range w.blockDays {
		days = append(days, d)
	}
	slices.Sort(days)
	for _, day := range days {
		var segs, n int64
		err := w.tx.QueryRowContext(w.ctx, "SELECT count(*), coalesce(sum(n), 0) FROM blocks WHERE tenant = ? AND col = 0 AND day = ?",
			w.tenant, day).Scan(&segs, &n)
		if err != nil {
			return w.c.wrap(fmt.Errorf("read the column blocks: %w", err))
		}
		if segs <= (n+int64(blockMax)-1)/int64(blockMax)+blockMergeAt {
			continue
		}
		rows, err := w.readDay(day)
		if err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(w.ctx, "DELETE FROM blocks WHERE tenant = ? AND day = ?", w.tenant, day); err != nil {
			return w.c.wrap(fmt.Errorf("merge the column blocks: %w", err))
		}
		if err := w.putSegments(day, 0, rows); err != nil {
			return err
		}
	}
	return nil
}

// readDay reads back every record of a day's blocks, with readBlocks.
func (w *Writer) readDay(day int64) ([]blockRow, error) {
	all := make([]int, numCols)
	for col := range all {
		all[col] = col
	}
	var out []blockRow
	err := readBlocksOf(w.ctx, nil, w.tx, w.tenant, day, day, all, nil, func(_ int64, n int, c *[numCols][]int64) error {
		for i := range n {
			r := blockRow{ts: (day + c[colSec][i]) * int64(time.Second)}
			for col := colSec + 1; col < numCols; col++ {
				r.v[col] = c[col][i]
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, w.c.wrap(err)
	}
	return out, nil
}

// blocksUsable reports whether blocks answer a query over bounds: they
// know times to the second.
func blocksUsable(bounds []int64) bool {
	for _, b := range bounds {
		if b%int64(time.Second) != 0 && b != math.MinInt64 && b != math.MaxInt64 {
			return false
		}
	}
	return len(bounds) >= 2
}

// boundSecs are bounds in Unix seconds (blocksUsable), the ends of time
// beyond any record's second.
func boundSecs(bounds []int64) []int64 {
	out := make([]int64, len(bounds))
	for i, b := range bounds {
		switch b {
		case math.MinInt64:
			out[i] = math.MinInt64 / 2
		case math.MaxInt64:
			out[i] = math.MaxInt64 / 2
		default:
			out[i] = b / int64(time.Second)
		}
	}
	return out
}

// blockCursor walks one column's blocks of the days asked, in (day, seg)
// order.
type blockCursor interface {
	// next moves to the next block: false after the last.
	next() (bool, error)
	// row is the current block; data is valid until next.
	row() (day, seg int64, n int, data []byte)
	close()
}

// bufCursor is a blockCursor that reads a block into a buffer it is
// given, which row's data then is: the buffer stays the caller's.
type bufCursor interface {
	readInto(buf []byte)
}

// blockColumnSQL reads a column's blocks of a tenant's days: tenant, col,
// first day, last day.
const blockColumnSQL = "SELECT day, seg, n, data" + blockColumnFrom

// blockColumnFrom is where blockColumnSQL and blockRowsSQL read.
const blockColumnFrom = " FROM blocks WHERE tenant = ? AND col = ? AND day BETWEEN ? AND ? ORDER BY day, seg"

// sqlCursor reads blocks through database/sql.
type sqlCursor struct {
	rows     *sql.Rows
	day, seg int64
	n        int
	data     sql.RawBytes
}

func (c *sqlCursor) next() (bool, error) {
	if !c.rows.Next() {
		return false, c.rows.Err()
	}
	return true, c.rows.Scan(&c.day, &c.seg, &c.n, &c.data)
}
func (c *sqlCursor) row() (int64, int64, int, []byte) { return c.day, c.seg, c.n, c.data }
func (c *sqlCursor) close()                           { c.rows.Close() }

// rawCursor reads blocks straight from SQLite, the bytes where SQLite
// holds them.
// A column read by a statement is copied by SQLite into memory it
// allocates for the row (fresh pages, for blocks this large): rawCursor
// reads each block's bytes with the blob API into a buffer of its own.
type rawCursor struct {
	conn rawsqlite.Conn
	s    *rawsqlite.Stmt // blockRowsSQL
	blob *rawsqlite.Blob
	buf  []byte
}

// blockRowsSQL is blockColumnSQL with the row's rowid for its data.
const blockRowsSQL = "SELECT day, seg, n, rowid" + blockColumnFrom

func (c *rawCursor) next() (bool, error) {
	ok, err := c.s.Step()
	if !ok || err != nil {
		return ok, err
	}
	rowid := c.s.ColumnInt64(3)
	if c.blob == nil {
		c.blob, err = c.conn.OpenBlob("blocks", "data", rowid)
	} else {
		err = c.blob.Reopen(rowid)
	}
	if err != nil {
		return false, err
	}
	n := c.blob.Len()
	if cap(c.buf) < n {
		c.buf = make([]byte, n, n+n/4)
	}
	c.buf = c.buf[:n]
	return true, c.blob.Read(c.buf)
}

func (c *rawCursor) row() (int64, int64, int, []byte) {
	return c.s.ColumnInt64(0), c.s.ColumnInt64(1), int(c.s.ColumnInt64(2)), c.buf
}

// readInto has the next block read into buf (grown when short).
func (c *rawCursor) readInto(buf []byte) { c.buf = buf }

func (c *rawCursor) close() {
	c.blob.Close()
	c.s.Close()
}

// blockReader opens a cursor over a column's blocks of days first…last.
type blockReader func(col int, first, last int64) (blockCursor, error)

// readBlocksOf reads a tenant's blocks of days first…last (Unix seconds)
// through the connection of a read transaction: straight from SQLite when
// the driver allows, else through database/sql.
func readBlocksOf(ctx context.Context, conn *sql.Conn, tx *sql.Tx, tid, first, last int64, cols []int, pre *blockPrefilter,
	fn func(day int64, n int, c *[numCols][]int64) error) error {
	viaSQL := func(col int, first, last int64) (blockCursor, error) {
		rows, err := tx.QueryContext(ctx, blockColumnSQL, tid, col, first, last)
		if err != nil {
			return nil, err
		}
		return &sqlCursor{rows: rows}, nil
	}
	if conn == nil {
		return readBlocks(ctx, viaSQL, first, last, cols, pre, fn)
	}
	raw := false
	err := conn.Raw(func(dc any) error {
		rc, err := rawsqlite.Of(dc)
		if err != nil {
			return nil // database/sql it is
		}
		raw = true
		// A pass reads each page once: a page cache of a few pages keeps
		// SQLite from allocating one for every page read (and freeing them
		// all when the connection closes), a third of the pass's time.
		if err := pragma(rc, fmt.Sprintf("PRAGMA cache_size = -%d", passCacheKiB)); err != nil {
			return err
		}
		defer pragma(rc, fmt.Sprintf("PRAGMA cache_size = -%d", pageCacheKiB)) //nolint:errcheck // a larger cache only
		return readBlocks(ctx, func(col int, first, last int64) (blockCursor, error) {
			s, err := rc.Prepare(blockRowsSQL)
			if err != nil {
				return nil, err
			}
			err = s.Bind(func() error {
				for i, v := range [...]int64{tid, int64(col), first, last} {
					if err := s.Int64(i+1, v); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				s.Close()
				return nil, err
			}
			return &rawCursor{conn: rc, s: s}, nil
		}, first, last, cols, pre, fn)
	})
	if err != nil || raw {
		return err
	}
	return readBlocks(ctx, viaSQL, first, last, cols, pre, fn)
}

// passCacheKiB is the page cache of a pass over blocks.
const passCacheKiB = 512

// pragma runs a statement that returns no row on a raw connection.
func pragma(rc rawsqlite.Conn, q string) error {
	s, err := rc.Prepare(q)
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.Exec()
	return err
}

// blockPrefilter says which records of a block any query wants, from its
// columns cols (decoded first): those at the indexes sel appends to dst.
type blockPrefilter struct {
	cols []int
	sel  func(c *[numCols][]int64, n int, dst []int32) []int32
}

// readBlocks hands fn each block of days first…last with the columns asked
// for decoded (the others nil), in order; with pre, only the records it
// picks, when they are few (fn sees a block of those, in order). Reading
// and decoding go on while fn counts the block before: fn runs on a
// goroutine of its own.
func readBlocks(ctx context.Context, open blockReader, first, last int64, cols []int, pre *blockPrefilter,
	fn func(day int64, n int, c *[numCols][]int64) error) error {
	type cursor struct {
		col int
		cur blockCursor
	}
	var curs []cursor
	defer func() {
		for _, c := range curs {
			c.cur.close()
		}
	}()
	for _, col := range cols {
		cur, err := open(col, first, last)
		if err != nil {
			return err
		}
		curs = append(curs, cursor{col, cur})
	}
	if len(curs) == 0 {
		return nil
	}
	// Blocks read, then decoded a chunk of records at a time (in the
	// processor's cache when counted), on their way to fn; their buffers
	// come back free. Three goroutines: SQLite reads, decoding, counting.
	type block struct {
		day int64
		n   int
		raw [numCols][]byte // the columns read (the others nil)
	}
	const blocksAhead, chunksAhead = 2, 4
	read, rawFree := make(chan *block, blocksAhead), make(chan *block, blocksAhead)
	for range blocksAhead {
		rawFree <- &block{}
	}
	work, chunkFree := make(chan *chunk, chunksAhead), make(chan *chunk, chunksAhead)
	for range chunksAhead {
		chunkFree <- &chunk{}
	}
	quit := make(chan struct{}) // a stage failed: the others stop
	var stop sync.Once
	halt := func() { stop.Do(func() { close(quit) }) }
	decoded, counted := make(chan error, 1), make(chan error, 1)
	go func() {
		defer close(work)
		var err error
		for b := range read {
			if err == nil {
				err = decodeChunks(b.day, b.n, &b.raw, pre, chunkFree, work, quit)
				if err != nil {
					halt()
				}
			}
			rawFree <- b
		}
		decoded <- err
	}()
	go func() {
		var err error
		for ch := range work {
			if err == nil {
				if err = fn(ch.day, ch.n, &ch.col); err != nil {
					halt()
				}
			}
			chunkFree <- ch
		}
		counted <- err
	}()
	readAll := func() error {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			var b *block
			select {
			case b = <-rawFree:
			case <-quit:
				return nil
			}
			var seg int64
			for i, c := range curs { // the columns not asked stay nil
				bc, into := c.cur.(bufCursor)
				if into {
					bc.readInto(b.raw[c.col])
				}
				ok, err := c.cur.next()
				if err != nil {
					return err
				}
				if !ok {
					if i != 0 {
						return fmt.Errorf("%w: column blocks disagree in number", ErrCorrupted)
					}
					return nil
				}
				d, s, m, data := c.cur.row()
				if i == 0 {
					b.day, seg, b.n = d, s, m
				} else if d != b.day || s != seg || m != b.n {
					return fmt.Errorf("%w: column blocks disagree", ErrCorrupted)
				}
				if into {
					b.raw[c.col] = data
				} else {
					b.raw[c.col] = append(b.raw[c.col][:0], data...)
				}
			}
			read <- b
		}
	}
	rerr := readAll()
	close(read)
	derr, ferr := <-decoded, <-counted
	return cmp.Or(rerr, derr, ferr)
}

// chunkRows is how many records of a block are decoded at a time (a
// multiple of 64: a sparse column's bitmap word; a variable for the tests).
var chunkRows = 4096

// chunk is records of a block, decoded: the columns read (the others nil).
type chunk struct {
	day int64
	n   int
	col [numCols][]int64
	sel []int32
}

// decodeChunks decodes a block's columns read (raw) of n records a chunk
// at a time, each into a chunk taken from free and sent to work. With
// pre, its columns first, and the records it picks: a chunk of none is not
// sent; of fewer than half, only those are decoded of the other columns
// and sent (in order).
func decodeChunks(day int64, n int, raw *[numCols][]byte, pre *blockPrefilter, free chan *chunk, work chan<- *chunk, quit <-chan struct{}) error {
	var curs [numCols]*colCursor
	for c, b := range raw {
		if b != nil {
			cur, err := newColCursor(b, n)
			if err != nil {
				return err
			}
			curs[c] = &cur
		}
	}
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(n, lo+chunkRows)
		var ch *chunk
		select {
		case ch = <-free:
		case <-quit:
			return nil
		}
		ch.day, ch.n = day, hi-lo
		var done [numCols]bool
		var at []int32
		if pre != nil {
			for _, c := range pre.cols {
				ch.col[c], done[c] = curs[c].span(lo, hi, ch.col[c]), true
			}
			ch.sel = pre.sel(&ch.col, ch.n, ch.sel[:0])
			if 2*len(ch.sel) < ch.n {
				at = ch.sel
				for _, c := range pre.cols {
					v := ch.col[c]
					for j, i := range at {
						v[j] = v[i]
					}
					ch.col[c] = v[:len(at)]
				}
				ch.n = len(at)
			}
		}
		for c, cur := range curs {
			switch {
			case cur == nil || done[c]:
			case ch.n == 0:
				cur.skip(lo, hi)
			case at != nil:
				ch.col[c] = cur.pick(lo, hi, at, ch.col[c])
			default:
				ch.col[c] = cur.span(lo, hi, ch.col[c])
			}
		}
		if ch.n == 0 {
			free <- ch // back (free holds them all: no wait)
			continue
		}
		work <- ch
	}
	return nil
}

// checkBlocks checks that each tenant's column blocks hold as many records
// as it has, with their cost and tokens.
func (c *Cache) checkBlocks(ctx context.Context) error {
	rows, err := c.db.QueryContext(ctx, "SELECT tenant, count(*), sum(cost), sum(prompt), sum(completion) FROM records GROUP BY tenant")
	if err != nil {
		return c.wrap(err)
	}
	want := map[int64][4]int64{}
	for rows.Next() {
		var tid int64
		var v [4]int64
		if err := rows.Scan(&tid, &v[0], &v[1], &v[2], &v[3]); err != nil {
			rows.Close()
			return c.wrap(err)
		}
		want[tid] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c.wrap(err)
	}
	got := map[int64][4]int64{}
	rows, err = c.db.QueryContext(ctx, "SELECT tenant, col, n, data FROM blocks WHERE col IN (?, ?, ?)", colCost, colPrompt, colCompletion)
	if err != nil {
		return c.wrap(err)
	}
	defer rows.Close()
	var vals []int64
	for rows.Next() {
		var tid int64
		var col, n int
		var data sql.RawBytes
		if err := rows.Scan(&tid, &col, &n, &data); err != nil {
			return c.wrap(err)
		}
		if vals, err = decodeCol(data, n, vals); err != nil {
			return c.damaged(err.Error())
		}
		g := got[tid]
		at := 3 // colCompletion
		switch col {
		case colCost:
			at = 1
			g[0] += int64(n)
		case colPrompt:
			at = 2
		}
		for _, v := range vals {
			g[at] += v
		}
		got[tid] = g
	}
	if err := rows.Err(); err != nil {
		return c.wrap(err)
	}
	for tid, w := range want {
		if got[tid] != w {
			return c.damaged("its column blocks disagree with its records")
		}
	}
	for tid := range got {
		if _, ok := want[tid]; !ok {
			return c.damaged("its column blocks hold records it has not")
		}
	}
	return nil
}
