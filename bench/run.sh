#!/usr/bin/env bash
# play vs ansible-core vs ansible-core + Mitogen on real sshd hosts (loopback addresses).
# Not a test: it never runs in CI. Needs root (sshd must switch users). See bench/README.md.
#
#   bench/run.sh                                  the full run (cases a b c d, all three tools)
#   BENCH_HOSTS=2 BENCH_TASKS=5 bench/run.sh      a smoke run
#
# The work is done by bench/bench.py (Python 3, standard library only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec python3 "$here/bench.py" "$@"
