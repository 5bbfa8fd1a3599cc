#!/bin/sh
# Regenerates sample.log + key.jsonl here. SYNTHESIZED (see README.md): written by ../_tools/make_synth.py (one script for the six synthesized formats) after the documented format.
cd "$(dirname "$0")" && python3 ../_tools/make_synth.py dotnet-serilog
