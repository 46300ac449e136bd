#!/bin/sh
# Runs README.md's first command and its five-minute tour verbatim, as a newcomer would in a fresh
# clone (the one this script is in), and checks that they print what the README says they print.
# .ci/run runs it on its clean clone, after the tests; it needs what `sh tests/setup.sh` sets up,
# and writes build.sh in the clone and /tmp/tour, as the README does.
#
# The commands are taken from README.md itself: the ```sh blocks of the tour, one after another in
# one shell, as the reader types them; the checks come from the ```text block that shows what
# they print, and from what the tour says in words (a second run is `up to date`, an edit rebuilds).
set -eu
cd "$(dirname -- "$0")/.."
clone=$PWD
say() { printf 'tour: %s\n' "$*"; }
fail() { printf 'tour: FAILED: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d)
# The README copies the example to /tmp/tour, and `cp -r` into a folder that exists would put it
# one level down: a /tmp/tour already there (a tour cut short, someone's own) is moved aside for
# the tour and put back after it, never deleted; the tour's own folder goes.
aside=
if [ -e /tmp/tour ] || [ -L /tmp/tour ]; then
  aside=$(mktemp -d /tmp/tour.aside.XXXXXX)
  mv /tmp/tour "$aside/tour"
  say "/tmp/tour was there: moved aside to $aside/tour for the tour, put back after it"
fi
restore() {
  rm -rf "$work" /tmp/tour
  if [ -n "$aside" ]; then mv "$aside/tour" /tmp/tour && rmdir "$aside"; fi
}
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The README's first block: set up, compile the hello example, build it, run it.
quick=$(awk '/^```sh$/ { n++; next } n == 1 && /^```$/ { exit } n == 1 && /^sh tests\/setup.sh .*docker run/ { print }' README.md)
[ -n "$quick" ] || fail "README.md's first block has no line that runs tests/setup.sh, builds and runs docker run"
say "running: $quick"
sh -c "$quick" > "$work/quick.out" 2>&1 || { cat "$work/quick.out" >&2; fail "the README's first command failed"; }
grep -qx 'hello, world' "$work/quick.out" || { cat "$work/quick.out" >&2; fail "the README's first command did not print hello, world"; }

# The tour: its sh blocks, verbatim, in one shell.
awk '
  /^## A five-minute tour/ { inside = 1; next }
  inside && /^## / { exit }
  inside && /^```sh$/ { code = 1; next }
  inside && code && /^```$/ { code = 0; next }
  inside && code { print }
' README.md > "$work/tour.sh"
awk '
  /^## A five-minute tour/ { inside = 1; next }
  inside && /^## / { exit }
  inside && /^```text$/ { text = 1; next }
  inside && text && /^```$/ { text = 0; next }
  inside && text { print }
' README.md > "$work/expected"
if [ ! -s "$work/tour.sh" ] || [ ! -s "$work/expected" ]; then
  fail "README.md has no tour (## A five-minute tour, with sh and text blocks)"
fi
say "running the tour's $(wc -l < "$work/tour.sh") lines"
sh -e "$work/tour.sh" > "$work/tour.out" 2>&1 || { cat "$work/tour.out" >&2; fail "the tour failed"; }

# What the README shows it printing, in order; a time in parentheses is any time.
awk -v out="$work/tour.out" '
  function pattern(s) {
    gsub(/[][\\.^$*+?(){}|]/, "\\\\&", s)
    gsub(/[0-9]+\\\.[0-9]s/, "[0-9]+\\.[0-9]s", s)
    return "^" s "$"
  }
  BEGIN { while ((getline line < out) > 0) got[++n] = line }
  $0 == "..." || $0 == "" { next }
  {
    p = pattern($0)
    while (++at <= n && got[at] !~ p) {}
    if (at > n) { print "tour: FAILED: the README shows, but the tour did not print (in this order): " $0 > "/dev/stderr"; bad = 1; exit }
  }
  END { exit bad }
' "$work/expected" || { cat "$work/tour.out" >&2; exit 1; }

# What the tour says in words.
cd /tmp/tour
again=$(sh build.sh)
[ "${again#up to date}" != "$again" ] || fail "a second sh build.sh is not up to date: $again"
printf '\n' >> hello.c
rebuilt=$(sh build.sh)
# Step by step (the legacy builder), or the one BuildKit build again (BuildKit's own cache may
# hold the edited file from an earlier run of this tour).
case $rebuilt in
  *'[1/3] Rockerfile:5-8 WORKDIR, COPY, RUN'* | *'[1/1] Rockerfile:5-14 stages 1-2 in one BuildKit build ('[0-9]*) ;;
  *) fail "an edit of hello.c did not rebuild: $rebuilt" ;;
esac
for made in out/build.sh stages.svg bk/Dockerfile; do
  [ -s "$made" ] || fail "the tour did not write $made"
done
# The commands the tour names in golden/template-service.
cd "$clone/golden/template-service"
rockerc() { "$clone/target/release/rockerc" "$@"; }
rockerc --print -vars vars.yml -var Version=2.0.0 Rockerfile > "$work/print.out" || fail "rockerc --print in golden/template-service failed"
# (Off the master branch it PUSHes nothing, so --push pushes nothing.)
rockerc build -var Version=1.2 --push > "$work/build.out" 2>&1 || { cat "$work/build.out" >&2; fail "rockerc build -var Version=1.2 --push in golden/template-service failed"; }
grep -q '^built in ' "$work/build.out" || { cat "$work/build.out" >&2; fail "rockerc build -var Version=1.2 --push built nothing"; }
say "the README's first command and its tour ran as written"
