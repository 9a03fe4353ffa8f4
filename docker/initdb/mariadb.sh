#!/bin/bash
# Runs once inside each MariaDB container on first start (docker-entrypoint-initdb.d).
# Accounts are created with the binlog off, so they never replicate; replicas point at the primary.
set -euo pipefail
sql() { mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" "$@"; }
sql <<SQL
SET SESSION sql_log_bin = 0;
CREATE USER 'drkit'@'%' IDENTIFIED BY '${DRKIT_ADMIN_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO 'drkit'@'%' WITH GRANT OPTION;
CREATE USER 'repl'@'%' IDENTIFIED BY '${DRKIT_REPL_PASSWORD}';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
CREATE USER 'app'@'%' IDENTIFIED BY '${DRKIT_APP_PASSWORD}';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX ON *.* TO 'app'@'%';
SQL
if [ "${DRKIT_ROLE}" != "primary" ]; then
  # Replication starts by itself when the server restarts after initialization.
  sql <<SQL
CHANGE MASTER TO MASTER_HOST='${DRKIT_PRIMARY_HOST}', MASTER_PORT=3306, MASTER_USER='repl',
  MASTER_PASSWORD='${DRKIT_REPL_PASSWORD}', MASTER_USE_GTID=slave_pos, MASTER_DELAY=${DRKIT_DELAY};
SQL
fi
