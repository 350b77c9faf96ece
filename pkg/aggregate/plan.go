package aggregate

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scaleout/scaleout/pkg/execution"
	"github.com/scaleout/scaleout/pkg/resources"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Key is one aggregate item of the catalog table.
type Key struct {
	PK, SK string
}

// Kinds of aggregate items.
const (
	kindCounter = iota // counts by status now, durations, all time
	kindBucket         // executions that ended in an hour or a day
)

// keys of the counter items an image counts in (see doc.go for the layout):
// each in a partition of its own, so that the items one batch touches
// never add up on one partition key.
func counterKeys(scope string, im *image) []Key {
	ks := []Key{
		pkgKey(scope, im.ref),
		projectKey(scope, im.ref.Folder, im.ref.Project),
		folderKey(scope, im.ref.Folder),
		allKey(scope),
		poolKey(scope, im.pool),
	}
	if im.worker != "" {
		ks = append(ks, workerKey(scope, im.worker))
	}
	return ks
}

// Keys of the counter items. Folder, project and package names have no '/'
// or '#', so no two of them collide, nor with the pool and worker items
// (STATS#POOL#, STATS#WORKER#: a folder item's partition has no second '#').
func pkgKey(scope string, r Ref) Key {
	return Key{scope + resources.CatalogStatsPrefix + r.Folder + "/" + r.Project + "/" + r.Package, "PKG"}
}

func projectKey(scope, folder, project string) Key {
	return Key{scope + resources.CatalogStatsPrefix + folder + "/" + project, "PROJECT"}
}

func folderKey(scope, folder string) Key {
	return Key{scope + resources.CatalogStatsPrefix + folder, "FOLDER"}
}

func allKey(scope string) Key { return Key{scope + resources.CatalogStats, "ALL"} }

func poolKey(scope, pool string) Key {
	return Key{scope + resources.CatalogStatsPrefix + resources.CatalogStatsPoolInfix + pool, "POOL"}
}

func workerKey(scope, worker string) Key {
	return Key{scope + resources.CatalogStatsPrefix + resources.CatalogStatsWorkerInfix + worker, "WORKER"}
}

const (
	hourLayout = "2006-01-02T15"
	dayLayout  = time.DateOnly
)

// BucketShards is how many partitions the hourly (and the daily) buckets of
// one hour (day) are spread over: a package's bucket goes to partition
// BucketShard(ref). At the load doc.go models (10,000 executions ending a
// second, so up to 10,000 bucket writes a second to the hour's buckets and
// as many to the day's, one per ending execution at most), 32 partitions
// take about 10,000 / 32 ≈ 310 writes a second each when the executions
// spread over many packages: as many as the ALL item takes, and under the
// ~1,000 a second one partition key takes on AWS (in writes; write units
// grow with the item's size, see doc.go). With few
// packages the writes are fewer (a batch writes a package's bucket once):
// a partition gets at most 300 a second per package hashed to it. The
// price is on the read side: the dashboard reads BucketShards partitions
// per hour (in parallel).
const BucketShards = 32

// BucketShard is the partition of the buckets of hour or day that holds
// r's bucket: a stable hash (FNV-1a) of the package ref, modulo
// BucketShards.
func BucketShard(r Ref) int {
	h := fnv.New32a()
	h.Write([]byte(r.String()))
	return int(h.Sum32() % BucketShards)
}

func hourPK(scope string, hour time.Time, shard int) string {
	return fmt.Sprintf("%s%s%s#%02d", scope, resources.CatalogHourPrefix, hour.UTC().Format(hourLayout), shard)
}

func hourKey(scope string, t time.Time, r Ref) Key {
	return Key{hourPK(scope, t, BucketShard(r)), resources.CatalogBucketPkgPrefix + r.String()}
}

func dayPK(scope string, day time.Time, shard int) string {
	return fmt.Sprintf("%s%s%s#%02d", scope, resources.CatalogDayPrefix, day.UTC().Format(dayLayout), shard)
}

func dayKey(scope string, t time.Time, r Ref) Key {
	return Key{dayPK(scope, t, BucketShard(r)), resources.CatalogBucketPkgPrefix + r.String()}
}

// Last names an execution and when it changed.
type Last = scaleouttype.Last

