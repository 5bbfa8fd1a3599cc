#!/bin/sh
# Written by the same server run as ../postgresql-stderr: run its make.sh.
exec sh "$(dirname "$0")/../postgresql-stderr/make.sh"
