#!/bin/sh
# Apache httpd (Debian apache2 2.4) with httpd.conf, foreground; curl traffic; graceful restart; stop.
H=$(dirname "$(readlink -f "$0")"); D=${D:-/work/corpus/apache}
mkdir -p "$D/logs" "$D/htdocs/docs" "$D/run" "$D/cgi"; echo ok > "$D/htdocs/index.html"; chown www-data "$D/logs"
printf '#!/bin/sh\necho "warning: deprecated parameter" >&2\nprintf "Content-Type: text/plain\\r\\n\\r\\nok\\n"\n' > "$D/cgi/report.sh"
printf '#!/bin/sh\necho "Traceback: something broke" >&2\nexit 1\n' > "$D/cgi/broken.sh"; chmod +x "$D"/cgi/*.sh
htpasswd -bc "$D/htpasswd" staff not-a-real-password 2>/dev/null
rm -f "$D"/logs/*
apache2 -f "$H/httpd.conf" -DFOREGROUND </dev/null >/dev/null 2>&1 & P=$!
sleep 1.5
C="curl -s -o /dev/null --max-time 3"; U=http://127.0.0.1:18084
UAS="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36|curl/7.88.1|Wget/1.21.3|-"
i=0
for round in 1 2; do for p in / /index.html /nope.html /docs/ /secret/plan.txt /staff/ /backend/api "/cgi-bin/report.sh?x=1" /cgi-bin/broken.sh /cgi-bin/missing.sh "/search?q=a%20b" /.env /../../etc/passwd; do
  for ua in "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36" "curl/7.88.1" "-"; do
    i=$((i+1))
    case $ua in -) $C -H "User-Agent:" --path-as-is "$U$p";; *) $C -A "$ua" -e "http://localhost/ref$i" --path-as-is "$U$p";; esac
  done
done; done
$C -u staff:wrong $U/staff/
$C -u staff:not-a-real-password $U/staff/
$C -u ghost:x $U/staff/
$C -X DELETE $U/index.html
$C -X POST -d a=1 $U/cgi-bin/report.sh
kill -USR1 $P; sleep 1.5
$C -A "curl/7.88.1" $U/
$C -A "curl/7.88.1" $U/after-restart
kill -WINCH $P; wait $P
cp "$D/logs/error.log" "$H/sample.log" && python3 "$H/../_tools/service_keys.py" apache-error "$H/sample.log" > "$H/key.jsonl"
