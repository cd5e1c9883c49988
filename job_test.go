package naq_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/naqtest"
)

func raws(vals ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(vals))
	for i, v := range vals {
		out[i] = json.RawMessage(v)
	}
	return out
}

func TestBindKwargsObject(t *testing.T) {
	j := &naq.Job{ID: "j1", Args: raws(), Kwargs: map[string]json.RawMessage{"to": json.RawMessage(`"ana"`), "n": json.RawMessage(`3`)}}
	var v struct {
		To string `json:"to"`
		N  int    `json:"n"`
	}
	if err := j.Bind(&v); err != nil {
		t.Fatal(err)
	}
	if v.To != "ana" || v.N != 3 {
		t.Errorf("Bind = %+v", v)
	}
}

func TestBindNoArgumentsIsEmptyObject(t *testing.T) {
	j := &naq.Job{ID: "j1"}
	var m map[string]any
	if err := j.Bind(&m); err != nil {
		t.Fatal(err)
	}
	if m == nil || len(m) != 0 {
		t.Errorf("Bind with no arguments = %#v, want an empty map", m)
	}
	var s struct{ A int }
	if err := j.Bind(&s); err != nil {
		t.Errorf("Bind into a struct with no arguments: %v", err)
	}
}

func TestBindSinglePositional(t *testing.T) {
	j := &naq.Job{ID: "j1", Args: raws(`{"customer":"c_42","amount_cents":1999}`)}
	var v struct {
		Customer    string `json:"customer"`
		AmountCents int    `json:"amount_cents"`
	}
	if err := j.Bind(&v); err != nil {
		t.Fatal(err)
	}
	if v.Customer != "c_42" || v.AmountCents != 1999 {
		t.Errorf("Bind = %+v", v)
	}
	var s string
	j.Args = raws(`"hello"`)
	if err := j.Bind(&s); err != nil || s != "hello" {
		t.Errorf("Bind scalar = %q, %v", s, err)
	}
}

func TestBindSeveralPositionalIntoSlice(t *testing.T) {
	j := &naq.Job{ID: "j1", Args: raws(`1`, `2`, `3`)}
	var v []int
	if err := j.Bind(&v); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, []int{1, 2, 3}) {
		t.Errorf("Bind = %v", v)
	}
	var tuple [2]any
	j.Args = raws(`"a"`, `true`)
	if err := j.Bind(&tuple); err != nil || tuple[0] != "a" || tuple[1] != true {
		t.Errorf("Bind into array = %v, %v", tuple, err)
	}
}

