#!/bin/sh
# Runs the throw-away nginx in the foreground (background job), sends requests with curl
# that provoke errors, reloads once, tests a broken config, then stops it.
H=$(dirname "$(readlink -f "$0")"); D=${D:-/work/corpus/nginx}
mkdir -p "$D/logs" "$D/html/static" "$D/html/dir-no-index" "$D/tmp"; echo hi > "$D/html/index.html"; echo "body{}" > "$D/html/static/app.css"
printf 'staff:{PLAIN}not-a-real-password\n' > "$D/htpasswd"
rm -f "$D"/logs/*
# a "slow" upstream that accepts and never answers
python3 -c "
import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',18098)); s.listen(5)
c=[]; t=time.time()
s.settimeout(0.5)
while time.time()-t<20:
    try: c.append(s.accept())
    except socket.timeout: pass
" </dev/null >/dev/null 2>&1 &
SLOW=$!
nginx -p "$D/" -c "$H/nginx.conf" -e "$D/logs/error.log" -g 'daemon off;' </dev/null >/dev/null 2>&1 &
NPID=$!
sleep 1
C="curl -s -o /dev/null --max-time 3"
U=http://127.0.0.1:18080
UA="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
$C -A "$UA" $U/
$C -A "$UA" -e "$U/" $U/static/app.css
$C -A "$UA" $U/static/missing.js
$C -A "curl/7.88.1" $U/favicon.ico
$C $U/private/secrets.txt
$C $U/dir-no-index/
$C -X POST -H 'Content-Type: application/json' -d '{"order":1}' $U/api/orders
$C $U/api/orders/42?expand=items
$C $U/slow/report
$C -X POST --data-binary @/etc/services $U/upload
for i in 1 2 3 4; do $C $U/limited/page; done
$C -u staff:wrong $U/auth/
$C -u nobody:x $U/auth/
$C $U/php/index.php
$C "$U/static/../../etc/passwd"
$C --path-as-is "$U/static/%2e%2e/%2e%2e/etc/passwd"
printf 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 2 nc -q 1 127.0.0.1 18080 >/dev/null 2>&1 || printf 'GARBAGE\r\n\r\n' | timeout 2 python3 -c "import socket,sys;s=socket.create_connection(('127.0.0.1',18080));s.sendall(sys.stdin.buffer.read());s.recv(100)"
python3 -c "import socket;s=socket.create_connection(('127.0.0.1',18080));s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n');s.close()"
i=0
for p in / /static/app.css /index.html /static/missing.png "/search?q=caf%C3%A9&page=2" /api/v2/users /private/ /limited/x /static/app.css?v=3; do
  for ua in "$UA" "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1" "python-requests/2.31.0" "-" ; do
    i=$((i+1))
    if [ "$ua" = "-" ]; then $C -H "User-Agent:" "$U$p"; else $C -A "$ua" -e "https://example.com/page/$i" "$U$p"; fi
    [ $((i % 7)) -eq 0 ] && $C -I "$U$p"
  done
done
kill -HUP $NPID; sleep 1
$C -A "$UA" $U/
$C -A "Googlebot/2.1 (+http://www.google.com/bot.html)" $U/robots.txt
sed 's/worker_processes 1;/worker_processes 1; no_such_directive on;/' "$H/nginx.conf" > "$D/bad.conf"
nginx -p "$D/" -c "$D/bad.conf" -e "$D/logs/error.log" -t >/dev/null 2>&1
kill -QUIT $NPID; wait $NPID
kill $SLOW 2>/dev/null
cp "$D/logs/error.log" "$H/sample.log" && python3 "$H/../_tools/service_keys.py" nginx-error "$H/sample.log" "$D/logs/access-key.jsonl" > "$H/key.jsonl"
