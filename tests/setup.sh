#!/bin/sh
# Prepares a Debian machine for rockerc's end-to-end tests and examples, and is safe to run again.
#
# Usage: sh tests/setup.sh [images] [WHAT...]
#
#   Without `images`: installs what is missing (the Docker engine docker.io, shellcheck, the
#   registry docker-registry, busybox-static and debootstrap for base images, curl, graphviz and
#   less for the README's tour, script (bsdutils), rsync and python3 for the tests that use them),
#   waiting for the package manager's lock when another apt holds it; starts dockerd when
#   `docker info` fails, and a registry on 127.0.0.1:5000 when none answers there.
#   With `images`: none of that; the Docker engine must answer.
#
#   WHAT says which base images to build (no registry is assumed reachable), each only when the
#   engine does not have it yet:
#     busybox   rockerc-test/busybox  Debian's static busybox, imported (instant)
#     builder   rockerc-test/builder  debootstrap minbase with gcc (about 40 s the first time)
#     node      rockerc-test/node     the builder plus Debian's nodejs and npm (about 90 s, 1.1 GB)
#   or a Rockerfile, or a folder holding one (a golden example): the images it names; or `all`.
#   Without WHAT no image is built: the tests build the ones each of them needs.
#
#   sh tests/setup.sh podman [IMAGE...]: podman for the tests that run the generated script with
#   podman as `docker` (tests/integration/podman.rs): installs Debian's podman (never
#   podman-docker, which would replace the system's `docker`), lowers its default ulimits in
#   /etc/containers/containers.conf (these machines forbid raising RLIMIT_NPROC, which podman's
#   defaults do), lets it push to the test registry on 127.0.0.1:5000 over plain HTTP
#   (/etc/containers/registries.conf.d/), and copies the base images IMAGE... (busybox, builder,
#   node) from the Docker engine into podman's storage when podman lacks them. Only tests use
#   these settings: a generated script never writes any.
#
#   sh tests/setup.sh golden/export-import     # what the README's hello example needs
#
# It never stops a process it did not start: a registry on port 5000 that asks for logins is
# reported, not killed (Debian's docker-registry service is stopped only when this run installed
# the package, which started it).
set -eu

say() { printf 'setup: %s\n' "$*"; }

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    say "need root to run: $*"; exit 1
  fi
}

# apt-get, quiet, without questions, and without needrestart's report of services to restart. When
# another package manager holds the lock (an unattended upgrade on a fresh machine), it waits for
# it, up to 20 minutes, instead of failing.
apt_get() {
  log=$(mktemp)
  waited=0
  while :; do
    if as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 NEEDRESTART_MODE=l \
      apt-get -q -o DPkg::Lock::Timeout=60 "$@" > "$log" 2>&1; then
      rm -f "$log"
      return 0
    fi
    if ! grep -q -e 'Could not get lock' -e 'Unable to lock' -e 'Unable to acquire the dpkg frontend lock' "$log"; then
      tail -n 20 "$log" >&2
      rm -f "$log"
      say "apt-get $1 failed"
      exit 1
    fi
    if [ "$waited" -ge 1200 ]; then
      tail -n 3 "$log" >&2
      rm -f "$log"
      say "the package manager's lock was still held after 20 minutes"
      exit 1
    fi
    if [ "$waited" = 0 ]; then
      holder=$(sed -n 's/.*held by \(process [0-9]* ([^)]*)\).*/\1/p' "$log" | head -n 1)
      say "waiting for the package manager's lock${holder:+ (held by $holder)}"
    fi
    sleep 2
    waited=$((waited + 2))
  done
}

installed_registry=0