// Bind assembles the arguments' object or array itself; what a handler gets
// must be what marshalling Kwargs or Args would give it, whatever the keys.
func TestBindReadsAsMarshalledArguments(t *testing.T) {
	kwargs := map[string]json.RawMessage{
		"plain": json.RawMessage(`1`), "quote\"d": json.RawMessage(`"x"`), "tab\t": json.RawMessage(`[1, 2]`),
		"<b>&": json.RawMessage(`{"a": null}`), "naïve": json.RawMessage(`true`), "": json.RawMessage(`""`),
		"nil": nil, "ctl\u0001": json.RawMessage(` 2.5 `),
	}
	cases := []*naq.Job{
		{ID: "kw", Kwargs: kwargs},
		{ID: "one", Kwargs: map[string]json.RawMessage{"user_id": json.RawMessage(`4821337`)}},
		{ID: "args", Args: append(raws(`1`, `"two"`, `{"three":3}`), nil)},
	}
	for _, j := range cases {
		t.Run(j.ID, func(t *testing.T) {
			var want any
			var m []byte
			var err error
			if len(j.Args) > 0 {
				m, err = json.Marshal(j.Args)
			} else {
				m, err = json.Marshal(j.Kwargs)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(m, &want); err != nil {
				t.Fatal(err)
			}
			var got any
			if err := j.Bind(&got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Bind = %#v, want %#v", got, want)
			}
			var raw json.RawMessage
			if err := j.Bind(&raw); err != nil {
				t.Fatal(err)
			}
			var again json.RawMessage
			if err := j.Bind(&again); err != nil || string(again) != string(raw) {
				t.Errorf("Bind is not stable: %s then %s (%v)", raw, again, err)
			}
		})
	}
	for _, bad := range []*naq.Job{
		{ID: "open", Kwargs: map[string]json.RawMessage{"a": json.RawMessage(`{`)}},
		{ID: "empty", Kwargs: map[string]json.RawMessage{"a": {}}},
		{ID: "two", Args: raws(`1`, `2 3`)},
		{ID: "smuggled", Kwargs: map[string]json.RawMessage{"a": json.RawMessage(`1,"b":2`)}},
	} {
		var v any
		if err := bad.Bind(&v); !errors.Is(err, naq.ErrBind) {
			t.Errorf("job %s: Bind of an invalid value = %v, want ErrBind", bad.ID, err)
		}
	}
}

func TestBindBothKindsIsError(t *testing.T) {
	j := &naq.Job{ID: "j1", Args: raws(`1`), Kwargs: map[string]json.RawMessage{"x": json.RawMessage(`2`)}}
	var v any
	err := j.Bind(&v)
	if !errors.Is(err, naq.ErrBind) {
		t.Fatalf("Bind = %v, want ErrBind", err)
	}
	if !strings.Contains(err.Error(), "j1") {
		t.Errorf("error %q does not name the job", err)
	}
}

func TestBindTypeMismatchIsErrBind(t *testing.T) {
	j := &naq.Job{ID: "j1", Args: raws(`"not a number"`)}
	var n int
	if err := j.Bind(&n); !errors.Is(err, naq.ErrBind) {
		t.Errorf("Bind = %v, want ErrBind", err)
	}
}

func TestNewJobArgs(t *testing.T) {
	type payload struct {
		To      string `json:"to"`
		Retries int    `json:"retries"`
	}
	tests := []struct {
		name       string
		args       any
		wantArgs   string
		wantKwargs string
	}{
		{"nil", nil, `[]`, `{}`},
		{"Args", naq.Args{1, "two", []int{3}}, `[1,"two",[3]]`, `{}`},
		{"empty Args", naq.Args{}, `[]`, `{}`},
		{"Kwargs", naq.Kwargs{"to": "ana", "n": 2}, `[]`, `{"to":"ana","n":2}`},
		{"struct", payload{To: "ana", Retries: 2}, `[]`, `{"to":"ana","retries":2}`},
		{"struct pointer", &payload{To: "bo"}, `[]`, `{"to":"bo","retries":0}`},
		{"map", map[string]int{"a": 1}, `[]`, `{"a":1}`},
		{"int", 42, `[42]`, `{}`},
		{"string", "hello", `["hello"]`, `{}`},
		{"slice", []int{1, 2}, `[[1,2]]`, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := naq.NewJob("tasks:x", tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if j.Args == nil || j.Kwargs == nil {
				t.Fatalf("Args %v / Kwargs %v must not be nil", j.Args, j.Kwargs)
			}
			if got := mustJSON(t, j.Args); !jsonEqual(t, got, []byte(tt.wantArgs)) {
				t.Errorf("Args = %s, want %s", got, tt.wantArgs)
			}
			if got := mustJSON(t, j.Kwargs); !jsonEqual(t, got, []byte(tt.wantKwargs)) {
				t.Errorf("Kwargs = %s, want %s", got, tt.wantKwargs)
			}
		})
	}
}

func TestNewJobStructRoundTripsThroughBind(t *testing.T) {
	type payload struct {
		To   string   `json:"to"`
		Tags []string `json:"tags"`
	}
	in := payload{To: "ana", Tags: []string{"a", "b"}}
	j, err := naq.NewJob("mail:send", in)
	if err != nil {
		t.Fatal(err)
	}
	var out payload
	if err := j.Bind(&out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("Bind (-want +got):\n%s", diff)
	}
}

func TestNewJobDefaults(t *testing.T) {
	j, err := naq.NewJob("tasks:x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.ID) != 32 || strings.Trim(j.ID, "0123456789abcdef") != "" {
		t.Errorf("ID = %q, want 32 lower-case hex digits", j.ID)
	}
	if j.RetryStrategy != naq.Linear || !reflect.DeepEqual(j.RetryDelay, []time.Duration{0}) || j.MaxRetries != 0 {
		t.Errorf("retry defaults = %v %v %d", j.RetryStrategy, j.RetryDelay, j.MaxRetries)
	}
	if j.EnqueuedAt.IsZero() {
		t.Error("EnqueuedAt is zero")
	}
	j2, _ := naq.NewJob("tasks:x", nil)
	if j.ID == j2.ID {
		t.Errorf("two jobs share id %s", j.ID)
	}
}

func TestNewJobIDsSortByCreation(t *testing.T) {
	ids := make([]string, 2000)
	for i := range ids {
		j, err := naq.NewJob("tasks:x", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = j.ID
		if i%500 == 0 {
			time.Sleep(2 * time.Millisecond) // across milliseconds, not only within one
		}
	}
	if !slices.IsSorted(ids) {
		t.Error("ids are not in creation order")
	}
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Error("an id repeats")
	}
}

func TestNewJobInvalidArgs(t *testing.T) {
	for name, args := range map[string]any{
		"channel":          make(chan int),
		"Args with Inf":    naq.Args{1, math.Inf(1)},
		"Args with NaN":    naq.Args{math.NaN()},
		"Kwargs with fn":   naq.Kwargs{"f": func() {}},
		"map with NaN":     map[string]any{"x": math.NaN()},
		"struct with chan": struct{ C chan int }{make(chan int)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := naq.NewJob("tasks:x", args)
			if !errors.Is(err, naq.ErrInvalidArgs) {
				t.Errorf("NewJob = %v, want ErrInvalidArgs", err)
			}
		})
	}
}

func TestNewJobOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  naq.EnqueueOption
		want error
	}{
		{"negative retries", naq.MaxRetries(-1), naq.ErrInvalidJob},
		{"bad strategy", naq.WithRetryStrategy("fibonacci"), naq.ErrInvalidJob},
		{"negative retry delay", naq.RetryDelay(time.Second, -time.Second), naq.ErrInvalidJob},
		{"negative timeout", naq.Timeout(-time.Second), naq.ErrInvalidJob},
		{"result TTL below 1s", naq.ResultTTL(999 * time.Millisecond), naq.ErrInvalidJob},
		{"result TTL zero", naq.ResultTTL(0), naq.ErrInvalidJob},
		{"empty job id", naq.JobID(""), naq.ErrInvalidJob},
		{"job id with dot", naq.JobID("a.b"), naq.ErrInvalidJob},
		{"job id with space", naq.JobID("a b"), naq.ErrInvalidJob},
		{"job id with wildcard", naq.JobID("a*"), naq.ErrInvalidJob},
		{"job id too long", naq.JobID(strings.Repeat("a", 201)), naq.ErrInvalidJob},
		{"bad dependency id", naq.DependsOn("ok", "not ok"), naq.ErrInvalidJob},
		{"queue with dot", naq.Queue("a.b"), naq.ErrInvalidQueue},
		{"queue with star", naq.Queue("a*"), naq.ErrInvalidQueue},
		{"queue star", naq.Queue("*"), naq.ErrInvalidQueue},
		{"queue with gt", naq.Queue("a>"), naq.ErrInvalidQueue},
		{"queue gt", naq.Queue(">"), naq.ErrInvalidQueue},
		{"queue with space", naq.Queue("a b"), naq.ErrInvalidQueue},
		{"queue with tab", naq.Queue("a\tb"), naq.ErrInvalidQueue},
		{"empty queue", naq.Queue(""), naq.ErrInvalidQueue},
		{"queue too long", naq.Queue(strings.Repeat("q", 129)), naq.ErrInvalidQueue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := naq.NewJob("tasks:x", nil, tt.opt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewJob = %v, want %v", err, tt.want)
			}
			if j != nil {
				t.Errorf("NewJob returned a job with its error")
			}
		})
	}
}

func TestNewJobValidOptions(t *testing.T) {
	j, err := naq.NewJob("tasks:x", nil,
		naq.Queue("A-z_09"), naq.JobID("id-1_a="), naq.MaxRetries(0), naq.WithRetryStrategy("EXPONENTIAL"),
		naq.ResultTTL(time.Second), naq.Timeout(0), naq.DependsOn("a"), naq.DependsOn("b"), naq.RetryDelay())
	if err != nil {
		t.Fatal(err)
	}
	if j.Queue != "A-z_09" || j.ID != "id-1_a=" || j.RetryStrategy != naq.Exponential || j.ResultTTL != time.Second {
		t.Errorf("job = %+v", j)
	}
	if !reflect.DeepEqual(j.DependsOn, []string{"a", "b"}) {
		t.Errorf("DependsOn = %v, want both calls' ids", j.DependsOn)
	}
	if !reflect.DeepEqual(j.RetryDelay, []time.Duration{0}) {
		t.Errorf("RetryDelay() = %v, want [0]", j.RetryDelay)
	}
}

