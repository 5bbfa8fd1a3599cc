#!/bin/sh
# Regenerates sample.log + key.jsonl here. Python 3 stdlib logging; libfaketime only starts the clock at 23:59:57.
cd "$(dirname "$0")" && TZ=UTC faketime -f "@2026-11-30 23:59:57" python3 ../_tools/python_logging_make.py
