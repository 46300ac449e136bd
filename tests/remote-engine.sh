#!/bin/sh
# A stand-in for a remote Docker engine (a build server the CLI reaches over ssh:// or tcp://): a
# second dockerd on this machine that cannot see the client's folders. It runs in a mount
# namespace of its own (unshare -m) with an empty tmpfs over /tmp, /root, /home, /work and the
# checkout's parent, so a bind of a client path fails ("bind source path does not exist") or,
# worse, finds a folder of the server's own, as on a real remote daemon. Its own data-root,
# exec-root, pidfile, socket and bridge. Never `--bridge none`: a second daemon given it deletes
# the first daemon's docker0, and every container of the first daemon then fails.
#
# Usage: sh tests/remote-engine.sh start    prints the DOCKER_HOST to export (idempotent; copies
#                                          the base images it lacks from the client's engine)
#        sh tests/remote-engine.sh stop     stops the daemon this script started (by its pidfile)
# Environment: ROCKERC_REMOTE_DIR (default /run/rockerc-remote), ROCKERC_REMOTE_ROOT
# (/var/lib/rockerc-remote), ROCKERC_REMOTE_BRIDGE (rmt0), ROCKERC_REMOTE_NET (10.250.0.1/24),
# ROCKERC_REMOTE_IMAGES_FROM (the engine to copy the base images from; default: DOCKER_HOST as
# it was, or the default engine).
set -eu

dir=${ROCKERC_REMOTE_DIR:-/run/rockerc-remote}
root=${ROCKERC_REMOTE_ROOT:-/var/lib/rockerc-remote}
br=${ROCKERC_REMOTE_BRIDGE:-rmt0}
net=${ROCKERC_REMOTE_NET:-10.250.0.1/24}
sock=unix://$dir/docker.sock
from=${ROCKERC_REMOTE_IMAGES_FROM:-${DOCKER_HOST:-unix:///var/run/docker.sock}}
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
parent=$(dirname -- "$(dirname -- "$here")")

# ours PIDFILE WORD: whether the process PIDFILE names is still the one this script started (its
# command line names WORD). /run outlives a session's processes on these machines, and a stale
# pidfile's number may belong to another engine's process (or a thread: `kill -0` answers for a
# thread id too), which must never be killed or taken for our daemon's containerd.
ours() {
  [ -s "$1" ] || return 1
  p=$(tr -cd '0-9' < "$1")
  [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] && [ "$(sed -n 's/^Tgid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)" = "$p" ] &&
    tr '\0' ' ' < "/proc/$p/cmdline" | grep -qF -e "$2"
}

case ${1:-start} in
  stop)
    if ours "$dir/docker.pid" "$dir/docker.sock"; then
      pid=$(tr -cd '0-9' < "$dir/docker.pid")
      kill "$pid" 2>/dev/null || :
      i=0
      while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
    fi
    exit 0
    ;;
  start) ;;
  *) printf 'usage: sh tests/remote-engine.sh start|stop\n' >&2; exit 2 ;;
esac

copy_images() {
  for img in rockerc-test/busybox:latest rockerc-test/builder:latest rockerc-test/node:latest; do
    if ! DOCKER_HOST=$sock docker image inspect "$img" >/dev/null 2>&1 &&
      DOCKER_HOST=$from docker image inspect "$img" >/dev/null 2>&1; then
      DOCKER_HOST=$from docker save "$img" | DOCKER_HOST=$sock docker load >/dev/null
    fi
  done
}

if DOCKER_HOST=$sock docker info >/dev/null 2>&1; then
  copy_images
  printf '%s\n' "$sock"
  exit 0
fi
mkdir -p "$dir"
# What a daemon of an earlier boot or session left: pidfiles that name someone else's process now.
ours "$dir/docker.pid" "$dir/docker.sock" || rm -f "$dir/docker.pid"
ours "$dir/exec/containerd/containerd.pid" "$dir/exec/containerd" || rm -f "$dir/exec/containerd/containerd.pid"
if ! ip link show "$br" >/dev/null 2>&1; then
  ip link add "$br" type bridge
  ip addr add "$net" dev "$br"
  ip link set "$br" up
fi
# The client's folders, hidden from the daemon: each an empty tmpfs in its mount namespace.
hide=
for d in /tmp /root /home /work "$parent"; do
  if [ -d "$d" ]; then hide="$hide $d"; fi
done
# shellcheck disable=SC2016 # the inner sh expands its arguments
# shellcheck disable=SC2086 # $hide: a list of folders, none with blanks
nohup unshare -m --propagation private sh -c '
  dir=$1 root=$2 br=$3 sock=$4
  shift 4
  for d in "$@"; do mount -t tmpfs -o size=64m,mode=1777 rockerc-remote-hidden "$d"; done
  exec dockerd --data-root "$root" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    -H "$sock" --bridge "$br" --iptables=false --ip-masq=false' \
  sh "$dir" "$root" "$br" "$sock" $hide > "$dir/dockerd.log" 2>&1 &
i=0
until DOCKER_HOST=$sock docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -ge 60 ]; then tail -n 20 "$dir/dockerd.log" >&2; exit 1; fi
  sleep 1
done
# The base images the tests build FROM (no registry is reachable), from the client's engine.
copy_images
printf '%s\n' "$sock"
