package naq

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The decoder collects args and kwargs before it builds them: what a job
// carries must not depend on how many there are, on repeated members or
// keys, or on escapes in keys.
func TestDecodeArgsAndKwargsEdges(t *testing.T) {
	many := func(n int) (args, kwargs string, wantArgs []string, wantKw map[string]string) {
		var a, k []string
		wantKw = map[string]string{}
		for i := range n {
			a = append(a, fmt.Sprintf(`{"n": %d}`, i))
			k = append(k, fmt.Sprintf(`"key_%d": [%d]`, i, i))
			wantArgs = append(wantArgs, fmt.Sprintf(`{"n": %d}`, i))
			wantKw[fmt.Sprintf("key_%d", i)] = fmt.Sprintf("[%d]", i)
		}
		return "[" + strings.Join(a, ", ") + "]", "{" + strings.Join(k, ", ") + "}", wantArgs, wantKw
	}
	a20, k20, wantA20, wantK20 := many(20)
	a4, k4, wantA4, wantK4 := many(4)
	a5, k5, wantA5, wantK5 := many(5)
	cases := []struct {
		name, body string
		args       []string
		kwargs     map[string]string
	}{
		{"none", ``, []string{}, map[string]string{}},
		{"empty", `,"args":[],"kwargs":{}`, []string{}, map[string]string{}},
		{"null", `,"args":null,"kwargs":null`, []string{}, map[string]string{}},
		{"four", `,"args":` + a4 + `,"kwargs":` + k4, wantA4, wantK4},
		{"five", `,"args":` + a5 + `,"kwargs":` + k5, wantA5, wantK5},
		{"twenty", `,"args":` + a20 + `,"kwargs":` + k20, wantA20, wantK20},
		{"last member wins, not merged", `,"args":[1,2],"kwargs":{"a":1},"args":[3],"kwargs":{"b":2}`,
			[]string{"3"}, map[string]string{"b": "2"}},
		{"null keeps an earlier value", `,"args":[1],"kwargs":{"a":1},"args":null,"kwargs":null`,
			[]string{"1"}, map[string]string{"a": "1"}},
		{"last key wins", `,"kwargs":{"a":1,"b":2,"a":3}`, []string{}, map[string]string{"a": "3", "b": "2"}},
		{"repeated past the first few", `,"kwargs":` + k20 + `,"kwargs":{"x":1}`, []string{}, map[string]string{"x": "1"}},
		{"long texts", `,"kwargs":{"` + strings.Repeat("k", 150) + `":1}`, []string{},
			map[string]string{strings.Repeat("k", 150): "1"}},
		{"escaped keys", `,"kwargs":{"\u00e9t\u00e9":1,"tab\t":"x","a\"b":{"c":[null]}}`, []string{},
			map[string]string{"été": "1", "tab\t": `"x"`, `a"b`: `{"c":[null]}`}},
		{"nested", `,"args":[[1,[2]],{"k":{"l":"m"}},"s",null,true]`, []string{`[1,[2]]`, `{"k":{"l":"m"}}`, `"s"`, `null`, `true`},
			map[string]string{}},
	}
	for _, c := range cases {
		data := `{"job_id":"a1","function":"f","queue_name":"q"` + c.body + `}`
		j, err := DecodeJob([]byte(data))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		args := make([]string, len(j.Args))
		for i, a := range j.Args {
			args[i] = string(a)
		}
		kw := map[string]string{}
		for k, v := range j.Kwargs {
			kw[k] = string(v)
		}
		if j.Args == nil || j.Kwargs == nil || !cmp.Equal(args, c.args) || !cmp.Equal(kw, c.kwargs) {
			t.Errorf("%s: args %q kwargs %q, want %q %q", c.name, args, kw, c.args, c.kwargs)
		}
		if j.ID != "a1" || j.Name != "f" || j.Queue != "q" {
			t.Errorf("%s: id %q name %q queue %q", c.name, j.ID, j.Name, j.Queue)
		}
	}
	for _, bad := range []string{`"args":{}`, `"kwargs":[]`, `"args":[1,]`, `"kwargs":{"a"}`, `"kwargs":{"a":1,}`, `"args":"x"`} {
		if _, err := DecodeJob([]byte(`{"job_id":"a1","function":"f",` + bad + `}`)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
