#!/bin/sh
# sample.log is lines 5895-6100 of this machine's /var/log/dpkg.log (the apt-get install of
# nginx, haproxy, caddy, apache2, ... on 2026-11-30), copied unchanged.
H=$(dirname "$(readlink -f "$0")")
[ "$1" = copy ] && sed -n '5895,6100p' /var/log/dpkg.log > "$H/sample.log"
python3 "$H/../_tools/service_keys.py" dpkg "$H/sample.log" > "$H/key.jsonl"
