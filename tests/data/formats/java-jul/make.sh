#!/bin/sh
# Regenerates sample.log + key.jsonl here (JDK 17 java.util.logging, faketime).
cd "$(dirname "$0")" && TZ=UTC faketime -f "@2026-11-30 23:59:58" java Make.java
