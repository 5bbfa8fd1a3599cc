// make.go — writes sample.log with k8s.io/klog/v2 v2.80.1 (Debian golang-k8s-klog-dev), the
// Kubernetes component log format "Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg", and key.jsonl.
// klog takes the time itself (time.Now, no year, no zone; run with TZ=UTC); each record's time in
// the key is the one in its header, checked to lie between clock readings taken just before and
// after the call (which also give the year).  Level, message and fields are the values logged.
// Run: sh make.sh
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

func main() {
	fs := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(fs)
	fs.Set("logtostderr", "false")
	fs.Set("alsologtostderr", "false")
	fs.Set("v", "4")
	var buf bytes.Buffer
	klog.SetOutputBySeverity("INFO", &buf)
	klog.SetOutputBySeverity("WARNING", io.Discard)
	klog.SetOutputBySeverity("ERROR", io.Discard)
	klog.SetOutputBySeverity("FATAL", io.Discard)
	log, _ := os.Create("sample.log")
	key, _ := os.Create("key.jsonl")
	line := 1
	evs := events(110, time.Now())
	for i, e := range evs {
		var kv []any
		fields := map[string]any{}
		for _, a := range e.attrs {
			kv = append(kv, a.k, a.v)
			fields[a.k] = a.v
		}
		buf.Reset()
		before := time.Now()
		lv, sev := "I", 9
		msg := e.msg
		switch {
		case e.level < slog.LevelDebug:
			klog.V(4).InfoS(msg, kv...)
		case e.level < slog.LevelInfo:
			klog.V(2).InfoS(msg, kv...)
		case e.level < slog.LevelWarn:
			if i%5 == 0 {
				msg = fmt.Sprintf("Successfully synced '%s/web-%d'", "default", i)
				klog.Infof("Successfully synced '%s/web-%d'", "default", i)
				fields = map[string]any{}
			} else {
				klog.InfoS(msg, kv...)
			}
		case e.level < slog.LevelError:
			lv, sev = "W", 13
			if strings.Contains(msg, "\n") {
				klog.Warning(msg) // unstructured: newlines written as they are
			} else {
				klog.Warningf("%s: %v", msg, kv)
				msg = fmt.Sprintf("%s: %v", msg, kv)
				fields = map[string]any{}
			}
		default:
			lv, sev = "E", 17
			kv = kv[:0]
			delete(fields, "err")
			for _, a := range e.attrs {
				if a.k != "err" {
					kv = append(kv, a.k, a.v)
				}
			}
			if e.level > slog.LevelError {
				klog.ErrorS(errors.New("context deadline exceeded"), msg, append(kv, "stack", "goroutine 1 [running]:\nmain.main()\n\t/src/main.go:42 +0x1d")...)
				fields["err"] = "context deadline exceeded"
				fields["stack"] = "goroutine 1 [running]:\nmain.main()\n\t/src/main.go:42 +0x1d"
			} else {
				klog.ErrorS(errors.New("connection refused"), msg, kv...)
				fields["err"] = "connection refused"
			}
		}
		after := time.Now()
		text := buf.String()
		log.WriteString(text)
		n := strings.Count(text, "\n")
		// header: Lmmdd hh:mm:ss.uuuuuu
		h := text[1:21]
		t, err := time.ParseInLocation("0102 15:04:05.000000", h, time.UTC)
		if err != nil || text[0] != lv[0] {
			panic(fmt.Sprint("bad header ", text))
		}
		t = t.AddDate(before.UTC().Year(), 0, 0)
		if t.Before(before.UTC().Truncate(time.Microsecond)) || t.After(after.UTC()) {
			panic(fmt.Sprint("time outside call window ", text, before, after))
		}
		m := msg
		if n > 1 {
			m = strings.SplitN(m, "\n", 2)[0]
		}
		k := map[string]any{"line": line, "lines": n, "time": t.Format("2006-01-02T15:04:05.000000Z"), "severity": sev, "level": lv,
			"message": m, "fields": fields}
		b, _ := json.Marshal(k)
		key.Write(append(b, '\n'))
		line += n
		time.Sleep(time.Duration(i%7) * 3 * time.Millisecond)
	}
}
