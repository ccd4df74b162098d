#!/usr/bin/env bash
# Tools the tests need beyond Python packages, installed into .tools/bin (not system-wide).
#
# promtool (validates and unit-tests deploy/prometheus/alerts.yml): taken from Debian's
# `prometheus` package. The package is downloaded, not installed: installing it would add
# a Prometheus server and its service; only the static promtool binary is extracted.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=.tools/bin
mkdir -p "$TOOLS"

if command -v promtool >/dev/null 2>&1 || [ -x "$TOOLS/promtool" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
  # A fresh machine may have no package lists yet (needs root).
  apt-get update -qq >/dev/null
  (cd "$tmp" && apt-get download prometheus >/dev/null)
fi
dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool
install -m 0755 "$tmp/usr/bin/promtool" "$TOOLS/promtool"
"$TOOLS/promtool" --version | head -1
