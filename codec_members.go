package naq

import "encoding/json"

// members collects a job's args or kwargs while the envelope is scanned, as
// spans of the input, so that the job gets them in exactly sized values: one
// slice for the args, one map for the kwargs, whose keys share the one
// string the job's texts are made in (see wireJob.texts).
type members struct {
	n     int
	first [4]member // the usual few, without an allocation
	more  []member
}

type member struct {
	key []byte // kwargs only; valid while the input is
	val json.RawMessage
}

// reset starts the list again: a repeated member replaces, not merges.
func (m *members) reset() { m.n, m.more = 0, m.more[:0] }

func (m *members) add(key []byte, val json.RawMessage) {
	if m.n < len(m.first) {
		m.first[m.n] = member{key, val}
	} else {
		m.more = append(m.more, member{key, val})
	}
	m.n++
}

func (m *members) at(i int) *member {
	if i < len(m.first) {
		return &m.first[i]
	}
	return &m.more[i-len(m.first)]
}

// args returns the values as a slice (never nil).
func (m *members) args() []json.RawMessage {
	if m.n == 0 {
		return []json.RawMessage{}
	}
	out := make([]json.RawMessage, m.n)
	for i := range out {
		out[i] = m.at(i).val
	}
	return out
}

// kwargs returns the members as a map (never nil), their keys cut from
// text, where they follow each other from offset off on.
func (m *members) kwargs(text string, off int) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, m.n)
	for i := range m.n {
		e := m.at(i)
		out[text[off:off+len(e.key)]] = e.val
		off += len(e.key)
	}
	return out
}

// texts makes the job's id, function and queue name, and its kwargs' keys,
// in one allocation: the string made from a buffer on the stack.
func (w *wireJob) texts() (kwargsAt int, all string) {
	var room [128]byte
	b := append(append(append(room[:0], w.idText...), w.functionText...), w.queueText...)
	kwargsAt = len(b)
	for i := range w.kwargs.n {
		b = append(b, w.kwargs.at(i).key...)
	}
	all = string(b)
	id, fn := len(w.idText), len(w.idText)+len(w.functionText)
	w.JobID.v, w.Function.v, w.QueueName.v = all[:id], all[id:fn], all[fn:kwargsAt]
	return kwargsAt, all
}
