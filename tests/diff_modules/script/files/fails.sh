#!/bin/sh
echo "about to fail"
echo "failure detail" >&2
exit 3
