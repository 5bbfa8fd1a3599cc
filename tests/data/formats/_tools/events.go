// events.go — the deterministic list of records the generators log (shared by the Go generators).
package main

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

type attr struct {
	k string
	v any
}

type ev struct {
	t     time.Time
	level slog.Level
	msg   string
	attrs []attr
}

func events(n int, start time.Time) []ev {
	r := rand.New(rand.NewPCG(7, 11))
	paths := []string{"/api/v1/orders", "/api/v1/orders/8812", "/healthz", "/api/v1/users/me", "/metrics", "/api/v1/invoices?page=2"}
	methods := []string{"GET", "GET", "POST", "GET", "DELETE", "PUT"}
	t := start
	var out []ev
	for i := 0; i < n; i++ {
		if i > 0 && r.IntN(8) != 0 {
			t = t.Add(time.Duration(r.IntN(900000)) * time.Microsecond)
		}
		var e ev
		e.t = t
		switch k := r.IntN(20); {
		case k < 9:
			p := r.IntN(len(paths))
			st := []int{200, 200, 201, 204, 304, 404}[r.IntN(6)]
			e.level, e.msg = slog.LevelInfo, "request completed"
			e.attrs = []attr{{"method", methods[p]}, {"path", paths[p]}, {"status", st}, {"duration_ms", r.IntN(250) + 1}, {"remote_addr", fmt.Sprintf("10.0.%d.%d:%d", r.IntN(4), r.IntN(250)+1, 40000+r.IntN(20000))}}
		case k < 12:
			e.level, e.msg = slog.LevelDebug, "cache lookup"
			e.attrs = []attr{{"key", fmt.Sprintf("order:%d", 8000+r.IntN(999))}, {"hit", fmt.Sprint(r.IntN(2) == 1)}}
		case k < 14:
			e.level, e.msg = slog.LevelWarn, "slow query"
			e.attrs = []attr{{"query", "SELECT * FROM orders WHERE customer_id = $1"}, {"elapsed_ms", 500 + r.IntN(3000)}}
		case k < 16:
			e.level, e.msg = slog.LevelError, "payment provider call failed"
			e.attrs = []attr{{"provider", "acme-pay"}, {"attempt", r.IntN(3) + 1}, {"err", "dial tcp 192.0.2.10:443: i/o timeout"}}
		case k < 17:
			e.level, e.msg = slog.Level(-8), "tick"
			e.attrs = []attr{{"component", "scheduler"}, {"queue_depth", r.IntN(40)}}
		case k < 18:
			e.level, e.msg = slog.Level(12), "worker pool exhausted, shedding load"
			e.attrs = []attr{{"workers", 64}, {"pending", 1000 + r.IntN(500)}}
		case k < 19:
			e.level, e.msg = slog.LevelInfo, "user said \"hello\" = greeting"
			e.attrs = []attr{{"user", "o'brien"}, {"note", "two words"}}
		default:
			e.level, e.msg = slog.LevelWarn, "config reloaded with deprecated key\nsee docs"
			e.attrs = []attr{{"file", "/etc/app/config.yaml"}, {"key", "http.timeout"}}
		}
		out = append(out, e)
	}
	return out
}

