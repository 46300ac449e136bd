# The script's own folder, physically, without a subshell or `dirname` (each process is a
# measurable part of a no-op run): what is beside the script, and a context recorded relative
# to it, are found from there.
case $0 in */*) rc_here=${0%/*} ;; *) rc_here=. ;; esac
rc_cwd=$PWD
CDPATH='' cd -P -- "${rc_here:-/}" || { printf 'rockerc: cannot enter %s\n' "$rc_here" >&2; exit 1; }
rc_here=$PWD
cd -- "$rc_cwd" || exit 1
