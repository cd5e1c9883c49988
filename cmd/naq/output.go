package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"
)

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable writes rows under a header, aligned.
func (a *app) printTable(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// show prints v as JSON with --json, else calls table.
func (a *app) show(v any, table func() error) error {
	if a.jsonOut {
		return a.printJSON(v)
	}
	return table()
}

// fmtTime formats t for tables: UTC, to the second; "-" for none.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago says how long ago t was.
func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

// isTerminal reports whether f is an interactive terminal (/dev/null, also a
// character device, is not).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// confirm asks before a destructive command. --yes skips the question; without
// a terminal to ask on, the command refuses.
func (a *app) confirm(yes bool, question string) error {
	if yes {
		return nil
	}
	if !isTerminal(a.stdin) {
		return usagef("%s: not confirmed (no terminal to ask on; pass --yes)", question)
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
		return fmt.Errorf("%s: cancelled", question)
	}
	return nil
}

// progress prints "label done/total" on one line of stderr, rewriting it.
func (a *app) progress(label string, done, total int) {
	if a.jsonOut {
		return
	}
	fmt.Fprintf(a.stderr, "\r%s %d/%d", label, done, total)
	if done == total {
		fmt.Fprintln(a.stderr)
	}
}
