package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// failedCommand is being written.
func (a *app) failedCommand() *cobra.Command {
	return &cobra.Command{Use: "failed", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq failed: not yet available") }}
}