// rankedLast is a Last with its rank, order: the time, then the stream
// sequence number (see lastOrder); an item keeps the greatest it was given.
type rankedLast struct {
	Last
	order string
}

// lastOrder is the rank of a change made at (unix ms) by the record with
// the padded sequence number seq: later times win, and at the same
// millisecond the later record.
func lastOrder(at int64, seq string) string { return fmt.Sprintf("%013d#%s", max(at, 0), seq) }

// contrib is what one record adds to one aggregate item.
type contrib struct {
	index    int
	seq      string // padded
	hour     int64
	counts   Counts
	duration int64 // -1: none
	last     *rankedLast
	lastFail *rankedLast
}

// Update is everything one batch adds to one aggregate item: the unit of
// write, one conditional UpdateItem.
type Update struct {
	Key  Key
	kind int
	// shard tags the stream shard the batch came from (see shardTag).
	shard string
	// First is the index, in the batch, of the first record that touched Key.
	First int
	// attrs name what the item aggregates (folder, project, ...).
	attrs    map[string]string
	expires  int64 // unix s, buckets only
	contribs []contrib
}

// Plan reduces a batch of execution changes, all from the stream shard
// named shard, to one Update per aggregate item, in the order the items are
// first touched. It is plain Go: the fold work of the stream function.
// scope prefixes every partition key ("" in production). retention is how
// long bucket items are kept.
func Plan(scope, shard string, records []events.DynamoDBEventRecord, retention time.Duration) ([]*Update, error) {
	if shard == "" {
		return nil, errNoShard
	}
	p := planner{scope: scope, shard: shardTag(shard), retention: retention, index: map[Key]*Update{}}
	for i, rec := range records {
		ch, err := readChange(i, rec)
		if err != nil {
			return nil, err
		}
		if ch.seq == "" {
			return nil, fmt.Errorf("record %s: no sequence number", rec.EventID)
		}
		if !ch.skip {
			p.add(ch)
		}
	}
	return p.out, nil
}

type planner struct {
	scope     string
	shard     string
	retention time.Duration
	index     map[Key]*Update
	out       []*Update
	// per record scratch: the contribution of the current record per key
	cur map[Key]*contrib
}

func (p *planner) contrib(ch change, k Key, kind int, attrs func() map[string]string) *contrib {
	if c, ok := p.cur[k]; ok {
		return c
	}
	u, ok := p.index[k]
	if !ok {
		u = &Update{Key: k, kind: kind, shard: p.shard, First: ch.index, attrs: attrs()}
		p.index[k] = u
		p.out = append(p.out, u)
	}
	u.contribs = append(u.contribs, contrib{index: ch.index, seq: ch.seq, hour: ch.hour, counts: Counts{}, duration: -1})
	c := &u.contribs[len(u.contribs)-1]
	p.cur[k] = c
	return c
}

