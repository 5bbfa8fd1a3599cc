#!/bin/sh
# Regenerates sample.log + key.jsonl here. Debian systemd 252 journalctl + systemd-journal-remote; scratch dir given as argument.
cd "$(dirname "$0")" && python3 make.py "${D:-/tmp/loghaul-journal}"
