#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages (if missing), starts its cluster on 127.0.0.1 and creates
# the user and database of the JDBC tests; idempotent, for a fresh Debian machine, run as root.
# Prints the environment of the PostgreSQL tests on stdout (everything else goes to stderr):
#   eval "$(.ci/postgres.sh)"
set -euo pipefail

PG_USER="${CANCELLATION_PG_USER:-cancellation}"
PG_PASSWORD="${CANCELLATION_PG_PASSWORD:-cancellation}"
PG_DB="${CANCELLATION_PG_DB:-cancellation}"

if [ "$(id -u)" -ne 0 ]; then
  echo "postgres.sh: run as root (it installs and starts PostgreSQL)" >&2
  exit 1
fi

if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y postgresql >&2
fi

# The first cluster the package created (Debian 12: 15 main).
read -r PG_VERSION PG_CLUSTER PG_PORT PG_STATUS _ < <(pg_lsclusters -h | head -n 1)
if [ "$PG_STATUS" != "online" ]; then
  pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >&2
fi

# Wait (at most 30 s) until it accepts connections.
for _ in $(seq 1 60); do
  if runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then break; fi
  sleep 0.5
done
runuser -u postgres -- pg_isready -h 127.0.0.1 -p "$PG_PORT" >&2

psql_admin() {
  runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"
}

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
  psql_admin -c "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD'" >&2
else
  psql_admin -c "ALTER ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD'" >&2
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >&2
fi

# Check the password login over TCP on loopback, as the tests connect.
PGPASSWORD="$PG_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -tAc "SELECT 1" >/dev/null

echo "export CANCELLATION_POSTGRES_URL=jdbc:postgresql://127.0.0.1:$PG_PORT/$PG_DB"
echo "export CANCELLATION_POSTGRES_USER=$PG_USER"
echo "export CANCELLATION_POSTGRES_PASSWORD=$PG_PASSWORD"
echo "export CANCELLATION_POSTGRES_REQUIRED=true"
