package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// workerCommand is being written.
func (a *app) workerCommand() *cobra.Command {
	return &cobra.Command{Use: "worker", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq worker: not yet available") }}
}
