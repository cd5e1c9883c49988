package redact

import "testing"

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                           "nats://127.0.0.1:4222",
		"nats://ana:pw@127.0.0.1:4222":                    "nats://ana:xxxxx@127.0.0.1:4222",
		"nats://s3cret-token@host:4222":                   "nats://xxxxx@host:4222",
		"https://u:p@api.example/naq?x=1":                 "https://u:xxxxx@api.example/naq?x=1",
		"nats://a:1@h1:4222,nats://h2:4222,nats://t@h3:1": "nats://a:xxxxx@h1:4222,nats://h2:4222,nats://xxxxx@h3:1",
		"nats://u:p%zz@host:4222":                         "nats://xxxxx@host:4222", // does not parse
		"":                                                "",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	if got := Text("dial pw at pw", "pw", ""); got != "dial xxxxx at xxxxx" {
		t.Errorf("Text = %q", got)
	}
}
