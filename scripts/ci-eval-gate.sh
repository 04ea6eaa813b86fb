#!/usr/bin/env bash
# CI's release gate on the default version, as the evals issue asks: on a scratch data
# directory (embedded Postgres and Redis unless DATABASE_URL / REDIS_URL are set), load the
# Banking77 train split as history, create and promote the default calibrated knn version,
# build the default golden set (Banking77 test split, the project's taxonomy) and then
#   1. `eval gate --candidate <default> --baseline production` must pass (exit 0);
#   2. the same gate on a deliberately degraded version (confidence bar raised to 0.95, so
#      the agent hands many tickets to humans) must fail (exit 1).
# Prints the default version's scores. Needs the `ticketwatch` command on PATH (or set
# TICKETWATCH=...). Takes a few minutes: most of it embedding the 10,003 history tickets.
set -euo pipefail

tw=${TICKETWATCH:-ticketwatch}
export TICKETWATCH_DATA_DIR=${TICKETWATCH_DATA_DIR:-$(mktemp -d -t ticketwatch-ci-XXXXXX)}
default_version=${DEFAULT_VERSION:-1.0.0}
degraded_version=${DEGRADED_VERSION:-${default_version}-strict}

$tw services up
trap '$tw services down >/dev/null 2>&1 || true' EXIT
$tw migrate
$tw datasets prepare banking77 --split train --out "$TICKETWATCH_DATA_DIR/ci/history.jsonl"
$tw load-history "$TICKETWATCH_DATA_DIR/ci/history.jsonl" --source history:banking77-train
$tw versions create "$default_version" --promote --rationale "CI: the default calibrated knn"
$tw versions create "$degraded_version" --min-confidence 0.95 \
    --rationale "CI: deliberately degraded (confidence bar 0.95)"
$tw eval build-golden
$tw eval run --version "$default_version" --k 3

$tw eval gate --candidate "$default_version" --baseline production

set +e
$tw eval gate --candidate "$degraded_version" --baseline production
status=$?
set -e
if [ "$status" -ne 1 ]; then
    echo "the gate should have failed the degraded version (exit 1), got exit $status" >&2
    exit 1
fi
echo "gate: passes $default_version, fails the degraded $degraded_version"
