# The build context, resolved against the script's own folder (or, given with --context, against
# the current one) and made physical. It must hold the Rockerfile the script was compiled from: a
# script moved away from its context, or run with --context naming another folder, would send
# Docker the wrong files. Whether the Rockerfile is unchanged is rc_check_sources.
rc_find_context() {
  case $rc_context in
    /*) ;;
    *) if [ "$rc_context_given" = 1 ]; then rc_context="$PWD/$rc_context"; else rc_context="$rc_here/$rc_context"; fi ;;
  esac
  [ -d "$rc_context" ] || rc_wrong_context "is not a directory, so %s, the Rockerfile this script was compiled from, is not there"
  # The physical path, without a subshell (this runs before the no-op check).
  rc_cwd=$PWD
  cd -P -- "$rc_context" || rc_die "cannot enter the build context $rc_context"
  rc_context=$PWD
  cd -- "$rc_cwd" || rc_die "cannot return to $rc_cwd"
  if [ -n "$rc_compiled_from" ] && [ ! -f "$rc_context/$rc_compiled_from" ]; then
    rc_wrong_context "does not hold %s, the Rockerfile this script was compiled from"
  fi
}

# rc_wrong_context FORMAT: the context is not the one the script was compiled for; FORMAT says
# why, with a %s for the path of the Rockerfile.
rc_wrong_context() {
  rc_what=${rc_compiled_from:-$rc_rockerfile}
  # shellcheck disable=SC2059 # one of the two formats above, with one %s
  printf "rockerc: error: the build context %s $1\n" "$rc_context" "${rc_context%/}/$rc_what" >&2
  if [ "$rc_context_given" = 1 ]; then
    printf 'rockerc: --context names the build context: pass the folder that holds %s\n' "$rc_what" >&2
  else
    printf 'rockerc: the script finds its context at %s from its own folder %s, and the script or the context has moved;\n' "$rc_context_recorded" "$rc_here" >&2
    printf 'rockerc: pass the folder that holds %s with --context DIR, or compile the script again there\n' "$rc_what" >&2
  fi
  exit 1
}

# rc_source FILE CKSUM: whether a file the script was compiled from (FILE relative to the build
# context) is there with the `cksum` it had then; if not, rc_stale_what says what differs.
rc_source() {
  case $1 in
    /*) rc_f=$1 ;;
    *) rc_f="$rc_context/$1" ;;
  esac
  if [ ! -f "$rc_f" ]; then
    rc_stale_what="$rc_f, which this script was compiled with, is gone"
    return 1
  fi
  rc_sum=$(cksum < "$rc_f") || rc_die "cannot read $rc_f"
  if [ "$rc_sum" != "$2" ]; then
    rc_stale_what="$rc_f has changed since this script was compiled from it"
    return 1
  fi
}

# A word as the user would type it: bare when nothing in it is special to the shell.
rc_word() {
  case $1 in
    '' | *[!A-Za-z0-9_./:=@%+,-]*) rc_q "$1" ;;
    *) printf '%s ' "$1" ;;
  esac
}

# rc_check_sources: the Rockerfile (and the files with template variables) must be what the
# script was compiled from; otherwise the script says how to compile it again: from the context,
# with the output where the script is. (The sh backend's no-op check counts them among its
# inputs, so that it needs no checksum: a build writes its stamp only after comparing them.)
rc_check_sources() {
  rc_sources && return 0
  printf 'rockerc: error: %s\n' "$rc_stale_what" >&2
  if [ -z "$rc_compile_args" ]; then
    printf 'rockerc: compile it again (the script builds what the Rockerfile said then)\n' >&2
  elif [ "$rc_compiled_to_dir" = 1 ]; then
    printf 'rockerc: compile it again (the script builds what the Rockerfile said then):\n  cd %s&& rockerc -o %s%s\n' \
      "$(rc_word "$rc_context")" "$(rc_word "$rc_here")" "$rc_compile_args" >&2
  else
    rc_self=build.sh
    if [ -f "$0" ]; then rc_self="$rc_here/${0##*/}"; fi
    rc_self=$(rc_word "$rc_self")
    printf 'rockerc: compile it again (the script builds what the Rockerfile said then):\n  cd %s&& rockerc %s > %s\n' \
      "$(rc_word "$rc_context")" "$rc_compile_args" "${rc_self% }" >&2
  fi
  exit 1
}
