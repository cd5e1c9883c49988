package embedded

import (
	"context"
	"fmt"
	"log/slog"
)

// slogBridge implements the nats-server Logger interface on top of slog.
type slogBridge struct{ l *slog.Logger }

func (b slogBridge) log(level slog.Level, format string, v ...any) {
	if !b.l.Enabled(context.Background(), level) {
		return
	}
	b.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (b slogBridge) Noticef(format string, v ...any) { b.log(slog.LevelInfo, format, v...) }
func (b slogBridge) Warnf(format string, v ...any)   { b.log(slog.LevelWarn, format, v...) }
func (b slogBridge) Fatalf(format string, v ...any)  { b.log(slog.LevelError, "FATAL: "+format, v...) }
func (b slogBridge) Errorf(format string, v ...any)  { b.log(slog.LevelError, format, v...) }
func (b slogBridge) Debugf(format string, v ...any)  { b.log(slog.LevelDebug, format, v...) }
func (b slogBridge) Tracef(format string, v ...any)  { b.log(slog.LevelDebug-4, format, v...) }
