package layout

import (
	"math"
	"testing"
	"time"
)

func TestHorizonIsBeforeTheServersLastNanosecond(t *testing.T) {
	if got := Horizon(); got != time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC) {
		t.Fatalf("Horizon() = %s", got)
	}
	if !Horizon().Before(time.Unix(0, math.MaxInt64)) {
		t.Fatal("the horizon is past the last time the server can hold")
	}
}

func TestCapWait(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d, want time.Duration
	}{
		{0, 0},
		{time.Hour, time.Hour},
		{100 * 365 * 24 * time.Hour, 100 * 365 * 24 * time.Hour},
		{time.Duration(math.MaxInt64), Horizon().Sub(now)},
		{Horizon().Sub(now) + time.Nanosecond, Horizon().Sub(now)},
	} {
		if got := CapWait(now, c.d); got != c.want {
			t.Errorf("CapWait(%s) = %s, want %s", c.d, got, c.want)
		}
	}
	if got := CapWait(Horizon().Add(time.Hour), time.Hour); got != 0 {
		t.Errorf("past the horizon: CapWait = %s, want 0", got)
	}
}
