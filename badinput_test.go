package naq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/naqgo/naq"
)

// Record 0 does not exist (sequences start at 1): every call that takes a
// record sequence says so with ErrJobNotFound, not with the server's "bad
// request".
func TestFailedRecordZeroIsNotFound(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	if _, err := c.FailedJob(ctx, 0); !errors.Is(err, naq.ErrJobNotFound) || !strings.Contains(err.Error(), "start at 1") {
		t.Errorf("FailedJob(0): %v, want ErrJobNotFound saying sequences start at 1", err)
	}
	if _, err := c.RequeueFailed(ctx, 0); !errors.Is(err, naq.ErrJobNotFound) {
		t.Errorf("RequeueFailed(0): %v, want ErrJobNotFound", err)
	}
	if err := c.DeleteFailed(ctx, 0); !errors.Is(err, naq.ErrJobNotFound) {
		t.Errorf("DeleteFailed(0): %v, want ErrJobNotFound", err)
	}
	if _, err := c.FailedJob(ctx, 7); !errors.Is(err, naq.ErrJobNotFound) {
		t.Errorf("FailedJob(7) of an empty stream: %v, want ErrJobNotFound", err)
	}
}

func TestListsRefuseNegativeLimits(t *testing.T) {
	c, _ := newClient(t)
	recs, err := c.ListFailed(t.Context(), "", -1)
	if !errors.Is(err, naq.ErrInvalidRequest) || !strings.Contains(err.Error(), "-1") || recs != nil {
		t.Errorf("ListFailed(-1): %v, %v; want ErrInvalidRequest naming -1, and no records", recs, err)
	}
	if _, err := c.ListFailed(t.Context(), "", 0); err != nil {
		t.Errorf("ListFailed(0), all records: %v", err)
	}
	if jobs, err := c.ListDelayed(t.Context(), -1); !errors.Is(err, naq.ErrInvalidRequest) || jobs != nil {
		t.Errorf("ListDelayed(-1): %v, %v; want ErrInvalidRequest, and no jobs", jobs, err)
	}
}
