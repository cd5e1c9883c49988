package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// workersCommand is being written.
func (a *app) workersCommand() *cobra.Command {
	return &cobra.Command{Use: "workers", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq workers: not yet available") }}
}
