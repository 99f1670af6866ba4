#!/usr/bin/env bash
# Make sure a PostgreSQL server with PostGIS answers on 127.0.0.1:5432 and that the
# test role can connect.  On a machine with no server it installs PostgreSQL 15 and
# PostGIS from Debian's packages, creates a cluster, allows trust auth on loopback
# (a test machine only) and starts it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PGVER=${PGVER:-15}
"$HERE/system-packages.sh" "postgresql-$PGVER" "postgresql-$PGVER-postgis-3" postgresql-client-common
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$PGVER main$"; then
  echo "geogrid: creating PostgreSQL $PGVER cluster 'main'"
  $SUDO pg_createcluster "$PGVER" main --port 5432
fi
HBA="/etc/postgresql/$PGVER/main/pg_hba.conf"
if ! $SUDO grep -q "geogrid-test" "$HBA"; then
  echo "geogrid: allowing trust auth on loopback for tests ($HBA)"
  $SUDO sed -i '1i host all all 127.0.0.1/32 trust # geogrid-test\nhost all all ::1/128 trust # geogrid-test\nlocal all all trust # geogrid-test' "$HBA"
  reload=1
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "geogrid: starting PostgreSQL $PGVER"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$PGVER" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
elif [ "${reload:-0}" = 1 ]; then
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$PGVER" main reload
fi
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -d postgres -qAtc "select 1" >/dev/null \
  || { echo "geogrid: cannot connect to PostgreSQL as postgres on 127.0.0.1:5432" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -d postgres -qAtc "select name from pg_available_extensions where name='postgis'" | grep -q postgis \
  || { echo "geogrid: PostGIS is not available to the server; install postgresql-$PGVER-postgis-3" >&2; exit 1; }
