#!/bin/sh
# Regenerates sample.log + key.jsonl here: Spring Boot 3.1's default console pattern reproduced with
# Debian liblogback-java 1.2.11 + libslf4j-java 1.7.32 (Spring Boot itself is not installable here), faketime, JDK 17.
set -e
H=$(cd "$(dirname "$0")" && pwd); T=$(mktemp -d)
CP=/usr/share/java/slf4j-api.jar:/usr/share/java/logback-classic.jar:/usr/share/java/logback-core.jar
javac -d "$T" -cp $CP "$H/../_tools/logback"/*.java
cd "$H" && TZ=UTC faketime -f "@2026-11-30 23:59:58" java -cp "$T:$CP" -Dlogback.configurationFile=logback.xml -DPID=24817 Make spring
rm -rf "$T"
