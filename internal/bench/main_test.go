package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary stand in for naqbench as the memory and
// scale scenarios' child process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		var err error
		switch os.Args[1] {
		case ChildArg:
			err = RunChild(context.Background(), os.Args[2:], os.Stdout)
		case ScaleChildArg:
			err = RunScaleChild(context.Background(), os.Args[2:], os.Stdout)
		default:
			os.Exit(m.Run())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
