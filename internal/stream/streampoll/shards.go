package streampoll

import "slices"

// shardInfo is what the poller needs of a shard listed by DescribeStream.
type shardInfo struct {
	id, parent string
}

type shardState struct {
	parent            string
	running, finished bool
}

// shardSet tracks the shards of a stream and decides which may be read: a shard is read once, and
// only after its parent is finished or gone from the stream (trimmed).
type shardSet struct {
	shards map[string]*shardState
	order  []string // in the order DescribeStream listed them
}

func newShardSet() *shardSet {
	return &shardSet{shards: map[string]*shardState{}}
}

// update adds newly listed shards and forgets finished ones the stream no longer lists.
func (s *shardSet) update(list []shardInfo) {
	listed := make(map[string]bool, len(list))
	for _, sh := range list {
		listed[sh.id] = true
		if _, ok := s.shards[sh.id]; !ok {
			s.shards[sh.id] = &shardState{parent: sh.parent}
			s.order = append(s.order, sh.id)
		}
	}
	s.order = slices.DeleteFunc(s.order, func(id string) bool {
		if st := s.shards[id]; st.finished && !listed[id] {
			delete(s.shards, id)
			return true
		}
		return false
	})
}

// ready returns the shards to start now.
func (s *shardSet) ready() []string {
	var ids []string
	for _, id := range s.order {
		st := s.shards[id]
		if st.running || st.finished {
			continue
		}
		if parent, ok := s.shards[st.parent]; ok && !parent.finished {
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

func (s *shardSet) start(id string) {
	if st, ok := s.shards[id]; ok {
		st.running = true
	}
}

func (s *shardSet) finish(id string) {
	if st, ok := s.shards[id]; ok {
		st.running, st.finished = false, true
	}
}
