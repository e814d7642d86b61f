#!/usr/bin/env bash
# Start PostgreSQL from Debian's package on 127.0.0.1 and create the test database.
set -euo pipefail

if [ ! -d /usr/lib/postgresql ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 && break
    sleep 1
done
pg_isready -h 127.0.0.1
su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='nids_test'\"" | grep -q 1 \
    || su postgres -c "createdb nids_test"
echo "postgresql $version ready on 127.0.0.1:5432 (database nids_test)"
