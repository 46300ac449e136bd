# -----------------------------------------------------------------------------------------------
# rockerc BuildKit runtime: the same in every generated script; the build itself follows it.
# What the Rockerfile contributes reaches these functions only as quoted arguments. Option lists
# built at run time are strings of words quoted by rc_q, and only those are ever eval'ed.
# -----------------------------------------------------------------------------------------------

rc_usage() {
  cat <<'ROCKERC_USAGE'
Options:
  --push          push the images named by PUSH (without it they are only tagged)
  --attach        open an interactive container at each ATTACH
  --no-cache      build without BuildKit's cache (each target's build runs every step again)
  --pull          pull every FROM image before building
  --context DIR   the build context (default: the one recorded at compile time)
  --allow-mount PATH
                  let a MOUNT bind PATH (or anything under it) outside the build context
                  (repeatable; also ROCKERC_ALLOW_MOUNT=PATH:PATH...)
  -q, --quiet     print errors only
  -v, --verbose   stream BuildKit's own output
  -h, --help      print this help
Environment:
  ROCKERC_DOCKER  the docker client to build with (default: docker); it needs BuildKit:
                  Docker 20.10's client has it built in, later ones need the buildx plugin
ROCKERC_USAGE
}

rc_die() {
  printf 'rockerc: error: %s\n' "$*" >&2
  exit 1
}

rc_warn() {
  printf 'rockerc: warning: %s\n' "$*" >&2
}

# A write to a reader that has gone (`| head -1`) ends the script through its cleanup (SIGPIPE,
# or errexit where SIGPIPE is ignored); the shell's own complaint about it is not worth showing.
rc_say() {
  if [ "$rc_quiet" = 0 ]; then printf '%s\n' "$*" 2>/dev/null; fi
}

rc_usage_error() {
  printf 'rockerc: %s\n' "$1" >&2
  rc_usage >&2
  exit 2
}

rc_parse_args() {
  rc_push=0 rc_attach=0 rc_no_cache=0 rc_pull=0 rc_quiet=0 rc_verbose=0
  rc_allow_given=''
  rc_context_recorded=$rc_context rc_context_given=0
  while [ $# -gt 0 ]; do
    case $1 in
      --push) rc_push=1 ;;
      --attach) rc_attach=1 ;;
      --no-cache) rc_no_cache=1 ;;
      --pull) rc_pull=1 ;;
      --context) [ $# -ge 2 ] || rc_usage_error "--context needs a directory"; rc_context=$2 rc_context_given=1; shift ;;
      --context=*) rc_context=${1#--context=} rc_context_given=1 ;;
      --allow-mount) [ $# -ge 2 ] || rc_usage_error "--allow-mount needs a path"; rc_allow_given="$rc_allow_given$2
"; shift ;;
      --allow-mount=*) rc_allow_given="$rc_allow_given${1#--allow-mount=}
" ;;
      -q|--quiet) rc_quiet=1 ;;
      -v|--verbose) rc_verbose=1 ;;
      -h|--help) rc_help; rc_usage; exit 0 ;;
      *) rc_usage_error "unknown option: $1" ;;
    esac
    shift
  done
}

# Quotes one word for eval: 'it'\''s'.
rc_q() {
  case $1 in
    *\'*) printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf "'%s' " "$1" ;;
  esac
}

# `--mount` and `--output` values are CSV lists: inside a quoted field a quote is written twice.
rc_csv() {
  case $1 in
    *'"'*) printf '%s' "$1" | sed 's/"/""/g' ;;
    *) printf '%s' "$1" ;;
  esac
}

# Seconds since the epoch, with a fraction where date(1) has %N.
rc_now() {
  rc_t=$(date +%s.%N 2>/dev/null) || rc_t=
  case $rc_t in
    *N*|'') date +%s ;;
    *) printf '%s\n' "$rc_t" ;;
  esac
}

rc_elapsed() {
  awk -v a="$1" -v b="$(rc_now)" 'BEGIN { printf "%.1fs", b - a }'
}

