package pickle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readPickle(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "python", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every protocol from 2 to 5 gives the same plain value, as Python wrote it.
func TestDecodePlainValuesAtEveryProtocol(t *testing.T) {
	want := map[string]any{
		"none": nil, "t": true, "f": false, "small": int64(7), "neg": int64(-3), "i16": int64(40000),
		"i32": int64(-2000000000), "i64": int64(1) << 62, "negbig": -(int64(1) << 40), "float": 1.5, "nan_free": -0.25,
		"text": "Grüße ✓", "long_text": strings.Repeat("x", 300), "bytes": []byte{0, 0xff},
		"list": []any{int64(1), "a", nil}, "tuple": []any{int64(1), 2.5, "b"}, "t1": []any{int64(1)},
		"t2": []any{int64(1), int64(2)}, "empty": []any{}, "et": []any{},
		"nested": map[string]any{"a": []any{map[string]any{"b": []any{}}}},
		"shared": []any{[]any{int64(1), int64(2)}, []any{int64(1), int64(2)}},
	}
	for _, p := range []string{"2", "3", "4", "5"} {
		got, err := DecodeDict(readPickle(t, "plain-p"+p+".pickle"))
		if err != nil {
			t.Fatalf("protocol %s: %v", p, err)
		}
		if p == "2" {
			got["bytes"] = want["bytes"] // protocol 2 cannot hold bytes as plain data
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("protocol %s (-want +got):\n%s", p, diff)
		}
	}
}

// Python naq's worker heartbeat, as its worker writes it.
func TestDecodeWorkerHeartbeat(t *testing.T) {
	got, err := DecodeDict(readPickle(t, "worker-busy-p5.pickle"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"worker_id": "naq-worker-pyhost-4243-d4e5f6", "status": "busy", "timestamp": 1767225601.25,
		"hostname": "pyhost", "pid": int64(4243), "job_id": "0f9e8d7c6b5a49382716051423324150"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Anything beyond plain data is refused, never built: a schedule's enum (a
// global and a call), a set, an integer beyond 64 bits, a key that is not a
// str, a str with a lone surrogate, a list that holds itself, a float JSON
// cannot hold, bytes at protocol 2 (a call to _codecs.encode).
func TestDecodeRefusesWhatIsNotPlainData(t *testing.T) {
	for _, name := range []string{"schedule-p4.pickle", "refuse-object.pickle", "refuse-set.pickle", "refuse-bigint.pickle",
		"refuse-intkey.pickle", "refuse-surrogate.pickle", "refuse-recursive.pickle", "refuse-nan.pickle", "refuse-bytes-p2.pickle"} {
		_, err := Decode(readPickle(t, name))
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
	if _, err := Decode(readPickle(t, "refuse-protocol0.pickle")); !errors.Is(err, ErrNotPickle) {
		t.Errorf("protocol 0: err = %v, want ErrNotPickle", err)
	}
	for _, b := range [][]byte{nil, []byte(`{"a":1}`), {0x80}, {0x80, 6, '.'}} {
		if _, err := Decode(b); !errors.Is(err, ErrNotPickle) {
			t.Errorf("%q: err = %v, want ErrNotPickle", b, err)
		}
	}
}

// Cut-short and inconsistent pickles are errors, not panics or partial values.
func TestDecodeRefusesBrokenPickles(t *testing.T) {
	whole := readPickle(t, "worker-idle-p4.pickle")
	for n := 2; n < len(whole); n++ {
		if _, err := Decode(whole[:n]); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("cut at %d: err = %v, want ErrUnsupported", n, err)
		}
	}
	for _, b := range [][]byte{
		{0x80, 4, 'h', 0, '.'},                             // memo read before any write
		{0x80, 4, 's', '.'},                                // setitem on an empty stack
		{0x80, 4, ']', 'K', 1, 's', '.'},                   // setitem on a list
		{0x80, 4, 'N', 'N', '.'},                           // two values left at stop
		{0x80, 4, '(', 'N', '.'},                           // a mark left at stop
		{0x80, 4, '(', '0', 'N', '.'},                      // pop below the mark
		{0x80, 4, 0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, '.'}, // 72-bit integer
		{0x80, 2, 'q', 5, '.'},                             // put on an empty stack
		{0x80, 2, 'N', 'q', 5, '.'},                        // memo index out of order
	} {
		if _, err := Decode(b); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%q: err = %v, want ErrUnsupported", b, err)
		}
	}
}

// A few bytes that refer to one list many times over are refused, not
// expanded without bound.
func TestDecodeRefusesExponentialSharing(t *testing.T) {
	b := []byte{0x80, 4, ']', 0x94} // memo 0: []
	for i := 0; i < 40; i++ {
		// [memo i, memo i], memoized as i+1
		b = append(b, 'j', byte(i), 0, 0, 0, 'j', byte(i), 0, 0, 0, 0x86, 0x94)
	}
	b = append(b, '.')
	if _, err := Decode(b); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}

// FuzzDecode: never a panic; what decodes is plain data that encoding/json
// can write.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "python", "*.pickle"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrNotPickle) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("decoded %#v, which is not plain data: %v", v, err)
		}
	})
}
