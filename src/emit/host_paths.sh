# -----------------------------------------------------------------------------------------------
# rockerc host paths: the same in both backends' scripts. Which host paths a MOUNT (or an IMPORT
# into one) may touch: the build context, and outside it only what whoever runs the build allows.
# -----------------------------------------------------------------------------------------------

# rc_host_path KIND SRC WHERE MODE: checks a MOUNT source before anything is bound, and sets
# rc_src to its physical path (what is checked is what Docker binds). A path in the build
# context must stay there once its links are followed (a reviewer approved `./out`, not where a
# link named out leads). Any other path is bound only when the person running the build allowed
# it (--allow-mount, here or when rockerc compiled the script, or ROCKERC_ALLOW_MOUNT). Nothing
# is created outside the context: a missing source inside it becomes an empty directory, one
# elsewhere is an error.
rc_host_path() {
  case $2 in
    *'
'*) rc_die "MOUNT at $3: the source $2 contains a newline" ;;
  esac
  # As written, for messages: a path in the context relative to it.
  rc_shown=$2
  if [ "$1" = c ]; then rc_shown=${2#"$rc_context"/}; fi
  if [ ! -e "$2" ]; then
    # Up to what exists; never through a link that points nowhere (mkdir would follow it).
    rc_a=$2
    while [ ! -e "$rc_a" ]; do
      if [ -L "$rc_a" ]; then
        rc_die "MOUNT at $3: ${rc_a#"$rc_context"/} is a symbolic link to a path that does not exist; rockerc creates nothing through a link"
      fi
      case $rc_a in */*) rc_a=${rc_a%/*} ;; *) rc_a=. ;; esac
      [ -n "$rc_a" ] || rc_a=/
    done
    # What mkdir -p would make: with a `..` after a missing folder it climbs back out of what
    # was checked (./new/../../x), so such a path is refused before anything is created.
    case "${2#"$rc_a"}/" in
      */../*) rc_die "MOUNT at $3: the source $rc_shown does not exist, and it climbs with .. out of a folder that does not exist either; rockerc creates nothing it has not checked: write the path without .., or create it first" ;;
    esac
    rc_real_path "$rc_a" "$3"
    if ! rc_in_context "$rc_real"; then
      rc_die "MOUNT at $3: the source $rc_shown does not exist, and rockerc creates nothing outside the build context: create it first"
    fi
    rc_warn "MOUNT source $rc_shown does not exist; creating it as an empty directory in the build context"
    mkdir -p -- "$2" || rc_die "MOUNT at $3: cannot create $2"
  fi
  rc_real_path "$2" "$3"
  rc_src=$rc_real
  if rc_in_context "$rc_src"; then return 0; fi
  if [ "$1" = c ]; then
    rc_die "MOUNT at $3: $rc_shown is in the build context, but a symbolic link on the way leads out of it, to $rc_src; a relative MOUNT source must stay inside the context"
  fi
  rc_allowed "$rc_src" && return 0
  rc_die "MOUNT at $3 binds $rc_src${4:+ (}${4:-}${4:+)}, outside the build context, and whoever runs the build has not allowed it; to allow it, pass --allow-mount $(rc_q "$rc_src")to the script (or set ROCKERC_ALLOW_MOUNT=$(rc_q "$rc_src"| sed 's/ $//'), or compile with rockerc --allow-mount)"
}

# rc_git_guard SRC DEST: sets rc_guard, the `docker run` options that keep the build context's
# .git read-only inside a writable bind of SRC at DEST ('' when the bind does not hold it). A
# Rockerfile that may write the checkout (`MOUNT .:/src`) must still not write what the next git
# command on the host runs: .git/hooks, .git/config (core.fsmonitor, aliases). Sets rc_ro to
# ,readonly for a bind of .git itself or of a folder in it.
# shellcheck disable=SC2034 # read by the sh backend's rc_mounts; the BuildKit script binds no MOUNT itself
rc_git_guard() {
  rc_guard=
  [ -e "$rc_context/.git" ] || [ -L "$rc_context/.git" ] || return 0
  case $1 in
    "$rc_context/.git"|"$rc_context/.git"/*)
      rc_ro=,readonly
      return 0
      ;;
  esac
  rc_g=${1%/}
  case $rc_context/.git in
    "$rc_g"/*) ;;
    *) return 0 ;;
  esac
  rc_guard="$(rc_q --mount)$(rc_q "type=bind,\"src=$(rc_csv "$rc_context/.git")\",\"dst=$(rc_csv "${2%/}${rc_context#"$rc_g"}/.git")\",readonly")"
}

# rc_real_path PATH WHERE: sets rc_real to PATH's physical path (links and `..` resolved).
rc_real_path() {
  rc_real=$(readlink -f -- "$1" 2>/dev/null) || rc_real=
  [ -n "$rc_real" ] || rc_die "MOUNT at $2: cannot resolve $1"
}

# rc_in_context PATH: whether the physical PATH is the context or inside it.
rc_in_context() {
  case $rc_context in /) return 0 ;; esac
  case $1 in "$rc_context"|"$rc_context"/*) return 0 ;; esac
  return 1
}

# rc_allowed PATH: whether an --allow-mount (compiled in, given to the script, or in
# ROCKERC_ALLOW_MOUNT, separated by `:`) is PATH or a directory above it. Relative ones are
# relative to the directory the script was started in; each counts as written and physically.
rc_allowed() {
  rc_list="$rc_allow_compiled$rc_allow_given$(printf '%s\n' "${ROCKERC_ALLOW_MOUNT:-}" | tr ':' '\n')"
  while IFS= read -r rc_e; do
    [ -n "$rc_e" ] || continue
    case $rc_e in /*) ;; *) rc_e="${rc_cwd:-$PWD}/$rc_e" ;; esac
    for rc_e in "$rc_e" "$(readlink -f -- "$rc_e" 2>/dev/null || :)"; do
      [ -n "$rc_e" ] || continue
      case $rc_e in
        /) return 0 ;;
        *) rc_e=${rc_e%/} ;;
      esac
      case $1 in "$rc_e"|"$rc_e"/*) return 0 ;; esac
    done
  done <<ROCKERC_ALLOWED
$rc_list
ROCKERC_ALLOWED
  return 1
}