rc_cleanup() {
  rc_status=$?
  trap - EXIT INT TERM HUP PIPE
  if [ -n "${rc_tmp:-}" ] && [ -d "$rc_tmp" ]; then rm -rf "$rc_tmp"; fi
  exit "$rc_status"
}

rc_setup() {
  rc_tmp=$(mktemp -d "${TMPDIR:-/tmp}/rockerc.XXXXXX") || rc_die "cannot create a temporary directory"
  trap rc_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  # `sh build.sh | head -1`: the reader is gone; clean up as for Ctrl-C.
  trap 'exit 141' PIPE
  mkdir "$rc_tmp/img"
  : > "$rc_tmp/tags"
  rc_opts=''
  rc_n=0
}

rc_check_docker() {
  rc_docker=${ROCKERC_DOCKER:-docker}
  command -v "$rc_docker" >/dev/null 2>&1 ||
    rc_die "$rc_docker is not on PATH; install the Docker CLI (Debian: apt-get install docker.io)"
  if ! "$rc_docker" version --format '{{.Server.Version}}' >/dev/null 2>"$rc_tmp/docker-version"; then
    sed -n '1,3s/^/  /p' "$rc_tmp/docker-version" >&2
    rc_die "the Docker daemon does not answer; start it (systemctl start docker, or dockerd &) or set DOCKER_HOST"
  fi
  # A client without BuildKit fails here rather than in the middle of the build.
  if ! DOCKER_BUILDKIT=1 "$rc_docker" build --help >/dev/null 2>&1; then
    rc_die "the docker client $(command -v "$rc_docker") cannot build with BuildKit (newer clients need the buildx plugin); install docker-buildx, or set ROCKERC_DOCKER to a client that can (Debian's docker.io 20.10 has BuildKit built in: ROCKERC_DOCKER=/usr/bin/docker)"
  fi
  DOCKER_BUILDKIT=1
  export DOCKER_BUILDKIT
}

rc_resolve_context() {
  rc_find_context
}

# rc_need_var NAME WHERE: a MOUNT source reads $NAME when the script runs; say so if it is unset.
rc_need_var() {
  eval "rc_set=\${$1+x}"
  [ -n "$rc_set" ] || rc_die "MOUNT at $2 uses \$$1, which is not set in the environment"
}

# rc_opt WORD...: options every build gets.
rc_opt() {
  for rc_w in "$@"; do rc_opts="$rc_opts$(rc_q "$rc_w")"; done
}

# rc_secret ID PATH WHERE: a MOUNTed host file outside the context, passed to BuildKit as a secret.
# Only when whoever runs the build allows it (rc_host_path).
rc_secret() {
  if [ -d "$2" ]; then
    rc_die "MOUNT at $3: $2 is a directory; the BuildKit backend passes host paths outside the build context as secrets, which are single files (put the directory in the context and MOUNT it from there with :ro, or build with the sh backend)"
  fi
  [ -e "$2" ] || [ -L "$2" ] || rc_die "MOUNT at $3: $2 does not exist"
  rc_host_path b "$2" "$3" read-only
  rc_opt --secret "id=$1,src=$rc_src"
}

# rc_env_secret NAME ID: a --secret, passed to BuildKit from this script's environment (never
# written to a file); its value must be set, even if empty.
rc_env_secret() {
  eval "rc_set=\${$1+x}"
  [ -n "$rc_set" ] || rc_die "the secret $1 is not set: export $1 before running the script"
  rc_opt --secret "id=$2,env=$1"
}

