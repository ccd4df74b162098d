#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/e2e/), driven by Playwright through
# executable_path: Playwright's own browser download is never used (nothing is fetched
# at test time but this apt package). Idempotent: does nothing when Chromium is there.
set -euo pipefail
CHROMIUM="${KENNING_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
"$CHROMIUM" --version
