#!/bin/sh
# Written by the same rsyslogd run as ../syslog-rfc5424: run its make.sh.
exec sh "$(dirname "$0")/../syslog-rfc5424/make.sh"
