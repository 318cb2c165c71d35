#!/bin/sh
echo "script on $(id -un) with $# args: $*"
echo "to stderr" >&2
