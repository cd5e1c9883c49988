package layout

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// WorkflowsBucket holds naq-go's workflow records (key = workflow id): the
// steps of each workflow, so its state can be read back. Python naq has no
// workflows and never reads it.
const WorkflowsBucket = "naq_workflows"

// EnsureWorkflowsBucket creates naq_workflows. Its records live as long as
// results do, so a workflow can be read while its steps' results can.
func EnsureWorkflowsBucket(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	return ensureBucket(ctx, js, c, bucketSpec{cfg: jetstream.KeyValueConfig{
		Bucket:      WorkflowsBucket,
		Description: "naq workflows, key = workflow id",
		TTL:         orDefault(c.ResultTTL, DefaultResultTTL),
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
	}, owned: true})
}
