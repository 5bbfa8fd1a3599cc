#!/bin/sh
# The access log comes from the same run as ../apache-error (its make.sh); the server also wrote
# access-key.jsonl, a parallel JSON access log of the same requests (the key's source).
H=$(dirname "$(readlink -f "$0")"); D=${D:-/work/corpus/apache}
sh "$H/../apache-error/make.sh"
cp "$D/logs/access.log" "$H/sample.log"; cp "$D/logs/access-key.jsonl" "$H/access-key.jsonl"
python3 "$H/../_tools/service_keys.py" apache-access "$H/sample.log" "$H/access-key.jsonl" > "$H/key.jsonl"
