#!/bin/sh
# Regenerates sample.log + key.jsonl here (Debian liblog4j2-java 2.19.0, faketime, JDK 17).
set -e
H=$(cd "$(dirname "$0")" && pwd); T=$(mktemp -d)
CP=/usr/share/java/log4j-api.jar:/usr/share/java/log4j-core.jar
javac -nowarn -d "$T" -cp $CP "$H/Make.java"
cd "$H" && TZ=UTC faketime -f "@2026-11-30 23:59:58" java -cp "$T:$CP" -Dlog4j2.configurationFile=log4j2.xml Make
rm -rf "$T"
