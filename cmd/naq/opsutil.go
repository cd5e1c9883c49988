package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
)

// Helpers shared by the operator commands (queue, failed, schedule, workers).

// clientDo connects, provisions a client, and runs f under --request-timeout plus
// extra; the connection is closed afterwards.
func (a *app) clientDo(cmd *cobra.Command, extra time.Duration, f func(ctx context.Context, c *naq.Client) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), a.requestTimeout+extra)
	defer cancel()
	c, nc, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	return trimPrefix(f(ctx, c))
}

// confirmed is a destructive command's shape: ask (unless --yes), then run f
// as clientDo does; f shows what it did.
func (a *app) confirmed(cmd *cobra.Command, yes bool, question string, f func(ctx context.Context, c *naq.Client) error) error {
	if err := a.confirm(yes, question); err != nil {
		return err
	}
	return a.clientDo(cmd, 0, f)
}

// prefixTrimmed is an error whose text loses the library's "naq: " prefix
// (main prints its own).
type prefixTrimmed struct{ err error }

func (e *prefixTrimmed) Error() string { return strings.TrimPrefix(e.err.Error(), "naq: ") }
func (e *prefixTrimmed) Unwrap() error { return e.err }

func trimPrefix(err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "naq: ") {
		return err
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return &usageError{msg: strings.TrimPrefix(err.Error(), "naq: ")}
	}
	return &prefixTrimmed{err}
}

// queueFilter is the --queue flag when it was given on the command line, else
// "" (all queues): for listing commands the default queue is no filter.
func (a *app) queueFilter(cmd *cobra.Command) string {
	if f := cmd.Flags().Lookup("queue"); f != nil && f.Changed {
		return a.queue
	}
	return ""
}

// asUsage turns errors that mean "the command line is wrong" into usage
// errors (exit code 2).
func asUsage(err error, kinds ...error) error {
	if err == nil {
		return nil
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return &usageError{msg: strings.TrimPrefix(err.Error(), "naq: ")}
		}
	}
	return err
}

// parseSeq reads a failed-job record sequence number.
func parseSeq(s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || n == 0 {
		return 0, usagef("invalid record sequence %q: want a positive number (see 'naq failed list')", s)
	}
	return n, nil
}

// oneLine trims s to its first line and at most n characters.
func oneLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i]) + " …"
	}
	if utf8.RuneCountInString(s) > n {
		r := []rune(s)
		s = string(r[:n-1]) + "…"
	}
	return s
}

// bytesText shows bytes as text when they are valid UTF-8, else as base64.
func bytesText(b []byte) (text string, encoding string) {
	if utf8.Valid(b) {
		return string(b), "text"
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

// parseTimeFlag reads an RFC 3339 time given to flag name.
func parseTimeFlag(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, usagef("--%s %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", name, v)
	}
	return t.UTC(), nil
}

// printKV prints key/value lines, aligned.
func (a *app) printKV(rows [][2]string) error {
	w := 0
	for _, r := range rows {
		w = max(w, len(r[0]))
	}
	for _, r := range rows {
		v := r[1]
		if strings.Contains(v, "\n") {
			v = "\n  " + strings.ReplaceAll(strings.TrimRight(v, "\n"), "\n", "\n  ")
		}
		if _, err := fmt.Fprintf(a.stdout, "%-*s  %s\n", w+1, r[0]+":", v); err != nil {
			return err
		}
	}
	return nil
}
