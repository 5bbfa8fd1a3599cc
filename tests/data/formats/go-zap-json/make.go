// make.go — writes sample.log (go.uber.org/zap v1.23.0, zap.NewProductionEncoderConfig JSON encoder,
// AddCaller, stack traces from ERROR up) and key.jsonl from the values handed to zap
// (the entry time comes from a zapcore.Clock that returns the planned time).
// Run: sh make.sh  (builds this file with ../_tools/go/go.mod, runs it here with TZ=UTC)
package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time                          { return c.t }
func (c *clock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

var lv = map[slog.Level]zapcore.Level{-8: zapcore.DebugLevel, slog.LevelDebug: zapcore.DebugLevel, slog.LevelInfo: zapcore.InfoLevel,
	slog.LevelWarn: zapcore.WarnLevel, slog.LevelError: zapcore.ErrorLevel, 12: zapcore.DPanicLevel}
var sevs = map[zapcore.Level]int{zapcore.DebugLevel: 5, zapcore.InfoLevel: 9, zapcore.WarnLevel: 13, zapcore.ErrorLevel: 17, zapcore.DPanicLevel: 21}

func main() {
	var buf bytes.Buffer
	clk := &clock{}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.AddSync(&buf), zapcore.DebugLevel)
	// no zap.Development(): DPanic logs without panicking, as in production
	logger := zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel), zap.WithClock(clk))
	log, _ := os.Create("sample.log")
	key, _ := os.Create("key.jsonl")
	start := time.Date(2026, 11, 30, 23, 59, 21, 0, time.UTC)
	line := 1
	for _, e := range events(120, start) {
		fields := map[string]any{}
		var zf []zap.Field
		for _, a := range e.attrs {
			zf = append(zf, zap.Any(a.k, a.v))
			fields[a.k] = a.v
		}
		buf.Reset()
		clk.t = e.t.Local()
		l := lv[e.level]
		if ce := logger.Check(l, e.msg); ce != nil {
			ce.Write(zf...)
		}
		log.Write(buf.Bytes())
		n := strings.Count(buf.String(), "\n")
		m := e.msg
		if n > 1 {
			m = strings.SplitN(m, "\n", 2)[0]
		}
		k := map[string]any{
			"line": line, "lines": n,
			"time":     e.t.UTC().Format(time.RFC3339Nano),
			"severity": sevs[l], "level": l.String(),
			"message": m, "fields": fields,
		}
		b, _ := json.Marshal(k)
		key.Write(append(b, '\n'))
		line += n
	}
}
