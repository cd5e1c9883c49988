package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
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

// showLine prints v as JSON with --json, else one line made of format and
// args.
func (a *app) showLine(v any, format string, args ...any) error {
	return a.show(v, func() error {
		_, err := fmt.Fprintf(a.stdout, format+"\n", args...)
		return err
	})
}

// fmtTime formats t as every command prints times: RFC 3339, UTC, to the
// second; "-" for none.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
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

// confirm asks before a destructive command. --yes skips the question. The
// answer is read from stdin, a terminal or a pipe (echo y | naq ...); no
// answer (stdin at its end, or /dev/null) refuses.
func (a *app) confirm(yes bool, question string) error {
	if yes {
		return nil
	}
	tty := isTerminal(a.stdin)
	if tty {
		fmt.Fprintf(a.stderr, "%s? [y/N] ", strings.TrimSuffix(question, "?"))
	}
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	ans := strings.ToLower(strings.TrimSpace(line))
	switch {
	case ans == "y" || ans == "yes":
		return nil
	case ans == "" && err != nil && !tty:
		return usagef("%s: not confirmed (no answer on standard input; pass --yes, or pipe y)", question)
	}
	return fmt.Errorf("%s: not confirmed (answer y or yes to go ahead)", question)
}

// progress returns a function that reports done of total on stderr as a
// progress bar, only when stderr is a terminal and the output is not JSON
// (logs and pipes get no carriage returns); the caller prints the final
// count. finish clears the bar.
func (a *app) progress(label string, total int) (step func(done int), finish func()) {
	if a.jsonOut || total <= 0 || !isTerminal(a.stderr) {
		return func(int) {}, func() {}
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return func(done int) { _ = bar.Set(done) }, func() { _ = bar.Finish() }
}
