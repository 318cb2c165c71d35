#!/usr/bin/env bash
# Deployment stages measured: the all-in-one re-run (play vs ansible-core) and stage-split
# roles on loopback sshd hosts (--staged vs Ansible's order). Not a test; needs root.
#   bench/stages.sh                                   both cases, 10 hosts
#   BENCH_CASES=s2 STAGES_HOSTS=3 bench/stages.sh     a smoke run of one case
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec python3 "$here/stages.py" "$@"
