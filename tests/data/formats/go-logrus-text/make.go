// make.go — writes sample.log (github.com/sirupsen/logrus v1.9.0 default TextFormatter, not a TTY)
// and key.jsonl from the values handed to logrus (time via Entry.WithTime, level, message, fields).
// Run: sh make.sh  (builds this file with ../_tools/go/go.mod, runs it here with TZ=UTC)
package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

var lv = map[slog.Level]logrus.Level{-8: logrus.TraceLevel, slog.LevelDebug: logrus.DebugLevel, slog.LevelInfo: logrus.InfoLevel,
	slog.LevelWarn: logrus.WarnLevel, slog.LevelError: logrus.ErrorLevel, 12: logrus.FatalLevel}
var sevs = map[logrus.Level]int{logrus.TraceLevel: 1, logrus.DebugLevel: 5, logrus.InfoLevel: 9, logrus.WarnLevel: 13, logrus.ErrorLevel: 17, logrus.FatalLevel: 21}

func main() {
	var buf bytes.Buffer
	logger := logrus.New()
	logger.Out = &buf
	logger.SetLevel(logrus.TraceLevel)
	log, _ := os.Create("sample.log")
	key, _ := os.Create("key.jsonl")
	start := time.Date(2026, 11, 30, 23, 59, 21, 0, time.UTC)
	line := 1
	for _, e := range events(120, start) {
		fields := map[string]any{}
		lf := logrus.Fields{}
		for _, a := range e.attrs {
			lf[a.k] = a.v
			fields[a.k] = a.v
		}
		buf.Reset()
		l := lv[e.level]
		// Entry.Log writes without exiting for FatalLevel (Logger.Fatal would call os.Exit).
		logger.WithTime(e.t.Local()).WithFields(lf).Log(l, e.msg)
		log.Write(buf.Bytes())
		n := strings.Count(buf.String(), "\n")
		m := e.msg
		if n > 1 {
			m = strings.SplitN(m, "\n", 2)[0]
		}
		k := map[string]any{
			"line": line, "lines": n,
			"time":     e.t.UTC().Truncate(time.Second).Format(time.RFC3339),
			"severity": sevs[l], "level": l.String(),
			"message": m, "fields": fields,
		}
		b, _ := json.Marshal(k)
		key.Write(append(b, '\n'))
		line += n
	}
}
