#!/bin/sh
# Regenerates sample.log + key.jsonl here. Debian php-cli 8.2 + php-monolog 2.9.1, faketime.
cd "$(dirname "$0")" && TZ=UTC faketime -f "@2026-11-30 23:59:58" php make.php
