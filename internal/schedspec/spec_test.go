package schedspec

import (
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, cron string, every time.Duration, zone string) Spec {
	t.Helper()
	s, err := Parse(cron, every, zone)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBadSpecs(t *testing.T) {
	cases := []struct {
		cron  string
		every time.Duration
		zone  string
		want  string
	}{
		{"", 0, "", "give a cron expression or an interval"},
		{"* * * * *", time.Minute, "", "not both"},
		{"", 500 * time.Millisecond, "", "below the minimum"},
		{"61 * * * *", 0, "", "invalid cron expression"},
		{"* * *", 0, "", "invalid cron expression"},
		{"0 9 * * *", 0, "Mars/Olympus", "unknown time zone"},
		{"@every 5m", 0, "", "use an interval"},
	}
	for _, c := range cases {
		_, err := Parse(c.cron, c.every, c.zone)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q, %s, %q) = %v, want %q", c.cron, c.every, c.zone, err, c.want)
		}
	}
}

func TestFiveSixFieldsAndDescriptors(t *testing.T) {
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for expr, want := range map[string]time.Time{
		"*/15 * * * *":    base.Add(15 * time.Minute),
		"30 */15 * * * *": base.Add(30 * time.Second),
		"@hourly":         base.Add(time.Hour),
		"@daily":          time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
	} {
		if got := mustParse(t, expr, 0, "").Next(base); !got.Equal(want) {
			t.Errorf("%s: next %s, want %s", expr, got, want)
		}
	}
}

// A daily 09:00 New York job fires at 13:00 UTC in summer and 14:00 UTC in
// winter: across the November 2026 change (Nov 1) the UTC time moves.
func TestCronTimeZoneAcrossDST(t *testing.T) {
	s := mustParse(t, "0 9 * * *", 0, "America/New_York")
	t0 := time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC)
	var got []time.Time
	for t := t0; len(got) < 4; {
		t = s.Next(t)
		got = append(got, t)
	}
	want := []time.Time{
		time.Date(2026, 10, 30, 13, 0, 0, 0, time.UTC), // EDT, UTC-4
		time.Date(2026, 10, 31, 13, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC), // EST, UTC-5
		time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC),
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("fire %d: %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
	// Spring forward in Berlin (2026-03-29, 02:00 -> 03:00): a 02:30 job has
	// no 02:30 that day and next runs on the 30th.
	b := mustParse(t, "30 2 * * *", 0, "Europe/Berlin")
	next := b.Next(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC); !next.Equal(want) {
		t.Fatalf("spring forward: %s, want %s", next, want)
	}
}

func TestInterval(t *testing.T) {
	s := mustParse(t, "", 90*time.Second, "Europe/Berlin") // zone does not shift intervals
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := s.Next(base); !got.Equal(base.Add(90 * time.Second)) {
		t.Fatal(got)
	}
}

// After jumps to the first fire time past t, on the series' own grid: an
// interval counted from the series' start, a cron expression on its ticks.
func TestAfter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC)
	iv := mustParse(t, "", 90*time.Second, "")
	for _, c := range []struct {
		t    time.Time
		want time.Time
	}{
		{start.Add(-time.Hour), start},       // the start itself is still ahead
		{start, start.Add(90 * time.Second)}, // strictly after
		{start.Add(89 * time.Second), start.Add(90 * time.Second)},
		{start.Add(90 * time.Second), start.Add(180 * time.Second)},
		{start.Add(1000 * time.Hour), start.Add(1000*time.Hour + 90*time.Second)}, // 40,000 steps, one division
	} {
		if got := iv.After(start, c.t); !got.Equal(c.want) {
			t.Errorf("interval After(start, %s) = %s, want %s", c.t, got, c.want)
		}
	}
	cr := mustParse(t, "*/15 * * * *", 0, "")
	if got, want := cr.After(start, start.Add(20*time.Minute)), time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("cron After = %s, want %s", got, want)
	}
	if got := cr.After(start, start.Add(-time.Minute)); !got.Equal(start) {
		t.Errorf("cron After before the start = %s, want the start %s", got, start)
	}
}
