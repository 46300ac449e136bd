#!/bin/sh
# Installs the packages named in $1 into ./vendor, "downloading" each into the dependency cache
# /root/.cache/deps only when it is not there yet, as npm, pip or cargo do with their caches. A
# download is simulated (no registry is reachable here): one second of latency, then 1 MB.
set -eu
cache=/root/.cache/deps
mkdir -p "$cache" vendor
while read -r name; do
  [ -n "$name" ] || continue
  if [ -f "$cache/$name.tar" ]; then
    echo "cached      $name"
  else
    echo "downloading $name"
    sleep 1
    tmp=$(mktemp -d)
    macro=$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
    printf '#define %s_VERSION "1.0"\n' "$macro" > "$tmp/$name.h"
    head -c 1000000 /dev/urandom > "$tmp/$name.data"
    tar -C "$tmp" -cf "$cache/$name.tar.part" . && mv "$cache/$name.tar.part" "$cache/$name.tar"
    rm -rf "$tmp"
  fi
  mkdir -p "vendor/$name"
  tar -C "vendor/$name" -xf "$cache/$name.tar"
done < "$1"