# Copies its input with every --secret value replaced by ***, as the sh backend's script does,
# but a line at a time: BuildKit prints a RUN's output a line at a time, each with its step's
# prefix, so a value of several lines (a PEM key, a file that ends in a newline) never appears
# whole; each of its lines is masked on its own. awk reads the values from ENVIRON, so nothing in
# them is taken as an escape or a pattern, and compares bytes (LC_ALL=C). A value with blanks is
# also masked as an unquoted `echo $TOKEN` prints it, and word by word (words of 4 bytes or more).
rc_mask() {
  if [ -z "$rc_secrets" ]; then
    cat
    return 0
  fi
  RC_MASK_NAMES=$rc_secrets LC_ALL=C awk '
    function add(s) {
      if (s == "" || s in seen) return
      seen[s] = 1
      pats[++np] = s
    }
    # A value as the shell may hand it on: itself; unquoted (`echo $TOKEN`), its words joined by
    # one blank; and each word of 4 bytes or more on its own (`printf "%s\n" $TOKEN`).
    function forms(s,   t, w, nw, i) {
      add(s)
      t = s
      gsub(/[ \t\r\n]+/, " ", t)
      sub(/^ /, "", t)
      sub(/ $/, "", t)
      if (t == s) return
      if (length(t) >= 4) add(t)
      nw = split(t, w, " ")
      if (nw < 2) return
      for (i = 1; i <= nw; i++) if (length(w[i]) >= 4) add(w[i])
    }
    BEGIN {
      n = split(ENVIRON["RC_MASK_NAMES"], names, " ")
      for (k = 1; k <= n; k++) {
        v = ENVIRON[names[k]]
        sub(/[\r\n]+$/, "", v)
        if (index(v, "\n") == 0) {
          forms(v)
          continue
        }
        # Unquoted, the lines come out joined by one blank.
        t = v
        gsub(/[ \t\r\n]+/, " ", t)
        sub(/^ /, "", t)
        sub(/ $/, "", t)
        if (length(t) >= 4) add(t)
        m = split(v, lines, "\n")
        for (j = 1; j <= m; j++) {
          l = lines[j]
          sub(/\r$/, "", l)
          sub(/^[ \t]+/, "", l)
          sub(/[ \t]+$/, "", l)
          if (length(l) >= 4) forms(l)
        }
      }
      # Longest first: a line before the shorter ones it holds.
      for (a = 2; a <= np; a++)
        for (b = a; b > 1 && length(pats[b]) > length(pats[b - 1]); b--) {
          t = pats[b]; pats[b] = pats[b - 1]; pats[b - 1] = t
        }
    }
    {
      line = $0
      for (k = 1; k <= np; k++) {
        s = pats[k]
        out = ""
        while ((i = index(line, s)) > 0) {
          out = out substr(line, 1, i - 1) "***"
          line = substr(line, i + length(s))
        }
        line = out line
      }
      print line
    }'
}

# rc_bind_source PATH WHERE: a MOUNT source in the context; created when missing, as the sh
# backend does (a bind mount of a missing path fails), and never reached through a link that
# leads out of the context.
rc_bind_source() {
  rc_host_path c "$1" "$2"
}

# rc_docker_build WHERE WHAT OPTIONS...: one `docker build` of the Dockerfile; its output goes to
# a log (to the terminal with --verbose), shown when it fails.
rc_docker_build() {
  rc_where=$1 rc_what=$2
  shift 2
  rc_n=$((rc_n + 1))
  rc_log="$rc_tmp/log.$rc_n"
  rc_t0=$(rc_now)
  eval "set -- \"\$@\" $rc_opts"
  if [ "$rc_no_cache" = 1 ]; then set -- "$@" --no-cache; fi
  if [ "$rc_pull" = 1 ]; then set -- "$@" --pull; fi
  rc_status=0
  if [ "$rc_verbose" = 1 ] && [ -z "$rc_secrets" ]; then
    "$rc_docker" build --progress=plain --file "$rc_df" "$@" "$rc_context" < /dev/null || rc_status=$?
  else
    "$rc_docker" build --progress=plain --file "$rc_df" "$@" "$rc_context" < /dev/null > "$rc_log" 2>&1 || rc_status=$?
    # With secrets, --verbose shows the output when the build ends, through the mask.
    if [ "$rc_verbose" = 1 ]; then rc_mask < "$rc_log"; fi
  fi
  if [ "$rc_status" != 0 ]; then
    printf 'rockerc: error: %s %s: docker build exited with status %s\n' "$rc_where" "$rc_what" "$rc_status" >&2
    if [ "$rc_verbose" = 0 ]; then
      printf -- '--- last lines of its output ---\n' >&2
      tail -n 25 "$rc_log" | rc_mask >&2
    fi
    exit 1
  fi
  rc_say "$rc_where $rc_what ($(rc_elapsed "$rc_t0"))"
}

