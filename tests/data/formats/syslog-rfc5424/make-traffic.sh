#!/bin/sh
# Sends ~100 messages with util-linux logger (RFC 5424 over the Unix socket, so the timestamp
# and its microseconds come from logger's clock; libfaketime shifts that clock to just before midnight).
S=/work/corpus/rsyslog/log.sock
i=0
while [ $i -lt 100 ]; do
  i=$((i+1))
  case $((i % 10)) in
    0|1|2) logger -u $S --rfc5424=notq -p auth.info -t sshd --id=$((4000+i%7)) "Accepted publickey for deploy from 198.51.100.$i port $((40000+i)) ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4";;
    3) logger -u $S --rfc5424=notq -p auth.notice -t sshd --id=$((4000+i%7)) "Invalid user admin from 203.0.113.$i port $((50000+i))";;
    4) logger -u $S --rfc5424=notq -p cron.info -t CRON --id=$((6000+i)) "(root) CMD (run-parts /etc/cron.hourly)";;
    5) logger -u $S --rfc5424=notq -p local0.warning -t app --id=2345 --msgid ORDER --sd-id order@32473 --sd-param 'id="'$((9000+i))'"' "payment retry scheduled for order $((9000+i))";;
    6) logger -u $S --rfc5424=notq -p local0.err -t app --id=2345 --msgid PAY "payment provider returned 502 Bad Gateway";;
    7) logger -u $S --rfc5424=notq -p daemon.debug -t dhclient --id=812 "DHCPREQUEST for 10.0.0.$i on eth0 to 10.0.0.1 port 67";;
    8) logger -u $S --rfc5424=notq -p kern.crit -t kernel "EXT4-fs error (device sda1): ext4_lookup:1812: inode #$i: comm ls: deleted inode referenced";;
    9) logger -u $S --rfc5424=notq -p user.alert -t smartd --id=700 "Device: /dev/sda [SAT], FAILED SMART self-check. BACK UP DATA NOW!";;
  esac
  [ $((i % 3)) -eq 0 ] && sleep 0.0$((i % 7))
done
logger -u $S --rfc5424=notq -p local7.emerg -t watchdog --id=1 "system temperature critical, shutting down"
