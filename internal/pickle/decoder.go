package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// Opcodes of the plain-data subset (Python's Lib/pickle.py names them).
const (
	opProto         = 0x80
	opFrame         = 0x95
	opStop          = '.'
	opMark          = '('
	opPop           = '0'
	opPopMark       = '1'
	opDup           = '2'
	opNone          = 'N'
	opNewTrue       = 0x88
	opNewFalse      = 0x89
	opBinInt        = 'J'
	opBinInt1       = 'K'
	opBinInt2       = 'M'
	opLong1         = 0x8a
	opLong4         = 0x8b
	opBinFloat      = 'G'
	opShortBinUni   = 0x8c
	opBinUnicode    = 'X'
	opBinUnicode8   = 0x8d
	opShortBinBytes = 'C'
	opBinBytes      = 'B'
	opBinBytes8     = 0x8e
	opEmptyDict     = '}'
	opSetItem       = 's'
	opSetItems      = 'u'
	opEmptyList     = ']'
	opAppend        = 'a'
	opAppends       = 'e'
	opEmptyTuple    = ')'
	opTuple         = 't'
	opTuple1        = 0x85
	opTuple2        = 0x86
	opTuple3        = 0x87
	opMemoize       = 0x94
	opBinPut        = 'q'
	opLongBinPut    = 'r'
	opBinGet        = 'h'
	opLongBinGet    = 'j'
	maxProtocol     = 5
	minProtocol     = 2
)

// list is a Python list while it is built: APPEND changes it in place, and
// the memo may hold it.
type list struct{ items []any }

type decoder struct {
	b     []byte
	i     int
	stack []any
	marks []int
	memo  []any
}

func (d *decoder) errf(format string, a ...any) error {
	return fmt.Errorf("pickle: offset %d: %s: %w", d.i, fmt.Sprintf(format, a...), ErrUnsupported)
}

// take consumes n bytes.
func (d *decoder) take(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.i) {
		return nil, d.errf("cut short")
	}
	b := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return b, nil
}

func (d *decoder) uint(n int) (uint64, error) {
	b, err := d.take(uint64(n))
	if err != nil {
		return 0, err
	}
	var x uint64
	for k := n - 1; k >= 0; k-- {
		x = x<<8 | uint64(b[k])
	}
	return x, nil
}

func (d *decoder) push(v any) { d.stack = append(d.stack, v) }

func (d *decoder) pop() (any, error) {
	if len(d.stack) == 0 || (len(d.marks) > 0 && len(d.stack) <= d.marks[len(d.marks)-1]) {
		return nil, d.errf("stack underflow")
	}
	v := d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	return v, nil
}

// popMark returns the items above the last mark and removes them and it.
func (d *decoder) popMark() ([]any, error) {
	if len(d.marks) == 0 {
		return nil, d.errf("no mark")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	items := append([]any(nil), d.stack[m:]...)
	d.stack = d.stack[:m]
	return items, nil
}

func (d *decoder) top() (any, error) {
	if len(d.stack) == 0 || (len(d.marks) > 0 && len(d.stack) <= d.marks[len(d.marks)-1]) {
		return nil, d.errf("stack underflow")
	}
	return d.stack[len(d.stack)-1], nil
}

func (d *decoder) run() (any, error) {
	for d.i < len(d.b) {
		op := d.b[d.i]
		d.i++
		if op == opStop {
			if len(d.stack) != 1 || len(d.marks) != 0 {
				return nil, d.errf("stop with %d values on the stack", len(d.stack))
			}
			return d.stack[0], nil
		}
		if err := d.step(op); err != nil {
			return nil, err
		}
	}
	return nil, d.errf("no stop opcode")
}

func (d *decoder) step(op byte) error {
	switch op {
	case opProto:
		p, err := d.uint(1)
		if err != nil || p < minProtocol || p > maxProtocol {
			return d.errf("protocol %d", p)
		}
	case opFrame:
		n, err := d.uint(8)
		if err != nil || n > uint64(len(d.b)-d.i) {
			return d.errf("frame longer than the data")
		}
	case opMark:
		d.marks = append(d.marks, len(d.stack))
	case opPop:
		_, err := d.pop()
		return err
	case opPopMark:
		_, err := d.popMark()
		return err
	case opDup:
		v, err := d.top()
		if err != nil {
			return err
		}
		d.push(v)
	case opNone:
		d.push(nil)
	case opNewTrue:
		d.push(true)
	case opNewFalse:
		d.push(false)
	case opBinInt:
		x, err := d.uint(4)
		if err != nil {
			return err
		}
		d.push(int64(int32(uint32(x))))
	case opBinInt1, opBinInt2:
		x, err := d.uint(int(op-opBinInt1)/2 + 1) // K: 1 byte, M: 2
		if err != nil {
			return err
		}
		d.push(int64(x))
	case opLong1, opLong4:
		return d.long(op)
	case opBinFloat:
		b, err := d.take(8)
		if err != nil {
			return err
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(b))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.i -= 8
			return d.errf("float %v, which JSON cannot hold", f)
		}
		d.push(f)
	case opShortBinUni, opBinUnicode, opBinUnicode8, opShortBinBytes, opBinBytes, opBinBytes8:
		return d.text(op)
	case opEmptyDict:
		d.push(map[string]any{})
	case opEmptyList:
		d.push(&list{})
	case opEmptyTuple:
		d.push([]any{})
	case opSetItem, opSetItems, opAppend, opAppends:
		return d.fill(op)
	case opTuple:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		d.push(items)
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		items := make([]any, n)
		for k := n - 1; k >= 0; k-- {
			v, err := d.pop()
			if err != nil {
				return err
			}
			items[k] = v
		}
		d.push(items)
	case opMemoize, opBinPut, opLongBinPut, opBinGet, opLongBinGet:
		return d.memoOp(op)
	default:
		d.i--
		return d.errf("opcode 0x%02x (%q) is not plain data", op, op)
	}
	return nil
}

