#!/bin/sh
# Regenerates sample.log + key.jsonl here. needs pino 10.4.0 installed (npm install pino) in this dir or a parent's node_modules.
cd "$(dirname "$0")" && TZ=UTC faketime -f "@2026-11-30 23:59:57" node make.js
