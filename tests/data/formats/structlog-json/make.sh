#!/bin/sh
# Regenerates sample.log + key.jsonl here. pip install structlog==26.1.0.
cd "$(dirname "$0")" && TZ=UTC faketime -f "@2026-11-30 23:59:57" python3 ../_tools/structlog_make.py json
