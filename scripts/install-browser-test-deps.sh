#!/usr/bin/env bash
# What the review UI's browser tests (tests/review_ui/browser) need: Debian's Chromium and the
# Playwright Python package. Playwright drives /usr/bin/chromium; never run `playwright install`
# (browser downloads do not work offline). Call from .ci/run before pytest.
set -euo pipefail

PYTHON="${PYTHON:-python}"

if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
"$PYTHON" -m pip install --quiet "playwright>=1.49,<2"
chromium --version
