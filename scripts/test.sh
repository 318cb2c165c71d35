#!/usr/bin/env bash
# The whole test suite, as CI runs it (README: "Testing"). Works as root on a fresh
# Debian 12 machine with Rust installed; safe to re-run (every step is skipped when done).
#   1. system packages the tests need (openssh-server for the SSH tests, sudo for become)
#   2. ./.venv with ansible==14.5.0 (the oracle for the differential tests)
#   3. cargo test --workspace
#   4. the ansible-core integration targets that pass with play (a regression guard);
#      PLAY_CONFORMANCE=all runs the whole scorecard instead (which never fails on a
#      target), PLAY_CONFORMANCE=none skips it
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-}" DEBIAN_FRONTEND=noninteractive
exec </dev/null

# Stop everything this script started, whatever way it ends.
kill_tree() {  # a PID and all its descendants, children first
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
    kill "$1" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local job
    for job in $(jobs -p); do kill_tree "$job"; done
    wait 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. packages (only what is missing; apt-get update at most once)
need=()
# cron: the cron module needs crontab, as Ansible's does; sudo and acl: become tests
# (Ansible hands module files to an unprivileged become user through ACLs)
for pkg in openssh-server openssh-client git cron sudo acl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "scripts/test.sh: missing packages ${need[*]} and not root; install them first" >&2
        exit 1
    fi
    echo "scripts/test.sh: installing ${need[*]}" >&2
    # Installing a daemon must not start it: nothing this script starts may outlive it.
    own_policy=false
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=true
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    if $own_policy; then rm -f /usr/sbin/policy-rc.d; fi
fi

# 2. the Ansible oracle
scripts/venv.sh

# 3. the cargo suite (the differential test needs the venv, which now exists)
status=0
cargo test --workspace --no-fail-fast 2>&1 & wait $! || status=$?

# 4. ansible-core's own integration targets
case "${PLAY_CONFORMANCE:-guard}" in
    none) ;;
    all)
        cargo build --bin play --quiet
        tests/ansible_targets.sh "$PWD/target/debug/play" & wait $! || status=$? ;;
    *)
        cargo build --bin play --quiet
        tests/ansible_targets.sh --guard "$PWD/target/debug/play" & wait $! || status=$? ;;
esac

exit "$status"
