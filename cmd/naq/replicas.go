package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

func (a *app) replicasCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "replicas N",
		Short: "Change the replica count of every naq stream and bucket",
		Long: `Sets the replica count of every naq stream and bucket that exists to N
(1 to 5). Nothing else changes replicas: a naq process gives what it creates
three replicas on a cluster of three or more servers (or --replicas), and
leaves what exists as it is. Lowering replicas loses redundancy; raising them
needs as many servers in the cluster. Asks first unless --yes.`,
		Example: `  naq replicas 3 --url nats://n1:4222,nats://n2:4222,nats://n3:4222`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 || n > 5 {
				return usagef("replicas: %q is not a number from 1 to 5", args[0])
			}
			return a.confirmed(cmd, yes, fmt.Sprintf("set every naq stream and bucket to %d replicas?", n), func(ctx context.Context, c *naq.Client) error {
				changed, err := c.SetReplicas(ctx, n)
				for _, name := range changed {
					fmt.Fprintf(a.stdout, "%s: %d replicas\n", name, n)
				}
				if err == nil && len(changed) == 0 {
					fmt.Fprintf(a.stdout, "every naq stream and bucket already has %d replicas\n", n)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return cmd
}
