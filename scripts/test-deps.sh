#!/usr/bin/env bash
# System pieces the tests need beyond .venv: Debian's Chromium and ChromeDriver
# for the browser tests, and axe-core from npm for the accessibility check.
# Kafka's jars (Maven) and FerretDB (Go) are installed by the test harness itself.
set -euo pipefail
cache="${CC_INFRA_CACHE:-$HOME/.cache/childrens-centres-infra}"
axe_version="4.11.0"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium and chromium-driver for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "WARNING: chromium/chromedriver missing and cannot apt-get install them; browser tests will skip (fail under CI)" >&2
  fi
fi

if [ ! -f "$cache/axe-core-$axe_version/node_modules/axe-core/axe.min.js" ]; then
  if command -v npm >/dev/null 2>&1; then
    mkdir -p "$cache/axe-core-$axe_version"
    npm install --silent --no-audit --no-fund --prefix "$cache/axe-core-$axe_version" "axe-core@$axe_version" >/dev/null
  else
    echo "WARNING: npm missing; the accessibility check will skip (fail under CI)" >&2
  fi
fi
