package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// queueCommand is being written.
func (a *app) queueCommand() *cobra.Command {
	return &cobra.Command{Use: "queue", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq queue: not yet available") }}
}
