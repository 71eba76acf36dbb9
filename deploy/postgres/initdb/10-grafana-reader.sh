#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory
# (/docker-entrypoint-initdb.d). Creates Grafana's read-only role; see ../grafana-reader.sql.
set -eu
: "${GRAFANA_DB_USER:?set GRAFANA_DB_USER for the postgres service}"
: "${GRAFANA_DB_PASSWORD:?set GRAFANA_DB_PASSWORD for the postgres service}"
psql --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader_role="$GRAFANA_DB_USER" \
    -v reader_password="$GRAFANA_DB_PASSWORD" \
    -v owner_role="$POSTGRES_USER" \
    -f /etc/facility/grafana-reader.sql
