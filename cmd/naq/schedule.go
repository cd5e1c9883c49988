package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// scheduleCommand is being written.
func (a *app) scheduleCommand() *cobra.Command {
	return &cobra.Command{Use: "schedule", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq schedule: not yet available") }}
}