// long reads a two's-complement little-endian integer; it must fit 64 bits.
func (d *decoder) long(op byte) error {
	size := 1
	if op == opLong4 {
		size = 4
	}
	n, err := d.uint(size)
	if err != nil {
		return err
	}
	b, err := d.take(n)
	if err != nil {
		return err
	}
	if len(b) > 8 {
		return d.errf("integer of %d bytes", len(b))
	}
	var x uint64
	for k := len(b) - 1; k >= 0; k-- {
		x = x<<8 | uint64(b[k])
	}
	if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 { // negative: extend the sign
		x |= ^uint64(0) << (8 * len(b))
	}
	d.push(int64(x))
	return nil
}

// text reads str (UTF-8) and bytes values.
func (d *decoder) text(op byte) error {
	size := 4
	switch op {
	case opShortBinUni, opShortBinBytes:
		size = 1
	case opBinUnicode8, opBinBytes8:
		size = 8
	}
	n, err := d.uint(size)
	if err != nil {
		return err
	}
	b, err := d.take(n)
	if err != nil {
		return err
	}
	switch op {
	case opShortBinBytes, opBinBytes, opBinBytes8:
		d.push(append([]byte(nil), b...))
	default:
		if !utf8.Valid(b) { // a str with lone surrogates
			return d.errf("str that is not UTF-8")
		}
		d.push(string(b))
	}
	return nil
}

// fill runs SETITEM(S) and APPEND(S) on the dict or list below.
func (d *decoder) fill(op byte) error {
	var items []any
	var err error
	if op == opSetItems || op == opAppends {
		items, err = d.popMark()
	} else {
		n := 1
		if op == opSetItem {
			n = 2
		}
		items = make([]any, n)
		for k := n - 1; k >= 0 && err == nil; k-- {
			items[k], err = d.pop()
		}
	}
	if err != nil {
		return err
	}
	target, err := d.top()
	if err != nil {
		return err
	}
	switch t := target.(type) {
	case map[string]any:
		if op != opSetItem && op != opSetItems || len(items)%2 != 0 {
			return d.errf("items for a dict")
		}
		for k := 0; k < len(items); k += 2 {
			key, ok := items[k].(string)
			if !ok {
				return d.errf("dict key of type %T", items[k])
			}
			t[key] = items[k+1]
		}
	case *list:
		if op != opAppend && op != opAppends {
			return d.errf("items for a list")
		}
		t.items = append(t.items, items...)
	default:
		return d.errf("items added to a %T", target)
	}
	return nil
}

func (d *decoder) memoOp(op byte) error {
	switch op {
	case opMemoize, opBinPut, opLongBinPut:
		v, err := d.top()
		if err != nil {
			return err
		}
		idx := uint64(len(d.memo))
		if op != opMemoize {
			if idx, err = d.uint(argSize(op, opBinPut)); err != nil {
				return err
			}
		}
		switch {
		case idx < uint64(len(d.memo)):
			d.memo[idx] = v
		case idx == uint64(len(d.memo)):
			d.memo = append(d.memo, v)
		default: // protocols 2 and 3 number the memo themselves; they count up
			return d.errf("memo index %d out of order", idx)
		}
	default:
		idx, err := d.uint(argSize(op, opBinGet))
		if err != nil {
			return err
		}
		if idx >= uint64(len(d.memo)) {
			return d.errf("memo index %d unknown", idx)
		}
		d.push(d.memo[idx])
	}
	return nil
}

// argSize is the size of a memo opcode's index: one byte for the short
// form, four for the long one.
func argSize(op, short byte) int {
	if op == short {
		return 1
	}
	return 4
}
