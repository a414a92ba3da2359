#!/bin/sh
# Run by `meson install`: puts the shipped server.conf in place unless one is
# there already, so that installing again never overwrites the user's. A
# staged install (DESTDIR) starts empty: there it is always installed.
# Usage: install-config.sh SOURCE DIRECTORY
set -e
dir="${DESTDIR:-}$2"
[ -e "$dir/server.conf" ] && exit 0
mkdir -p "$dir"
install -m 0644 "$1" "$dir/server.conf"
