#!/bin/sh
# Prints the application's effective configuration.
cat "$(dirname "$0")/../etc/appsvc.conf"
