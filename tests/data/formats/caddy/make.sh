#!/bin/sh
# caddy run with the Caddyfile (runtime + access logs as JSON into one file), curl traffic, SIGTERM.
H=$(dirname "$(readlink -f "$0")"); D=${D:-/work/corpus/caddy}
mkdir -p "$D" /work/corpus/nginx/html/static; echo hi > /work/corpus/nginx/html/index.html; echo "body{}" > /work/corpus/nginx/html/static/app.css  # Caddyfile serves /work/corpus/nginx/html
rm -f "$D/caddy.log"
XDG_DATA_HOME=$D/xdg XDG_CONFIG_HOME=$D/xdg HOME=$D setsid caddy run --config "$H/Caddyfile" --adapter caddyfile </dev/null >/dev/null 2>&1 & P=$!
sleep 2
C="curl -s -o /dev/null --max-time 3"; U=http://127.0.0.1:18085
for round in 1 2 3; do
for p in / /index.html /static/app.css /missing.html /api/orders /teapot "/search?q=x%20y"; do
  $C -A "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15" -e "https://example.org/r$round" "$U$p"
  $C -A "curl/7.88.1" -X POST -d 'a=1' "$U$p"
done
done
kill -TERM $P; wait $P
cp "$D/caddy.log" "$H/sample.log" && python3 "$H/../_tools/service_keys.py" caddy "$H/sample.log" > "$H/key.jsonl"
