package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Item: docs/configuration.md lists every flag of every command, and every
// environment variable the flags read: a new flag without a line there fails.
func TestConfigurationDocListsEveryFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(doc), "\n")
	documented := func(where, flag string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, "| "+where+" |") && strings.Contains(l, "`"+flag) {
				return true
			}
		}
		return false
	}
	root := newApp(nil, io.Discard, io.Discard).rootCommand()
	env := regexp.MustCompile(`env (NAQ_[A-Z_]+)`)
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !documented("every command", "--"+f.Name) {
			t.Errorf("docs/configuration.md: no row for the global flag --%s", f.Name)
		}
		for _, m := range env.FindAllStringSubmatch(f.Usage, -1) {
			if !strings.Contains(string(doc), "| `"+m[1]+"`") && !strings.Contains(string(doc), "`"+m[1]+"`,") {
				t.Errorf("docs/configuration.md: no row for %s", m[1])
			}
		}
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && f.Name != "help" && !documented("`"+c.CommandPath()+"`", "--"+f.Name) {
				t.Errorf("docs/configuration.md: no row for %s --%s", c.CommandPath(), f.Name)
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// Item: the README's install line works from a checkout, as written.
func TestREADMEInstallFromCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "go install ./cmd/naq") {
		t.Fatal("the README gives no install line that works from a checkout")
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "install", "./cmd/naq")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install ./cmd/naq: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "naq"), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "naq ") {
		t.Fatalf("the installed naq --version: %v %q", err, out)
	}
}
