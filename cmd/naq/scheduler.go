package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// schedulerCommand is being written.
func (a *app) schedulerCommand() *cobra.Command {
	return &cobra.Command{Use: "scheduler", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq scheduler: not yet available") }}
}
