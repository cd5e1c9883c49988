package main

import (
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print naq's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := map[string]string{"version": version, "go": runtime.Version()}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/nats-io/nats-server/v2":
						info["nats_server"] = d.Version
					case "github.com/nats-io/nats.go":
						info["nats_go"] = d.Version
					}
				}
			}
			return a.showLine(info, "naq %s (%s, nats-server %s, nats.go %s)", info["version"], info["go"], info["nats_server"], info["nats_go"])
		},
	}
}
