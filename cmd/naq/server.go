package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// serverCommand is being written.
func (a *app) serverCommand() *cobra.Command {
	return &cobra.Command{Use: "server", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq server: not yet available") }}
}
