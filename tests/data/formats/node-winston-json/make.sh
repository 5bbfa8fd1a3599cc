#!/bin/sh
# Regenerates sample.log + key.jsonl here. needs winston 3.19.0 (npm install winston) in this dir or a parent's node_modules.
cd "$(dirname "$0")" && TZ=UTC faketime -f "@2026-11-30 23:59:57" node make.js json
