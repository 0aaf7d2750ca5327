#!/bin/sh
# One client connection of the mysql stand-in; stdin/stdout are the socket.
# Commands, one per line (answers are one line each):
#   PING            -> PONG
#   SET key value   -> OK          (value = rest of the line)
#   GET key         -> value, or "ERR no such key"
#   DEL key         -> OK
#   QUIT            -> BYE, then the server closes the connection
# Data lives in /var/lib/mysql/kite/<key>, so it survives restarts when
# /var/lib/mysql is a persistent volume.  Keys: [A-Za-z0-9_.-] only.
dir=/var/lib/mysql/kite
cr=$(printf '\r')
while read -r cmd key value; do
    cmd=${cmd%"$cr"} key=${key%"$cr"} value=${value%"$cr"}
    case "$key" in
    *[!A-Za-z0-9_.-]* | .*) echo "ERR bad key"; continue ;;
    esac
    case "$cmd" in
    PING | ping) echo PONG ;;
    SET | set)
        if [ -z "$key" ]; then echo "ERR usage: SET key value"; continue; fi
        # write + rename so a reader never sees a half-written value
        printf '%s\n' "$value" > "$dir/.$key.tmp" && mv "$dir/.$key.tmp" "$dir/$key" &&
            echo OK || echo "ERR write failed"
        ;;
    GET | get)
        if [ -n "$key" ] && [ -f "$dir/$key" ]; then cat "$dir/$key"; else echo "ERR no such key"; fi
        ;;
    DEL | del) rm -f "$dir/$key"; echo OK ;;
    QUIT | quit) echo BYE; exit 0 ;;
    *) echo "ERR unknown command" ;;
    esac
done
