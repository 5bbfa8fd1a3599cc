#!/bin/sh
# Regenerates sample.log + key.jsonl here. SYNTHESIZED (see README.md): written by make.py after the documented format.
cd "$(dirname "$0")" && python3 make.py dotnet-serilog
