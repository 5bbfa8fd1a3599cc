#!/bin/sh
# Regenerates sample.log + key.jsonl here. Python 3 stdlib logging, logging.BASIC_FORMAT (no time in the lines).
cd "$(dirname "$0")" && TZ=UTC faketime -f "@2026-11-30 23:59:57" python3 ../_tools/python_logging_make.py '%(levelname)s:%(name)s:%(message)s'
