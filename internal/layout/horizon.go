package layout

import "time"

// The server counts time in int64 nanoseconds since 1970, which end on
// 2262-04-11: a schedule set past that fires at once, and a TTL that reaches
// past it expires at once. naq keeps what it schedules or expires before the
// start of 2262.
const horizonUnix = 9214646400 // 2262-01-01T00:00:00Z

// Horizon is the latest time naq schedules a message at or lets one live to.
func Horizon() time.Time { return time.Unix(horizonUnix, 0).UTC() }

// CapWait is d, or the wait from now to the horizon when d would reach past
// it: a wait that long is as good as forever, and past the horizon the server
// would end it at once.
func CapWait(now time.Time, d time.Duration) time.Duration {
	if left := Horizon().Sub(now); d > left {
		return max(left, 0)
	}
	return d
}

// SafeWait is the longest wait that needs no capping: it stays within the
// horizon from any time before 2162, so the usual waits skip reading the
// clock.
const SafeWait = 100 * 365 * 24 * time.Hour
