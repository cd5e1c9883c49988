package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// serverHasFastBatches reports whether the connected server is 2.14 or later.
func serverHasFastBatches(js jetstream.JetStream) bool {
	return versionAtLeast(js.Conn().ConnectedServerVersion(), 2, 14)
}

// versionAtLeast compares a server version such as "2.15.2" or
// "2.14.0-beta.1" with major.minor.
func versionAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	mnr, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || maj == major && mnr >= minor
}

// AllowBatches turns on fast batch publishing for stream (nats-server 2.14
// and later) and reports whether the stream now takes batches: a server that
// does not know the option leaves it off. A bucket's stream carries the option
// only after this call, since nats.go's bucket config has no such field.
func AllowBatches(ctx context.Context, js jetstream.JetStream, stream string) (bool, error) {
	if !serverHasFastBatches(js) {
		return false, nil
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false, fmt.Errorf("allow batches on %s: %w", stream, err)
	}
	cfg := s.CachedInfo().Config
	if cfg.AllowBatchPublish {
		return true, nil
	}
	cfg.AllowBatchPublish = true
	if s, err = js.UpdateStream(ctx, cfg); err != nil {
		return false, fmt.Errorf("allow batches on %s: %w", stream, err)
	}
	return s.CachedInfo().Config.AllowBatchPublish, nil
}

// PurgeSubject removes every message on subject from stream and returns how
// many it removed. The jetstream package's Purge does not report the count.
func PurgeSubject(ctx context.Context, nc *nats.Conn, stream, subject string) (uint64, error) {
	req, _ := json.Marshal(map[string]string{"filter": subject})
	msg, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+stream, req)
	if err != nil {
		return 0, fmt.Errorf("purge %s on %s: %w", subject, stream, err)
	}
	var resp struct {
		Success bool   `json:"success"`
		Purged  uint64 `json:"purged"`
		Error   *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return 0, fmt.Errorf("purge %s on %s: bad reply: %w", subject, stream, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrCode == 10059 { // stream not found: nothing to purge
			return 0, nil
		}
		return 0, fmt.Errorf("purge %s on %s: %s (code %d)", subject, stream, resp.Error.Description, resp.Error.ErrCode)
	}
	return resp.Purged, nil
}

// IsNotFound reports whether err means a key, message, stream or consumer does
// not exist.
func IsNotFound(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeMessageNotFound {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrMsgNotFound) ||
		errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrBucketNotFound)
}

// Streams lists the streams naq provisions, the buckets' among them.
func Streams() []string {
	return []string{JobsStream, FailedStream, "KV_" + ResultsBucket, "KV_" + StatusBucket, "KV_" + WorkersBucket,
		"KV_" + CancelledBucket, "KV_" + SchedulesBucket, "KV_" + SchedulerLockBucket}
}

// SetReplicas sets the replica count of every naq stream and bucket that
// exists, and returns the names it changed. It is the one way naq changes
// replicas: provisioning never does.
func SetReplicas(ctx context.Context, js jetstream.JetStream, n int) ([]string, error) {
	if n < 1 || n > 5 {
		return nil, fmt.Errorf("set replicas: %d is not between 1 and 5", n)
	}
	var changed []string
	for _, name := range Streams() {
		s, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			return changed, fmt.Errorf("set replicas of %s: %w", name, err)
		}
		cfg := s.CachedInfo().Config
		if cfg.Replicas == n {
			continue
		}
		cfg.Replicas = n
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return changed, fmt.Errorf("set replicas of %s to %d: %w", name, n, err)
		}
		changed = append(changed, name)
	}
	return changed, nil
}
