package naq

import (
	"context"
	"fmt"
	"time"
)

// TriggerSchedule enqueues one occurrence of the schedule now, outside its
// timetable: its next run and repeat count stay as they are. The job's id is
// the occurrence id of this moment, so two triggers in the same millisecond
// make one job.
func (c *Client) TriggerSchedule(ctx context.Context, id string) (*Job, error) {
	s, err := c.GetSchedule(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.State == ScheduleCancelled {
		return nil, fmt.Errorf("%w: schedule %s is cancelled", ErrInvalidSchedule, id)
	}
	j, err := s.Occurrence(time.Now())
	if err != nil {
		return nil, err
	}
	if err := c.EnqueueJob(ctx, j); err != nil {
		return nil, fmt.Errorf("naq: trigger schedule %s: %w", id, err)
	}
	return j, nil
}
