#!/bin/sh
# Prepares a Debian machine for rockerc's end-to-end tests and examples, and is safe to run again:
#   - installs what is missing: the Docker engine (docker.io), shellcheck, a local registry
#     (docker-registry), busybox-static and debootstrap (for base images), curl, graphviz;
#   - starts dockerd when `docker info` fails, and a registry on 127.0.0.1:5000 when none answers;
#   - builds the base images the golden examples use, since no registry is assumed reachable:
#       rockerc-test/busybox  Debian's static busybox, imported (instant)
#       rockerc-test/builder  debootstrap minbase with gcc (about 40 s the first time)
#       rockerc-test/node     the builder plus Debian's nodejs and npm (about 90 s the first time)
# Usage: sh tests/setup.sh [images]   (`images` skips installing and starting services)
set -eu

say() { printf 'setup: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    say "need root to run: $*"; exit 1
  fi
}

install_packages() {
  missing=
  command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
  command -v shellcheck >/dev/null 2>&1 || missing="$missing shellcheck"
  [ -x /usr/bin/docker-registry ] || missing="$missing docker-registry"
  [ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' ||
    missing="$missing busybox-static"
  command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
  command -v curl >/dev/null 2>&1 || missing="$missing curl"
  command -v script >/dev/null 2>&1 || missing="$missing bsdutils"
  command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
  if [ -n "$missing" ]; then
    say "installing$missing"
    as_root apt-get update -qq
    # shellcheck disable=SC2086 # a list of package names
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
}

start_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  say "starting dockerd"
  as_root sh -c 'nohup dockerd >/var/log/rockerc-dockerd.log 2>&1 &'
  i=0
  until docker info >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then
      tail -n 20 /var/log/rockerc-dockerd.log >&2 || :
      say "dockerd did not come up"; exit 1
    fi
    sleep 1
  done
}

start_registry() {
  if curl -fsS --max-time 2 http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then return 0; fi
  if curl -sS --max-time 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:5000/v2/ 2>/dev/null | grep -q 401; then
    # Debian's packaged configuration asks for htpasswd logins; the tests push without one.
    say "stopping the registry on 127.0.0.1:5000 that requires authentication"
    as_root pkill -f 'docker-registry serve' || :
    sleep 1
  fi
  say "starting a registry on 127.0.0.1:5000"
  config=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)/registry.yml
  as_root sh -c "nohup /usr/bin/docker-registry serve '$config' >/var/log/rockerc-registry.log 2>&1 &"
  i=0
  until curl -fsS --max-time 2 http://127.0.0.1:5000/v2/ >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 30 ]; then say "the registry did not come up"; exit 1; fi
    sleep 1
  done
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

busybox_image() {
  have_image rockerc-test/busybox:latest && return 0
  say "building rockerc-test/busybox"
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/home/app"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\napp:x:1000:\n' > "$root/etc/group"
  chmod 1777 "$root/tmp"
  chown 1000:1000 "$root/home/app" 2>/dev/null || :
  tar -C "$root" -c . | docker import -c 'CMD ["sh"]' - rockerc-test/busybox:latest >/dev/null
  rm -rf "$root"
}

builder_image() {
  have_image rockerc-test/builder:latest && return 0
  cache=${ROCKERC_ROOTFS_CACHE:-/var/tmp/rockerc-images}
  if [ ! -x "$cache/builder/usr/bin/gcc" ]; then
    say "debootstrap of the builder (gcc) into $cache/builder"
    as_root mkdir -p "$cache"
    as_root rm -rf "$cache/builder"
    as_root debootstrap --variant=minbase --include=gcc,libc6-dev bookworm "$cache/builder" http://deb.debian.org/debian >/dev/null
  fi
  say "importing rockerc-test/builder"
  as_root tar -C "$cache/builder" -c . | docker import -c 'CMD ["bash"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - rockerc-test/builder:latest >/dev/null
}

node_image() {
  have_image rockerc-test/node:latest && return 0
  say "building rockerc-test/node (Debian's nodejs and npm)"
  # Debian's npm needs its recommended node-* modules, which a plain install leaves out.
  DOCKER_BUILDKIT=0 docker build -q -t rockerc-test/node:latest - >/dev/null 2>&1 <<'EOF'
FROM rockerc-test/builder
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm git openssh-client >/dev/null \
 && (apt-get -f install -y -qq && apt-get install -y -qq --install-recommends npm) >/dev/null \
 && apt-get clean && rm -rf /var/lib/apt/lists/* && npm --version
EOF
}

if [ "${1:-}" != images ]; then
  install_packages
  start_docker
  start_registry
fi
busybox_image
builder_image
node_image
say "ready"
