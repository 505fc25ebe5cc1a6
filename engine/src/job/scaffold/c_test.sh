#!/bin/sh
# Builds the plugin, then runs the check natively on a sample input.
set -eu
cd "$(dirname "$0")"
sh build.sh
cc -Wall -Wextra -I . -o test-native test.c
./test-native
