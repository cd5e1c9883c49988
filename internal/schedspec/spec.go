// Package schedspec parses recurring-job specifications (a cron expression or
// an interval, with an IANA time zone) and computes their fire times.
package schedspec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinInterval is the shortest interval a schedule may have.
const MinInterval = time.Second

// parser accepts 5-field (minute first) and 6-field (second first) cron
// expressions and descriptors such as @hourly.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed schedule.
type Spec struct {
	cron     cron.Schedule
	interval time.Duration
	loc      *time.Location
}

// Parse checks a schedule: exactly one of cronExpr and interval, an interval
// of at least one second, a valid cron expression, a known time zone ("" is
// UTC; the zone applies to cron only).
func Parse(cronExpr string, interval time.Duration, zone string) (Spec, error) {
	cronExpr = strings.TrimSpace(cronExpr)
	switch {
	case cronExpr != "" && interval != 0:
		return Spec{}, errors.New("give a cron expression or an interval, not both")
	case cronExpr == "" && interval == 0:
		return Spec{}, errors.New("give a cron expression or an interval")
	case cronExpr == "" && interval < MinInterval:
		return Spec{}, fmt.Errorf("interval %s is below the minimum of %s", interval, MinInterval)
	}
	loc := time.UTC
	if zone != "" {
		l, err := time.LoadLocation(zone)
		if err != nil {
			return Spec{}, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Berlin)", zone)
		}
		loc = l
	}
	s := Spec{interval: interval, loc: loc}
	if cronExpr != "" {
		if strings.HasPrefix(cronExpr, "@every") {
			return Spec{}, fmt.Errorf("cron %q: use an interval instead of @every", cronExpr)
		}
		if strings.Contains(cronExpr, "TZ=") {
			return Spec{}, fmt.Errorf("cron %q: give the time zone separately, not in the expression", cronExpr)
		}
		c, err := parser.Parse(cronExpr)
		if err != nil {
			return Spec{}, fmt.Errorf("invalid cron expression %q: %v", cronExpr, err)
		}
		s.cron = c
	}
	return s, nil
}

// Next returns the first fire time strictly after t, in UTC. For an interval
// schedule that is t + interval; anchor the series by passing the previous
// fire time.
func (s Spec) Next(t time.Time) time.Time {
	if s.cron == nil {
		return t.Add(s.interval).UTC()
	}
	return s.cron.Next(t.In(s.loc)).UTC()
}

// After returns the first fire time of the series through from that is
// strictly after t: from itself when from is after t. Unlike stepping with
// Next, it costs the same however far t lies beyond from. A cron expression
// with no fire time left gives the zero time, as Next does.
func (s Spec) After(from, t time.Time) time.Time {
	if from.After(t) {
		return from.UTC()
	}
	if s.cron == nil {
		steps := t.Sub(from)/s.interval + 1
		return from.Add(steps * s.interval).UTC()
	}
	return s.Next(t)
}

// IsZero reports whether s was never parsed.
func (s Spec) IsZero() bool { return s.cron == nil && s.interval == 0 }