install_packages() {
  missing=
  command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
  command -v shellcheck >/dev/null 2>&1 || missing="$missing shellcheck"
  command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || missing="$missing docker-registry"
  [ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' ||
    missing="$missing busybox-static"
  command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
  command -v curl >/dev/null 2>&1 || missing="$missing curl"
  command -v script >/dev/null 2>&1 || missing="$missing bsdutils"
  # rsync: the IMPORT parity tests compare with it; python3: the drop-in tests' HTTP server.
  command -v rsync >/dev/null 2>&1 || missing="$missing rsync"
  command -v python3 >/dev/null 2>&1 || missing="$missing python3"
  command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
  command -v less >/dev/null 2>&1 || missing="$missing less"
  if [ -n "$missing" ]; then
    say "installing$missing"
    apt_get update
    # shellcheck disable=SC2086 # a list of package names
    apt_get install -y $missing
    case "$missing " in *' docker-registry '*) installed_registry=1 ;; esac
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

# The HTTP status of the registry API on 127.0.0.1:5000, or 000 when nothing answers.
registry_status() {
  curl -sS --max-time 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:5000/v2/ 2>/dev/null || :
}

start_registry() {
  status=$(registry_status)
  case $status in
    200) return 0 ;;
    401)
      # Installing Debian's package starts its service, whose configuration asks for logins; the
      # tests push without one. Stop that service only if this run installed it.
      if [ "$installed_registry" = 1 ] && command -v systemctl >/dev/null 2>&1 &&
        systemctl is-active --quiet docker-registry 2>/dev/null; then
        say "stopping the docker-registry service this run installed (it asks for logins)"
        as_root systemctl stop docker-registry
        sleep 1
      else
        say "warning: the registry on 127.0.0.1:5000 asks for logins, and this script did not start it;"
        say "the PUSH tests need one without: stop it (Debian's package: systemctl stop docker-registry) and run setup again"
        return 0
      fi
      ;;
    000|'') ;;
    *)
      say "warning: something else answers on 127.0.0.1:5000 (HTTP $status); the PUSH tests need a registry there"
      return 0
      ;;
  esac
  registry=$(command -v docker-registry 2>/dev/null || printf /usr/bin/docker-registry)
  say "starting a registry on 127.0.0.1:5000"
  # shellcheck disable=SC2016 # the inner sh expands its arguments
  pid=$(as_root sh -c 'nohup "$1" serve "$2" >/var/log/rockerc-registry.log 2>&1 & echo $!' sh "$registry" "$here/registry.yml")
  # shellcheck disable=SC2016 # the inner sh expands its argument
  as_root sh -c 'printf "%s\n" "$1" > /var/tmp/rockerc-registry.pid' sh "$pid" || :
  i=0
  until [ "$(registry_status)" = 200 ]; do
    i=$((i + 1))
    if [ "$i" -gt 30 ]; then
      tail -n 5 /var/log/rockerc-registry.log >&2 || :
      say "the registry (process $pid) did not come up"; exit 1
    fi
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
  as_root mkdir -p "$cache"
  # One debootstrap at a time into the shared cache, whichever engine it is for.
  lock=
  if command -v flock >/dev/null 2>&1; then lock="flock $cache/.lock"; fi
  # shellcheck disable=SC2086,SC2016 # $lock: empty, or flock and its lock file; the inner sh expands $1
  as_root $lock sh -c '
    [ -x "$1/builder/usr/bin/gcc" ] && exit 0
    printf "setup: debootstrap of the builder (gcc) into %s\n" "$1/builder"
    rm -rf "$1/builder"
    debootstrap --variant=minbase --include=gcc,libc6-dev bookworm "$1/builder" http://deb.debian.org/debian >/dev/null' sh "$cache"
  say "importing rockerc-test/builder"
  as_root tar -C "$cache/builder" -c . | docker import -c 'CMD ["bash"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - rockerc-test/builder:latest >/dev/null
}

