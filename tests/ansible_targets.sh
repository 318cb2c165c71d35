#!/usr/bin/env bash
# Conformance scorecard: ansible-core's own integration targets, run with `play` standing
# in for ansible-playbook (a PATH shim), the way ansible-test runs a target locally.
#
#   tests/ansible_targets.sh [PLAY_BINARY]     default: target/debug/play
#   tests/ansible_targets.sh --oracle           the real ansible-playbook (baseline)
#   tests/ansible_targets.sh --guard [PLAY_BINARY]
#       only the targets in tests/ansible_targets.pass, and any failure among them fails
#       the script (the regression guard CI runs)
#
# The ansible-core sdist is downloaded at test time into .cache/ (git-ignored); nothing
# from it is copied into the repository. Results go to .cache/conformance/results.txt
# (one line per target: name, PASS/FAIL/TIMEOUT/SKIP, seconds) and logs/<target>.log.
# Outside --guard, target failures never fail this script (it is a scorecard); a broken
# runner does.
# Knobs: PLAY_TARGETS="a b" (subset), PLAY_TARGET_TIMEOUT (s, default 180),
#        PLAY_CONFORMANCE_BUDGET (s, default 600: later targets are recorded as SKIP).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

CORE_VERSION=2.21.5
VENV="$ROOT/.venv"
CACHE="$ROOT/.cache/ansible-core"
SRC="$CACHE/ansible_core-$CORE_VERSION"
OUT="$ROOT/.cache/conformance"
PER_TARGET="${PLAY_TARGET_TIMEOUT:-180}"
BUDGET="${PLAY_CONFORMANCE_BUDGET:-600}"

# Targets that need only localhost and the language/modules of issue 2, are neither
# destructive nor need root/ssh/network/pip, and pass under the real ansible-playbook here
# within the per-target timeout (handlers, include_import and module_defaults take longer; pause
# needs pexpect from PyPI; tags needs an en_US locale; test_files depends on the cwd).
TARGETS=(
    add_host any_errors_fatal assert blocks changed_when check_mode command_shell debug
    failed_when filter_mathstuff filter_urls group_by hash ignore_errors
    ignore_unreachable include_vars inventory_ini loop_control loops
    lookup_csvfile lookup_dict lookup_env lookup_file lookup_fileglob lookup_first_found
    lookup_indexed_items lookup_ini lookup_items lookup_lines lookup_list lookup_nested
    lookup_pipe lookup_sequence lookup_subelements lookup_template lookup_together
    lookup_vars lookup_varnames meta_tasks no_log ping playbook roles
    set_fact stat strategy_free strategy_linear templating test_core
    test_mathstuff throttle until var_blending var_precedence var_templating
)
GUARD=false
if [ "${1:-}" = "--guard" ]; then
    GUARD=true
    shift
    mapfile -t TARGETS < <(grep -v '^#' tests/ansible_targets.pass | grep -v '^$')
    BUDGET=1000000
fi
[ -n "${PLAY_TARGETS:-}" ] && read -r -a TARGETS <<<"$PLAY_TARGETS"

if [ "${1:-}" = "--oracle" ]; then
    PLAY_BIN="$VENV/bin/ansible-playbook"
else
    PLAY_BIN="${1:-$ROOT/target/debug/play}"
fi
[ -x "$PLAY_BIN" ] || { echo "ansible_targets: $PLAY_BIN is not an executable" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || { echo "ansible_targets: no venv at $VENV; run scripts/venv.sh" >&2; exit 1; }

# 1. the sdist (download once, unpack once)
if [ ! -d "$SRC/test/integration/targets" ]; then
    mkdir -p "$CACHE"
    if ! ls "$CACHE"/ansible_core-"$CORE_VERSION".tar.gz >/dev/null 2>&1; then
        "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-input \
            --no-deps --no-binary :all: "ansible-core==$CORE_VERSION" -d "$CACHE"
    fi
    tar -xzf "$CACHE/ansible_core-$CORE_VERSION.tar.gz" -C "$CACHE"
fi

# 2. a scratch copy of test/integration, an inventory like ansible-test's, the shim
WORK="$(mktemp -d /tmp/play-conformance.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
cp -r "$SRC/test/integration/." "$WORK/"
cat >"$WORK/inventory" <<INV
[testgroup]
testhost ansible_connection=local ansible_pipelining=yes ansible_python_interpreter=$VENV/bin/python
INV
echo "{\"output_dir\": \"$WORK/output\"}" >"$WORK/integration_config.yml"
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$PLAY_BIN" >"$WORK/bin/ansible-playbook"
chmod +x "$WORK/bin/ansible-playbook"
for t in "${TARGETS[@]}"; do
    [ -d "$WORK/targets/$t" ] || { echo "ansible_targets: no target named $t" >&2; exit 1; }
done

mkdir -p "$OUT/logs"
RESULTS="$OUT/results.txt"
: >"$RESULTS.tmp"
start=$SECONDS
pass=0
for t in "${TARGETS[@]}"; do
    dir="$WORK/targets/$t"
    log="$OUT/logs/$t.log"
    if [ $((SECONDS - start)) -ge "$BUDGET" ]; then
        printf '%-28s SKIP (budget)\n' "$t" | tee -a "$RESULTS.tmp"
        continue
    fi
    rm -rf "$WORK/output"; mkdir -p "$WORK/output"
    if [ -f "$dir/runme.sh" ]; then
        cmd=(bash ./runme.sh)
    else
        gather=true
        grep -q '^gather_facts/no' "$dir/aliases" 2>/dev/null && gather=false
        printf -- '- hosts: testhost\n  gather_facts: %s\n  roles:\n    - %s\n' "$gather" "$t" >"$WORK/play_$t.yml"
        cmd=(ansible-playbook "$WORK/play_$t.yml" -i "$WORK/inventory" -e "@$WORK/integration_config.yml")
    fi
    t0=$SECONDS
    rc=0
    (
        cd "$dir"
        env -u ANSIBLE_CONFIG PATH="$WORK/bin:$VENV/bin:$PATH" \
            ANSIBLE_ROLES_PATH="$WORK/targets" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
            ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_DEPRECATION_WARNINGS=false \
            ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python" ANSIBLE_TEST_CI=1 \
            OUTPUT_DIR="$WORK/output" INVENTORY_PATH="$WORK/inventory" \
            timeout -k 10 "$PER_TARGET" "${cmd[@]}"
    ) </dev/null >"$log" 2>&1 || rc=$?
    secs=$((SECONDS - t0))
    if [ "$rc" -eq 0 ]; then status=PASS; pass=$((pass + 1));
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then status=TIMEOUT;
    else status=FAIL; fi
    printf '%-28s %-7s %4ss\n' "$t" "$status" "$secs" | tee -a "$RESULTS.tmp"
done
mv "$RESULTS.tmp" "$RESULTS"
echo "ansible_targets: $pass/${#TARGETS[@]} targets pass with $PLAY_BIN (results: $RESULTS)"
if $GUARD && [ "$pass" -ne "${#TARGETS[@]}" ]; then
    echo "ansible_targets: a target in tests/ansible_targets.pass no longer passes:" >&2
    grep -v ' PASS ' "$RESULTS" >&2
    for t in $(grep -v ' PASS ' "$RESULTS" | awk '{print $1}'); do
        echo "--- $OUT/logs/$t.log (last 30 lines)" >&2
        tail -n 30 "$OUT/logs/$t.log" >&2
    done
    exit 1
fi