# rc_target STAGE WHERE WHAT: builds the Dockerfile stage STAGE (once) and sets rc_img.
rc_target() {
  if [ -s "$rc_tmp/img/$1" ]; then
    rc_img=$(cat "$rc_tmp/img/$1")
    return 0
  fi
  rm -f "$rc_tmp/iid"
  rc_docker_build "$2" "$3" --target "$1" --iidfile "$rc_tmp/iid"
  rc_img=$(cat "$rc_tmp/iid")
  printf '%s\n' "$rc_img" > "$rc_tmp/img/$1"
}

# rc_image NAME WHERE: an image from outside the Dockerfile, as it is (pulled when missing, or
# always with --pull); sets rc_img.
rc_image() {
  if [ "$rc_pull" = 1 ] || ! rc_img=$("$rc_docker" image inspect --format '{{.Id}}' "$1" 2>/dev/null); then
    rc_say "pulling $1"
    if ! "$rc_docker" pull "$1" > "$rc_tmp/pull.log" 2>&1; then
      tail -n 5 "$rc_tmp/pull.log" >&2
      rc_die "cannot pull $1 (FROM, for $2)"
    fi
    rc_img=$("$rc_docker" image inspect --format '{{.Id}}' "$1") || rc_die "cannot inspect $1"
  fi
}

# rc_output STAGE KIND HOSTDIR WHERE WHAT: writes the files of STAGE into HOSTDIR (KIND: `c` in the
# context, `b` elsewhere, as for rc_host_path).
rc_output() {
  rc_host_path "$2" "$3" "$4" writable
  rc_docker_build "$4" "$5" --target "$1" --output "type=local,\"dest=$(rc_csv "$rc_src")\""
}

# rc_tag NAME PUSH WHERE: records a TAG or PUSH of the current image. Tags are applied (and pushes
# made) only after every build has succeeded, so a failed build leaves the old images in place.
rc_tag() {
  printf '%s %s %s\n' "$2" "$rc_img" "$1" >> "$rc_tmp/tags"
  printf '%s\n' "$3" >> "$rc_tmp/tags.where"
}

# Applies the tags all or nothing: first what each name is now (which also shows a name docker
# refuses, before one tag has moved), then the tags; if docker still refuses one, those already
# moved go back. A name always follows `--`: docker never reads one as an option.
rc_apply_tags() {
  [ -s "$rc_tmp/tags" ] || return 0
  : > "$rc_tmp/tags.before"
  : > "$rc_tmp/tags.done"
  exec 3< "$rc_tmp/tags.where"
  while read -r rc_p rc_id rc_name && IFS= read -r rc_where <&3; do
    if rc_old=$("$rc_docker" image inspect --format '{{.Id}}' -- "$rc_name" 2> "$rc_tmp/tag.log"); then
      printf '%s %s\n' "$rc_old" "$rc_name" >> "$rc_tmp/tags.before"
    elif grep -q -i 'invalid reference format\|not a valid' "$rc_tmp/tag.log"; then
      rc_die "TAG at $rc_where: docker refuses the name $rc_name (invalid reference format); no tag was applied"
    else
      printf -- '- %s\n' "$rc_name" >> "$rc_tmp/tags.before"
    fi
  done < "$rc_tmp/tags"
  exec 3<&-
  exec 3< "$rc_tmp/tags.where"
  while read -r rc_p rc_id rc_name && IFS= read -r rc_where <&3; do
    if ! "$rc_docker" tag -- "$rc_id" "$rc_name" > "$rc_tmp/tag.log" 2>&1; then
      sed -n '1,3s/^/  /p' "$rc_tmp/tag.log" >&2
      rc_untag
      rc_die "TAG at $rc_where: docker refused the name $rc_name; every tag is where it was"
    fi
    printf '%s\n' "$rc_name" >> "$rc_tmp/tags.done"
  done < "$rc_tmp/tags"
  exec 3<&-
  while read -r rc_p rc_id rc_name; do
    [ "$rc_p" = 1 ] || continue
    if [ "$rc_push" = 1 ]; then
      rc_say "pushing $rc_name"
      "$rc_docker" push -- "$rc_name" > "$rc_tmp/push.log" 2>&1 || { tail -n 5 "$rc_tmp/push.log" >&2; rc_die "cannot push $rc_name"; }
    else
      rc_say "not pushing $rc_name (pass --push to push)"
    fi
  done < "$rc_tmp/tags"
  while read -r rc_p rc_id rc_name; do
    rc_say "$rc_name $rc_id"
  done < "$rc_tmp/tags"
}