func TestNewJobReportsEveryBadOption(t *testing.T) {
	_, err := naq.NewJob("tasks:x", nil, naq.MaxRetries(-1), naq.Queue("a.b"))
	if !errors.Is(err, naq.ErrInvalidJob) || !errors.Is(err, naq.ErrInvalidQueue) {
		t.Errorf("NewJob = %v, want both ErrInvalidJob and ErrInvalidQueue", err)
	}
}

func TestNewJobEmptyName(t *testing.T) {
	if _, err := naq.NewJob("", nil); !errors.Is(err, naq.ErrInvalidJob) {
		t.Errorf("NewJob(\"\") = %v, want ErrInvalidJob", err)
	}
}

func TestRetryDelayFor(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		delay    []time.Duration
		strategy naq.RetryStrategy
		want     []time.Duration // for n = 0, 1, 2, ...
	}{
		{"none", nil, naq.Linear, []time.Duration{0, 0}},
		{"zero", []time.Duration{0}, naq.Exponential, []time.Duration{0, 0, 0}},
		{"linear", []time.Duration{2 * s}, naq.Linear, []time.Duration{2 * s, 2 * s, 2 * s, 2 * s}},
		{"empty strategy is linear", []time.Duration{3 * s}, "", []time.Duration{3 * s, 3 * s}},
		{"exponential", []time.Duration{2 * s}, naq.Exponential, []time.Duration{2 * s, 4 * s, 8 * s, 16 * s, 32 * s}},
		{"exponential ms", []time.Duration{250 * time.Millisecond}, naq.Exponential, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, s}},
		{"sequence", []time.Duration{s, 5 * s, 30 * s}, naq.Linear, []time.Duration{s, 5 * s, 30 * s, 30 * s, 30 * s}},
		{"sequence ignores exponential", []time.Duration{s, 5 * s}, naq.Exponential, []time.Duration{s, 5 * s, 5 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &naq.Job{RetryDelay: tt.delay, RetryStrategy: tt.strategy}
			for n, want := range tt.want {
				if got := j.RetryDelayFor(n); got != want {
					t.Errorf("RetryDelayFor(%d) = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestRetryDelayForEdges(t *testing.T) {
	j := &naq.Job{RetryDelay: []time.Duration{time.Second}, RetryStrategy: naq.Exponential}
	if got := j.RetryDelayFor(-3); got != time.Second {
		t.Errorf("RetryDelayFor(-3) = %v, want the first delay", got)
	}
	if got := j.RetryDelayFor(200); got != time.Duration(math.MaxInt64) {
		t.Errorf("RetryDelayFor(200) = %v, want saturation at the max duration", got)
	}
	if got := j.RetryDelayFor(62); got <= 0 {
		t.Errorf("RetryDelayFor(62) = %v, must not overflow", got)
	}
	seq := &naq.Job{RetryDelay: []time.Duration{time.Second, 2 * time.Second}}
	if got := seq.RetryDelayFor(-1); got != time.Second {
		t.Errorf("sequence RetryDelayFor(-1) = %v", got)
	}
}

func TestParseRetryStrategy(t *testing.T) {
	for in, want := range map[string]naq.RetryStrategy{"linear": naq.Linear, "Linear": naq.Linear, "EXPONENTIAL": naq.Exponential} {
		if got, err := naq.ParseRetryStrategy(in); err != nil || got != want {
			t.Errorf("ParseRetryStrategy(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "fixed", "exp"} {
		if _, err := naq.ParseRetryStrategy(in); err == nil {
			t.Errorf("ParseRetryStrategy(%q) accepted", in)
		}
	}
}

func TestJobContext(t *testing.T) {
	j := &naq.Job{ID: "x"}
	ctx := naqtest.JobContext(t.Context(), j)
	if naq.JobFromContext(ctx) != j {
		t.Error("JobFromContext did not return the job")
	}
	if naq.JobFromContext(t.Context()) != nil {
		t.Error("JobFromContext of a bare context is not nil")
	}
}

// A map's values are encoded one by one (common scalars by hand); the keyword
// arguments must be those of marshalling the whole map.
func TestNewJobMapKwargsMatchMarshal(t *testing.T) {
	args := map[string]any{"user_id": 4821337, "html": "<a&b>", "list": []int{1, 2}, "nested": map[string]any{"k": nil}, "é": 1.5,
		"nil": nil, "s": "plain text", "quote": `say "hi"\n`, "utf8": "héllo ✓", "t": true, "f": false,
		"i64": int64(math.MaxInt64), "i32": int32(-7), "u": uint(7), "u64": uint64(math.MaxUint64), "u32": uint32(9),
		"zero": 0.0, "negzero": math.Copysign(0, -1), "small": 1e-6, "tiny": 1e-7, "big": 1e20, "huge": 1e21,
		"neg": -0.1, "f32": float32(1.5)}
	j, err := naq.NewJob("tasks:x", args)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := json.Marshal(args)
	var want map[string]json.RawMessage
	if err := json.Unmarshal(whole, &want); err != nil {
		t.Fatal(err)
	}
	if len(j.Kwargs) != len(want) {
		t.Fatalf("kwargs %v, want %v", j.Kwargs, want)
	}
	for k, v := range want {
		if string(j.Kwargs[k]) != string(v) {
			t.Errorf("kwargs[%q] = %s, want %s", k, j.Kwargs[k], v)
		}
	}
	if len(j.Args) != 0 {
		t.Errorf("args %v, want none", j.Args)
	}
	if _, err := naq.NewJob("f", map[string]any{"nan": math.NaN()}); !errors.Is(err, naq.ErrInvalidArgs) {
		t.Errorf("NaN: %v, want ErrInvalidArgs", err)
	}
}

// A nil argument is JSON null on the wire, as encoding/json writes a nil
// RawMessage; an empty one is an error.
func TestEncodeNilAndEmptyArguments(t *testing.T) {
	j := &naq.Job{ID: "j1", Name: "f", Args: []json.RawMessage{nil}, Kwargs: map[string]json.RawMessage{"k": nil}}
	data, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := naq.DecodeJob(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Args) != 1 || string(back.Args[0]) != "null" || string(back.Kwargs["k"]) != "null" {
		t.Errorf("decoded args %q kwargs %q, want null for both", back.Args, back.Kwargs)
	}
	j.Kwargs["k"] = json.RawMessage{}
	if _, err := j.Encode(); err == nil || !strings.Contains(err.Error(), `keyword argument "k"`) {
		t.Errorf("Encode with an empty value = %v, want an error naming the argument", err)
	}
}

type spacedMarshaler struct{}

func (spacedMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(` { "in" : [ 1 , "}" ] , "x\"" : { } } `), nil
}

// A value that marshals to an object is split into keyword arguments in
// place: each must be what decoding its marshalled form gives, whatever the
// keys and values hold.
func TestNewJobObjectKwargsMatchMarshal(t *testing.T) {
	type inner struct {
		S string         `json:"s"`
		L []any          `json:"l"`
		M map[string]int `json:"m"`
	}
	type tricky struct {
		HTML    string          `json:"a<b&c>"`
		Quote   string          `json:"q&k"`
		Uni     string          `json:"é✓"`
		In      inner           `json:"in"`
		Raw     json.RawMessage `json:"raw"`
		Spaced  spacedMarshaler `json:"spaced"`
		Empty   struct{}        `json:"empty"`
		Nil     *inner          `json:"nil"`
		Num     float64         `json:"num"`
		Omitted string          `json:"omitted,omitempty"`
	}
	cases := map[string]any{
		"tricky": tricky{
			HTML: `}{"],[`, Quote: `say "hi" \ ok`, Uni: "héllo",
			In:  inner{S: `a,"b":}`, L: []any{[]any{}, map[string]any{"}": "{"}, `\"`, nil}, M: map[string]int{"z": 1, "a": 2}},
			Raw: json.RawMessage(` [ {"k" : "v"} ] `), Num: -1.5e-9,
		},
		"empty struct":   struct{}{},
		"raw object":     json.RawMessage(`{"a":{"b":[1,2,{"c":"}"}]},"d":"x"}`),
		"map of structs": map[string]inner{"k": {S: "v"}},
		"marshaler":      spacedMarshaler{},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			j, err := naq.NewJob("tasks:x", v)
			if err != nil {
				t.Fatal(err)
			}
			whole, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]json.RawMessage
			if err := json.Unmarshal(whole, &want); err != nil {
				t.Fatal(err)
			}
			if len(j.Args) != 0 || len(j.Kwargs) != len(want) {
				t.Fatalf("args %s kwargs %s, want none and %s", j.Args, j.Kwargs, whole)
			}
			for k, v := range want {
				if string(j.Kwargs[k]) != string(v) {
					t.Errorf("kwargs[%q] = %s, want %s", k, j.Kwargs[k], v)
				}
			}
			// Appending to one value must leave the others and the keys whole.
			for k := range j.Kwargs {
				_ = append(j.Kwargs[k], `xxxxxxxx"}`...)
			}
			for k, v := range want {
				if string(j.Kwargs[k]) != string(v) {
					t.Errorf("after appending to the values, kwargs[%q] = %s, want %s", k, j.Kwargs[k], v)
				}
			}
		})
	}
}

// Positional arguments are encoded as encoding/json encodes each one.
func TestNewJobArgsMatchMarshal(t *testing.T) {
	args := naq.Args{4821337, "ana", "<a&b>", `q"`, "héllo", 1.5, 1e21, math.Copysign(0, -1), nil, true, int64(-7), uint64(math.MaxUint64),
		[]int{1}, map[string]any{"k": "v"}, struct{ A int }{1}, float32(0.1)}
	j, err := naq.NewJob("tasks:x", args)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Args) != len(args) || len(j.Kwargs) != 0 {
		t.Fatalf("args %s kwargs %s", j.Args, j.Kwargs)
	}
	for i, v := range args {
		want, _ := json.Marshal(v)
		if string(j.Args[i]) != string(want) {
			t.Errorf("args[%d] = %s, want %s", i, j.Args[i], want)
		}
		_ = append(j.Args[i], "0000"...) // must not reach the next value
	}
	for i, v := range args {
		if want, _ := json.Marshal(v); string(j.Args[i]) != string(want) {
			t.Errorf("after appending to the values, args[%d] = %s, want %s", i, j.Args[i], want)
		}
	}
}

// Each kind of arguments binds back into what was given, from the job NewJob
// built and from its wire form.
func TestNewJobArgumentsBindBack(t *testing.T) {
	type welcome struct {
		UserID int64    `json:"user_id"`
		To     string   `json:"to"`
		Tags   []string `json:"tags"`
	}
	in := welcome{UserID: 4821337, To: "ana <a&b>", Tags: []string{"x", "y"}}
	cases := []struct {
		name string
		args any
		into func() any
		want any
	}{
		{"struct", in, func() any { return new(welcome) }, &in},
		{"map", map[string]any{"user_id": 4821337, "to": "ana <a&b>", "tags": []string{"x", "y"}}, func() any { return new(welcome) }, &in},
		{"Kwargs", naq.Kwargs{"user_id": int64(4821337), "to": "ana <a&b>", "tags": []string{"x", "y"}}, func() any { return new(welcome) }, &in},
		{"Args", naq.Args{1, "two", 3.5}, func() any { return new([]any) }, &[]any{1.0, "two", 3.5}},
		{"one value", []int{1, 2}, func() any { return new([]int) }, &[]int{1, 2}},
		{"nil", nil, func() any { return new(map[string]any) }, &map[string]any{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, err := naq.NewJob("mail:send", c.args)
			if err != nil {
				t.Fatal(err)
			}
			data, err := j.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := naq.DecodeJob(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, job := range []*naq.Job{j, back} {
				got := c.into()
				if err := job.Bind(got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("Bind (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// Encode writes any job as JSON, not only one a client checked: an id, queue,
// name or retry strategy that needs escapes is escaped, and a name or keyword
// that is not UTF-8 is an error.
func TestEncodeEscapesUncheckedFields(t *testing.T) {
	j := &naq.Job{ID: `id"\<1>`, Name: "mail:send é", Queue: `q"1`, RetryStrategy: `odd"`,
		Kwargs: map[string]json.RawMessage{`k"é`: json.RawMessage(`1`)}}
	data, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		ID       string         `json:"job_id"`
		Name     string         `json:"function"`
		Queue    string         `json:"queue_name"`
		Strategy string         `json:"retry_strategy"`
		Kwargs   map[string]int `json:"kwargs"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	if back.ID != j.ID || back.Name != j.Name || back.Queue != j.Queue || back.Strategy != string(j.RetryStrategy) || back.Kwargs[`k"é`] != 1 {
		t.Errorf("decoded %+v from %s", back, data)
	}
	for name, bad := range map[string]*naq.Job{
		"name":    {ID: "j1", Name: "m:f\xff"},
		"keyword": {ID: "j1", Name: "m:f", Kwargs: map[string]json.RawMessage{"k\xff": json.RawMessage(`1`)}},
		"kind":    {ID: "j1", Name: "m:f", RetryOn: []string{"E\xff"}},
	} {
		if _, err := bad.Encode(); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%s not UTF-8: Encode = %v, want an error about UTF-8", name, err)
		}
	}
}
