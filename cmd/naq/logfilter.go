package main

import (
	"context"
	"log/slog"
	"strings"
	"unicode"
)

// bannerFilter drops the lines of nats-server's start-up banner that carry no
// words: the ASCII-art logo, separators and blank lines. As log records they
// are noise, and their backslashes come out escaped.
type bannerFilter struct{ slog.Handler }

func (f bannerFilter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && !strings.ContainsFunc(r.Message, func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }) {
		return nil
	}
	return f.Handler.Handle(ctx, r)
}

func (f bannerFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return bannerFilter{f.Handler.WithAttrs(attrs)}
}

func (f bannerFilter) WithGroup(name string) slog.Handler {
	return bannerFilter{f.Handler.WithGroup(name)}
}