# Puts the names tagged so far back where they were (a name that was new is removed again).
rc_untag() {
  while IFS= read -r rc_name; do
    while read -r rc_old rc_was; do
      [ "$rc_was" = "$rc_name" ] || continue
      if [ "$rc_old" = - ]; then
        "$rc_docker" image rm --no-prune -- "$rc_name" >/dev/null 2>&1 || :
      else
        "$rc_docker" tag -- "$rc_old" "$rc_name" >/dev/null 2>&1 || :
      fi
      break
    done < "$rc_tmp/tags.before"
  done < "$rc_tmp/tags.done"
}

# rc_mount volume NAME DEST | bind SRC DEST RO KIND WHERE: a mount for the next rc_attach.
rc_mount() {
  case $1 in
    volume) rc_mount_opts="$rc_mount_opts$(rc_q --mount)$(rc_q "type=volume,\"src=$(rc_csv "$2")\",\"dst=$(rc_csv "$3")\",volume-nocopy")" ;;
    bind)
      rc_ro=
      if [ "$4" = 1 ]; then rc_ro=,readonly; fi
      rc_host_path "$5" "$2" "$6" "${rc_ro:+read-only}"
      rc_mount_opts="$rc_mount_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$(rc_csv "$rc_src")\",\"dst=$(rc_csv "$3")\"$rc_ro")"
      ;;
  esac
}

# rc_attach stage|image NAME WHERE WHAT [COMMAND...]: with --attach, an interactive container of
# the image at that point (a Dockerfile stage, or an image by name), with the stage's mounts (set
# by rc_mount). A volume MOUNT is the Docker volume the sh backend uses: BuildKit's cache mounts
# are reachable only from a build.
rc_attach() {
  rc_akind=$1 rc_stage=$2 rc_awhere=$3 rc_awhat=$4
  shift 4
  if [ "$rc_attach" = 0 ]; then
    rc_say "skipping ATTACH at $rc_awhere (pass --attach to get a shell here)"
    rc_mount_opts=''
    return 0
  fi
  [ -t 0 ] || rc_die "ATTACH at $rc_awhere needs a terminal on stdin"
  if [ "$rc_akind" = image ]; then
    rc_image "$rc_stage" "$rc_awhere"
  else
    rc_target "$rc_stage" "$rc_awhere" "$rc_awhat"
  fi
  rc_n_args=$#
  rc_aopts="$(rc_q run)$(rc_q --rm)$(rc_q -it)"
  if [ $# -gt 0 ]; then rc_aopts="$rc_aopts$(rc_q --entrypoint)$(rc_q '')"; fi
  rc_aopts="$rc_aopts$rc_mount_opts$(rc_q "$rc_img")"
  rc_mount_opts=''
  eval "set -- \"\$@\" $rc_aopts"
  while [ "$rc_n_args" -gt 0 ]; do
    set -- "$@" "$1"
    shift
    rc_n_args=$((rc_n_args - 1))
  done
  "$rc_docker" "$@" || rc_warn "the ATTACH shell exited with status $?"
}
