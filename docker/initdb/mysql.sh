#!/bin/bash
# Runs once inside each MySQL container on first start (docker-entrypoint-initdb.d).
# Accounts are created with the binlog off, so they never replicate; replicas point at the source.
set -euo pipefail
sql() { mysql -uroot -p"$MYSQL_ROOT_PASSWORD" "$@"; }
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
  sql <<SQL
CHANGE REPLICATION SOURCE TO SOURCE_HOST='${DRKIT_PRIMARY_HOST}', SOURCE_PORT=3306,
  SOURCE_USER='repl', SOURCE_PASSWORD='${DRKIT_REPL_PASSWORD}', SOURCE_AUTO_POSITION=1,
  SOURCE_DELAY=${DRKIT_DELAY}, GET_SOURCE_PUBLIC_KEY=1;
SQL
fi
