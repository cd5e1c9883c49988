package worker_test

import "sync"

// sync32 counts calls per key.
type sync32 struct {
	mu sync.Mutex
	m  map[string]int
}

func (s *sync32) inc(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]int{}
	}
	s.m[k]++
}

func (s *sync32) get(k string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k]
}
