#!/bin/sh
# Regenerates sample.log + key.jsonl here. Debian ruby 3.1 + ruby-railties/ruby-actionpack 6.1.7.10, faketime.
cd "$(dirname "$0")" && rm -f sample.log key.jsonl && RAILS_ENV=production TZ=UTC faketime -f "@2026-11-30 23:59:57" ruby make.rb && rm -rf log tmp
