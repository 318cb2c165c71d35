#!/bin/sh
# A client script: asked for one identity with --vault-id.
[ "$1" = --vault-id ] || exit 1
echo "client-$2-test-pw"