node_image() {
  have_image rockerc-test/node:latest && return 0
  builder_image
  say "building rockerc-test/node (Debian's nodejs and npm)"
  # Debian's npm needs its recommended node-* modules, which a plain install leaves out.
  DOCKER_BUILDKIT=0 docker build -q -t rockerc-test/node:latest - >/dev/null 2>&1 <<'EOF'
FROM rockerc-test/builder
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm git openssh-client >/dev/null \
 && (apt-get -f install -y -qq && apt-get install -y -qq --install-recommends npm) >/dev/null \
 && apt-get clean && rm -rf /var/lib/apt/lists/* && npm --version
EOF
}

# The base images WHAT needs, as words: busybox, builder, node.
images_for() {
  case $1 in
    all) printf 'busybox builder node\n' ;;
    busybox|builder|node) printf '%s\n' "$1" ;;
    rockerc-test/*) printf '%s\n' "${1#rockerc-test/}" | sed 's/:latest$//' ;;
    *)
      file=$1
      if [ -d "$file" ]; then file="$file/Rockerfile"; fi
      [ -f "$file" ] || { say "$1: not a base image name, a Rockerfile or a folder holding one" >&2; return 2; }
      grep -o 'rockerc-test/[a-z]*' "$file" | sed 's|rockerc-test/||' | sort -u
      ;;
  esac
}

# The `podman` step (see the top).
podman_setup() {
  if ! command -v podman >/dev/null 2>&1; then
    say "installing podman"
    apt_get update
    # podman alone: podman-docker (which would replace the `docker` other tests use) is not asked for.
    apt_get install -y podman
  fi
  conf=/etc/containers/containers.conf
  if ! grep -q '^[[:space:]]*default_ulimits' "$conf" 2>/dev/null; then
    say "lowering podman's default ulimits in $conf (this machine forbids raising RLIMIT_NPROC)"
    line='default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]'
    as_root mkdir -p /etc/containers
    if grep -q '^[[:space:]]*\[containers\]' "$conf" 2>/dev/null; then
      # shellcheck disable=SC2016 # the inner sh expands its arguments
      as_root sh -c 'sed "/^[[:space:]]*\[containers\]/a $2" "$1" > "$1.new" && mv "$1.new" "$1"' sh "$conf" "$line"
    else
      # shellcheck disable=SC2016 # the inner sh expands its arguments
      as_root sh -c 'printf "\n[containers]\n%s\n" "$2" >> "$1"' sh "$conf" "$line"
    fi
  fi
  reg=/etc/containers/registries.conf.d/rockerc-tests.conf
  if [ ! -f "$reg" ]; then
    as_root mkdir -p /etc/containers/registries.conf.d
    # shellcheck disable=SC2016 # the inner sh expands its argument
    as_root sh -c 'printf "[[registry]]\nlocation = \"127.0.0.1:5000\"\ninsecure = true\n" > "$1"' sh "$reg"
  fi
  podman info >/dev/null 2>&1 || { podman info >&2 || :; say "podman does not work"; exit 1; }
  for image in "$@"; do
    podman image exists "rockerc-test/$image:latest" 2>/dev/null && continue
    have_image "rockerc-test/$image:latest" || "${image}_image"
    say "copying rockerc-test/$image from the Docker engine into podman"
    docker save "rockerc-test/$image:latest" | podman load -q >/dev/null
  done
}

if [ "${1:-}" = podman ]; then
  shift
  for image in "$@"; do
    case $image in
      busybox|builder|node) ;;
      *) say "podman: $image is not a base image name (busybox, builder, node)"; exit 2 ;;
    esac
  done
  podman_setup "$@"
  say "ready"
  exit 0
fi

services=1
if [ "${1:-}" = images ]; then
  services=0
  shift
fi
wanted=
for what in "$@"; do
  images=$(images_for "$what") || exit 2
  for image in $images; do
    case $image in
      busybox|builder|node) wanted="$wanted $image" ;;
      *) say "$what names rockerc-test/$image, which this script does not build"; exit 2 ;;
    esac
  done
done

if [ "$services" = 1 ]; then
  install_packages
  start_docker
  start_registry
fi
for image in $wanted; do
  "${image}_image"
done
say "ready"
