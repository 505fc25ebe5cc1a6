#!/bin/sh
# Builds the plugin, then runs its unit tests natively.
set -eu
cd "$(dirname "$0")"
sh build.sh
PATH=/usr/bin:/bin cargo test --offline --release -q
