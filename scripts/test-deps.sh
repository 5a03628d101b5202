#!/usr/bin/env bash
# System packages the tests need beyond .venv: Debian's Chromium and ChromeDriver
# for the browser tests, Debian's Caddy for the reverse proxy tests
# (tests/deploy/test_proxy.py runs deploy/caddy/Caddyfile with it), and, with
# FERRETDB_BACKEND=postgresql, Debian's PostgreSQL for FerretDB's postgresql backend
# (tests/infra/postgresql.py). Kafka's jars (Maven), FerretDB, promtool and
# kustomize (Go) and axe-core (npm) are installed and cached by the test harness
# itself when first needed.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium and chromium-driver for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "WARNING: chromium/chromedriver missing and apt-get is not usable here;" \
         "browser tests will skip (and fail under CI=true)" >&2
  fi
fi

if ! command -v caddy >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's caddy for the reverse proxy tests"
    apt-get update -qq
    # The package's service is not wanted: the tests start Caddy themselves on loopback.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null
  else
    echo "WARNING: caddy missing and apt-get is not usable here;" \
         "proxy tests will skip (and fail under CI=true)" >&2
  fi
fi

# Only for FERRETDB_BACKEND=postgresql: the default backend is SQLite (docs/benchmarks.md,
# "FerretDB backends"), so the default run does not pay for the package.
if [ "${FERRETDB_BACKEND:-sqlite}" = "postgresql" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's postgresql for FERRETDB_BACKEND=postgresql"
    # The package's own cluster and service are not wanted: tests/infra/postgresql.py runs
    # initdb into a temp dir per FerretDB and starts the server on a private Unix socket.
    # (postgresql-common's createcluster.conf reads createcluster.d through its include_dir.)
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/no-main-cluster.conf
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "WARNING: PostgreSQL's server programs missing and apt-get is not usable here;" \
         "FERRETDB_BACKEND=postgresql cannot run (the default SQLite backend is unaffected)" >&2
  fi
fi
