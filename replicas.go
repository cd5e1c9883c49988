package naq

import (
	"context"
	"fmt"

	"github.com/naqgo/naq/internal/layout"
)

// SetReplicas changes the replica count of every naq stream and bucket that
// exists (1 to 5; 3 is the usual choice on a three-node cluster) and returns
// the names it changed. It is the one way naq changes replicas: starting a
// client, worker or scheduler never does, whatever their replica options say.
// Lowering replicas loses redundancy; raising them needs as many servers.
func (c *Client) SetReplicas(ctx context.Context, n int) ([]string, error) {
	changed, err := layout.SetReplicas(ctx, c.js, n)
	if err != nil {
		return changed, fmt.Errorf("naq: %w", err)
	}
	return changed, nil
}
