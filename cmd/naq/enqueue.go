package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// enqueueCommand is being written.
func (a *app) enqueueCommand() *cobra.Command {
	return &cobra.Command{Use: "enqueue", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq enqueue: not yet available") }}
}
