#!/bin/sh
# Adds a little client activity (make-activity.py: pip install pika) to the machine's running
# RabbitMQ, then cuts sample.log out of its log and writes the key.
H=$(dirname "$(readlink -f "$0")"); cd "$H"
python3 make-activity.py && python3 make-sample.py
python3 "$H/../_tools/service_keys.py" rabbitmq "$H/sample.log" > "$H/key.jsonl"
