#!/usr/bin/env bash
# The test command: starts what the tests need, type-checks, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=${npm_config_nodedir:-/usr}

# PostgreSQL: the machine has it at 127.0.0.1:5432 with trust auth; start it if it is down.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

# Browser tests need Debian's chromium; install it when missing (CI machines start without it).
if [ "${DIALIN_SKIP_BROWSER:-}" != "1" ] && [ -d test/browser ] && ! command -v chromium >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium" >&2
fi

npx tsc --noEmit

mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
node --import tsx --test --test-concurrency="${DIALIN_TEST_CONCURRENCY:-2}" --test-timeout=600000 "${files[@]}"
