// make.go — writes sample.log (Go stdlib log/slog JSONHandler output, run with TZ=America/New_York) and key.jsonl.
// The key is written from the very values handed to slog (time, level, message, attrs).
// Run: sh make.sh  (builds this file with ../_tools/go/go.mod, runs it here with TZ=America/New_York)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"time"
)

func sev(l slog.Level) int { // OpenTelemetry bridge mapping: severity = level + 9
	return int(l) + 9
}

func main() {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.Level(-8)})
	log, _ := os.Create("sample.log")
	key, _ := os.Create("key.jsonl")
	start := time.Date(2026, 12, 1, 4, 59, 21, 0, time.UTC) // 23:59:21 in New York
	line := 1
	for _, e := range events(120, start) {
		r := slog.NewRecord(e.t.Local(), e.level, e.msg, 0)
		fields := map[string]any{}
		for _, a := range e.attrs {
			r.AddAttrs(slog.Any(a.k, a.v))
			fields[a.k] = a.v
		}
		buf.Reset()
		h.Handle(context.Background(), r)
		log.Write(buf.Bytes())
		n := strings.Count(buf.String(), "\n")
		k := map[string]any{
			"line": line, "lines": n,
			"time":     e.t.UTC().Format(time.RFC3339Nano),
			"severity": sev(e.level), "level": e.level.String(),
			"message": firstMsg(e.msg, n), "fields": fields,
		}
		b, _ := json.Marshal(k)
		key.Write(append(b, '\n'))
		line += n
	}
}
// firstMsg: the message as logged; for a record spanning several physical lines, its first line.
func firstMsg(m string, n int) string {
	if n > 1 {
		return strings.SplitN(m, "\n", 2)[0]
	}
	return m
}
