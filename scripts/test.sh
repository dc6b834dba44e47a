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

# Deliverability tests run Debian's Postfix (a private instance), dnsmasq (a DNS server of their own),
# Dovecot (a bounce mailbox) and python3-dkim / opendkim-tools (signature checks). Installed when
# missing, with no service started (policy-rc.d), and retried while another apt holds the lock.
need=()
command -v postfix >/dev/null || need+=(postfix)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v dovecot >/dev/null || need+=(dovecot-imapd)
/usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null || need+=(python3-dkim python3-nacl)
command -v opendkim-testmsg >/dev/null || need+=(opendkim-tools)
# Directory tests run Debian's OpenLDAP (a private slapd per test file; the machine's own is never started).
[ -x /usr/sbin/slapd ] || command -v slapd >/dev/null || need+=(slapd)
command -v ldapsearch >/dev/null || need+=(ldap-utils)
# The Active Directory test provisions Debian's Samba AD DC (a private one, in a network namespace of its own).
command -v samba-tool >/dev/null && [ -x /usr/sbin/samba ] || need+=(samba-ad-dc samba ldb-tools)
# The mail content test scores every mail with SpamAssassin (offline rules, no daemon).
command -v spamassassin >/dev/null || need+=(spamassassin)
if [ ${#need[@]} -gt 0 ]; then
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created_policy=1; fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
  # slapd's package would otherwise configure a directory of its own for the machine.
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections 2>/dev/null || true
  for _ in 1 2 3 4 5 6; do
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null) && break
    sleep 20
  done || echo "warning: could not install ${need[*]}" >&2
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

npx tsc --noEmit
# The CLI tests spawn bin/dialin.js, which runs dist/ while it is newer than src/: build it, so they
# test the compiled code that `npm ci` installs (scripts/build.mjs, a second or two).
node scripts/build.mjs

# DIALIN_TEST_LOAD=N: N busy processes saturate the CPUs for the whole run (the tests must hold on a
# loaded machine); they are killed by PID when the run ends, however it ends.
load_pids=()
stop_load() { if [ ${#load_pids[@]} -gt 0 ]; then kill "${load_pids[@]}" 2>/dev/null || true; wait "${load_pids[@]}" 2>/dev/null || true; fi; }
trap stop_load EXIT
for _ in $(seq 1 "${DIALIN_TEST_LOAD:-0}"); do
  node -e 'for (;;) {}' &
  load_pids+=($!)
done
[ ${#load_pids[@]} -gt 0 ] && echo "DIALIN_TEST_LOAD: ${#load_pids[@]} busy processes (${load_pids[*]}) for the run"

# Test files given as arguments run alone (npm test -- test/mail/crash.test.ts); else every test.
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort); fi
# The spec reporter on stdout, and at the end a list of what failed (name, file, first line of the error).
# The timeout (per file and test) only guards against a hang: long enough for the heaviest file on a loaded machine.
failures=$(mktemp /tmp/dialin-test-failures.XXXXXX)
rc=0
node --import tsx --test --test-concurrency="${DIALIN_TEST_CONCURRENCY:-2}" --test-timeout=1800000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./scripts/failures-reporter.mjs --test-reporter-destination="$failures" \
  "${files[@]}" || rc=$?
cat "$failures"
rm -f "$failures"
exit "$rc"