func (p *planner) add(ch change) {
	p.cur = map[Key]*contrib{}
	var ends []*contrib // contributions of keys the record touched
	for _, side := range []struct {
		im *image
		n  int64
	}{{ch.old, -1}, {ch.new, 1}} {
		if side.im == nil {
			continue
		}
		im := side.im
		for j, k := range counterKeys(p.scope, im) {
			c := p.contrib(ch, k, kindCounter, func() map[string]string { return counterAttrs(j, im) })
			c.counts[im.status] += side.n
		}
	}
	final := ch.enteredFinal()
	if ch.new != nil {
		im := ch.new
		dur := int64(-1)
		if final && im.startedAt > 0 && im.endedAt >= im.startedAt {
			dur = im.endedAt - im.startedAt
		}
		at := changedAt(im)
		if final {
			for _, k := range counterKeys(p.scope, im) {
				c := p.cur[k]
				c.duration = dur
			}
			ended := time.UnixMilli(at).UTC()
			for _, b := range []struct {
				k    Key
				span time.Duration
			}{{hourKey(p.scope, ended, im.ref), time.Hour}, {dayKey(p.scope, ended, im.ref), 24 * time.Hour}} {
				start := ended.Truncate(b.span)
				c := p.contrib(ch, b.k, kindBucket, func() map[string]string {
					a := refAttrs(im.ref)
					a["bucket_start"] = fmt.Sprint(start.UnixMilli())
					return a
				})
				u := p.index[b.k]
				u.expires = start.Add(b.span + p.retention).Unix()
				c.counts[im.status]++
				c.duration = dur
				ends = append(ends, c)
			}
		}
		// Last execution and last failure of the package.
		pc := p.cur[pkgKey(p.scope, im.ref)]
		if ch.old == nil || ch.old.status != im.status {
			pc.last = &rankedLast{Last{ExecutionID: im.id, Status: im.status, At: time.UnixMilli(at).UTC(), Error: im.err}, lastOrder(at, ch.seq)}
		}
		if final && im.status == execution.Failed {
			f := &rankedLast{Last{ExecutionID: im.id, Status: im.status, At: time.UnixMilli(at).UTC(), Error: im.err}, lastOrder(at, ch.seq)}
			pc.lastFail = f
			for _, c := range ends {
				c.lastFail = f
			}
		}
	}
	// A key whose counts cancel out and that gets nothing else from this
	// record (a worker change seen by the package item, say) needs no write.
	for k, c := range p.cur {
		if c.duration >= 0 || c.last != nil || c.lastFail != nil {
			continue
		}
		zero := true
		for _, n := range c.counts {
			if n != 0 {
				zero = false
			}
		}
		if !zero {
			continue
		}
		u := p.index[k]
		u.contribs = u.contribs[:len(u.contribs)-1]
		if len(u.contribs) == 0 {
			delete(p.index, k)
			for i, o := range p.out {
				if o == u {
					p.out = append(p.out[:i], p.out[i+1:]...)
					break
				}
			}
		}
	}
}

// changedAt is when an execution last changed status, in unix ms.
func changedAt(im *image) int64 {
	switch {
	case im.endedAt > 0:
		return im.endedAt
	case im.startedAt > 0:
		return im.startedAt
	default:
		return im.createdAt
	}
}

func refAttrs(r Ref) map[string]string {
	return map[string]string{"folder": r.Folder, "project": r.Project, "package": r.Package}
}

// counterAttrs names what the j-th key of counterKeys aggregates.
func counterAttrs(j int, im *image) map[string]string {
	switch j {
	case 0:
		return refAttrs(im.ref)
	case 1:
		return map[string]string{"folder": im.ref.Folder, "project": im.ref.Project}
	case 2:
		return map[string]string{"folder": im.ref.Folder}
	case 3:
		return map[string]string{}
	case 4:
		return map[string]string{"pool": im.pool}
	default:
		return map[string]string{"worker_id": im.worker}
	}
}

// merged is an Update's contributions added up, leaving out those already
// applied.
type merged struct {
	counts   Counts
	dur      Durations
	last     *rankedLast
	lastFail *rankedLast
	// seqs are, per hour of the records, the first and the last sequence
	// number merged.
	seqs map[int64][2]string
	n    int
}

// merge adds up the contributions whose sequence number is above the
// item's watermark for their hour (applied; "" or absent: none applied).
func (u *Update) merge(applied map[int64]string) merged {
	m := merged{counts: Counts{}, seqs: map[int64][2]string{}}
	for _, c := range u.contribs {
		if c.seq <= applied[c.hour] {
			continue
		}
		m.n++
		for s, n := range c.counts {
			m.counts[s] += n
		}
		if c.duration >= 0 {
			m.dur.Record(c.duration)
		}
		if c.last != nil && (m.last == nil || c.last.order > m.last.order) {
			m.last = c.last
		}
		if c.lastFail != nil && (m.lastFail == nil || c.lastFail.order > m.lastFail.order) {
			m.lastFail = c.lastFail
		}
		r, ok := m.seqs[c.hour]
		if !ok {
			r[0] = c.seq
		}
		r[1] = c.seq
		m.seqs[c.hour] = r
	}
	return m
}

// PartitionWrites counts the writes one batch's Updates (Plan's output)
// make to each partition key: one UpdateItem per Update, so an item the
// batch touches several times still counts once. A conditional failure's
// second write (see doc.go) is not counted: it is rare once a store is
// warm. A capacity model multiplies a key's count by the batches a second
// that touch it.
func PartitionWrites(updates []*Update) map[string]int {
	out := map[string]int{}
	for _, u := range updates {
		out[u.Key.PK]++
	}
	return out
}
