package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// jobCommand is being written.
func (a *app) jobCommand() *cobra.Command {
	return &cobra.Command{Use: "job", Short: "(not yet available)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return errors.New("naq job: not yet available") }}
}
