package cache

import (
	"hash/maphash"
	"math"
	"math/bits"
	"runtime/debug"
)

// A first import builds its cache without the index of ids, and makes the
// index once, at the end, from the stored records: SQLite sorts ten million
// ids much faster than it inserts them one by one into an index on random
// pages (ids are random: chatcmpl-…, msg_01…, UUIDs). Until then a record
// whose id may have been met (an in-memory Bloom filter says so: a
// duplicate, or about one record in two hundred by chance) is held back,
// and stored after the index is made, as any record is: so each id is
// stored once, the first met, whatever its timestamp. Ids that come in
// order (they grow with time) are appended to an index cheaply: for those
// the index is made as soon as that shows.

// bloom is a Bloom filter of ids.
type bloom struct {
	bits []uint64
	mask uint64
}

// bloomBitsPer is the filter's bits per record expected: about 0.3 % of
// new ids held back.
const bloomBitsPer = 12

// bloomHashes is how many bits an id sets.
const bloomHashes = 6

// newBloom is a filter for about n ids: the power of two of bits at or
// below bloomBitsPer a record, within 8 MiB and 64 MiB.
func newBloom(n int64) *bloom {
	want := uint64(max(n, 1) * bloomBitsPer)
	size := uint64(1) << min(29, max(26, bits.Len64(want)-1))
	allowFor(int64(size / 8))
	return &bloom{bits: make([]uint64, size/64), mask: size - 1}
}

// allowFor raises the Go runtime's soft memory limit, when one is set (an
// import sets one), by n bytes the import holds besides its usual (the
// filter of ids: 8 to 64 MiB): with a limit below what is live, the
// collector would run without end.
func allowFor(n int64) {
	if limit := debug.SetMemoryLimit(-1); limit < math.MaxInt64-n {
		debug.SetMemoryLimit(limit + n)
	}
}

// bloomSeed seeds the filter's hash: a filter lives for one import.
var bloomSeed = maphash.MakeSeed()

func idHashes(id string) (uint64, uint64) {
	a := maphash.String(bloomSeed, id)
	return a, bits.RotateLeft64(a, 32) | 1
}

// seen adds id to the filter and reports whether it may have been added
// before.
func (b *bloom) seen(id string) bool {
	h1, h2 := idHashes(id)
	all := true
	for i := range uint64(bloomHashes) {
		bit := (h1 + i*h2) & b.mask
		w, m := bit/64, uint64(1)<<(bit%64)
		if b.bits[w]&m == 0 {
			all = false
			b.bits[w] |= m
		}
	}
	return all
}

// orderProbe is how many records show whether ids come in order: when
// nearly all of them do, the index is made there and grows as they come.
var orderProbe = 1 << 16

// A large import into a cache that holds records (an import of as many
// again, say) is deferred the same way when its ids come at random
// (deferExisting): the index is then made anew from all the records.

// maxHeld is how many records a deferred import holds back at most: past
// it, the index is made and the rest goes in as into any cache.
var maxHeld = 100_000

// deferMin is the least import that may defer the index of a cache that
// holds records already.
var deferMin int64 = 1_000_000

// worthDeferring reports whether making the index of ids anew (a sort of
// all total records, and a scan of the tenant's ids) costs less than
// inserting expect random ids into it: an insert on a random page of an
// index much larger than the page cache costs about thirty times a sorted
// record (measured at 10 M: 52 µs a record against 1.7 µs).
func worthDeferring(expect, total int64) bool { return expect*16 >= total }
