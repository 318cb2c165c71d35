#!/bin/sh
# Prints its arguments and working directory; writes a marker when asked.
echo "args: $*"
echo "pwd: $(pwd)"
if [ "$1" = "mark" ]; then
  echo marked > "$2"
fi
echo "to stderr" >&2
