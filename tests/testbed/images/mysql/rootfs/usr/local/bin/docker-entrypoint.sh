#!/bin/sh
# Stand-in for the mysql image's entrypoint (kite test bed).  Mimics what
# workloads notice: it refuses to start without one of the password
# variables, and initializes /var/lib/mysql on first start.
set -e

# As in the real image: "docker run mysql --some-flag" means mysqld flags.
if [ "${1#-}" != "$1" ]; then
    set -- mysqld "$@"
fi
if [ "$1" != mysqld ]; then
    exec "$@"
fi

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) 0 [$1] [Entrypoint]: $2"; }

if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] &&
   [ -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
    log ERROR "Database is uninitialized and password option is not specified
    You need to specify one of the following:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD" >&2
    exit 1
fi

datadir=/var/lib/mysql
if [ ! -e "$datadir/ibdata1" ]; then
    log Note "Initializing database files"
    mkdir -p "$datadir/mysql" "$datadir/kite"
    if [ -n "$MYSQL_DATABASE" ]; then
        mkdir -p "$datadir/$MYSQL_DATABASE"
    fi
    if [ -n "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
        log Note "GENERATED ROOT PASSWORD: $(head -c 12 /dev/urandom | md5sum | cut -c1-16)"
    fi
    # ibdata1 is the marker "this data dir is initialized", as in InnoDB.
    echo "kite mysql stand-in data dir, created $(date -u)" > "$datadir/ibdata1"
    log Note "Database files initialized"
fi
exec "$@"
