package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// benchCommand is being written.
func (a *app) benchCommand() *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq bench: not yet available") }}
}
