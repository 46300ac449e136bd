# -----------------------------------------------------------------------------------------------
# rockerc runtime: the same in every generated script; the build itself follows it.
# What the Rockerfile contributes reaches these functions only as quoted arguments. Option lists
# built at run time are strings of words quoted by rc_q, and only those are ever eval'ed.
# -----------------------------------------------------------------------------------------------

rc_usage() {
  cat <<'ROCKERC_USAGE'
Options:
  --push          push the images named by PUSH (without it they are only tagged)
  --attach        open an interactive container at each ATTACH
  --no-cache      rebuild every step: no Docker layer cache, no cache for MOUNTed RUNs
  --pull          pull every FROM image before building
  --context DIR   the build context (default: the one recorded at compile time)
  --id ID         the build id that names MOUNT volumes (default: context path + Rockerfile)
  -j, --jobs N    build at most N independent stages at a time (default: the number of CPUs)
  -q, --quiet     print errors only
  -v, --verbose   stream Docker's own output
  -h, --help      print this help
ROCKERC_USAGE
}

rc_die() {
  printf 'rockerc: error: %s\n' "$*" >&2
  exit 1
}

rc_warn() {
  printf 'rockerc: warning: %s\n' "$*" >&2
}

rc_say() {
  if [ "$rc_quiet" = 0 ]; then printf '%s\n' "$*"; fi
}

rc_usage_error() {
  printf 'rockerc: %s\n' "$1" >&2
  rc_usage >&2
  exit 2
}

rc_parse_args() {
  rc_push=0 rc_attach=0 rc_no_cache=0 rc_pull=0 rc_quiet=0 rc_verbose=0 rc_build_id=$rc_default_id
  rc_jobs_max=
  while [ $# -gt 0 ]; do
    case $1 in
      --push) rc_push=1 ;;
      --attach) rc_attach=1 ;;
      --no-cache) rc_no_cache=1 ;;
      --pull) rc_pull=1 ;;
      --context) [ $# -ge 2 ] || rc_usage_error "--context needs a directory"; rc_context=$2; shift ;;
      --context=*) rc_context=${1#--context=} ;;
      --id) [ $# -ge 2 ] || rc_usage_error "--id needs a value"; rc_build_id=$2; shift ;;
      --id=*) rc_build_id=${1#--id=} ;;
      -j|--jobs) [ $# -ge 2 ] || rc_usage_error "--jobs needs a number"; rc_jobs_max=$2; shift ;;
      -j*) rc_jobs_max=${1#-j} ;;
      --jobs=*) rc_jobs_max=${1#--jobs=} ;;
      -q|--quiet) rc_quiet=1 ;;
      -v|--verbose) rc_verbose=1 ;;
      -h|--help) rc_help; rc_usage; exit 0 ;;
      *) rc_usage_error "unknown option: $1" ;;
    esac
    shift
  done
  case $rc_jobs_max in
    '') ;;
    *[!0-9]*|0) rc_usage_error "--jobs needs a positive number" ;;
  esac
}

# `--mount` is a CSV list: inside a quoted field a quote is written twice.
rc_csv() {
  case $1 in
    *'"'*) printf '%s' "$1" | sed 's/"/""/g' ;;
    *) printf '%s' "$1" ;;
  esac
}

# Quotes one word for eval: 'it'\''s'.
rc_q() {
  case $1 in
    *\'*) printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf "'%s' " "$1" ;;
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

# rc_step N 'Rockerfile:4-6' 'RUN make': starts a step; its docker output goes to its own log.
rc_step() {
  rc_step=$1 rc_step_where=$2 rc_step_what=$3
  rc_parent=$rc_img
  rc_step_t0=$(rc_now)
  rc_cached=''
  rc_log="$rc_tmp/log.$rc_step"
  : > "$rc_log"
}

rc_done() {
  if [ "$rc_img" != "$rc_parent" ]; then
    printf '%s\t%s\t%s\t%s %s\n' "$rc_step" "$rc_parent" "$rc_img" "$rc_step_where" "$rc_step_what" >> "$rc_tmp/steps"
  fi
  rc_say "[$rc_step/$rc_steps] $rc_step_where $rc_step_what ($rc_cached$(rc_elapsed "$rc_step_t0"))"
}

# rc_wait COMMAND...: runs COMMAND in the background and waits for it. A shell runs a trap only
# after its foreground command has finished; `wait` is interrupted by a trapped signal at once,
# so Ctrl-C or a TERM stops the build now, and the cleanup removes the container.
rc_wait() {
  "$@" &
  rc_job=$!
  rc_jobs="$rc_jobs $rc_job"
  rc_wait_status=0
  wait "$rc_job" || rc_wait_status=$?
  rc_jobs=${rc_jobs% "$rc_job"}
  return "$rc_wait_status"
}

# rc_logged COMMAND...: runs a step's command (through rc_wait). Its output goes to the step's
# log; with --verbose to the terminal, through the mask (a step at a time) when there are
# secrets. Returns the command's status.
rc_logged() {
  if [ "$rc_verbose" = 1 ] && [ -z "$rc_secrets" ]; then
    rc_wait "$@" < /dev/null
    return
  fi
  rc_logged_status=0
  rc_wait "$@" < /dev/null >> "$rc_log" 2>&1 || rc_logged_status=$?
  if [ "$rc_verbose" = 1 ]; then
    rc_mask < "$rc_log"
    : > "$rc_log"
  fi
  return "$rc_logged_status"
}

# Runs docker for the current step (rc_logged); on failure the step, its Rockerfile lines and
# the end of the log are shown.
rc_docker() {
  rc_logged docker "$@" && return 0
  rc_at=
  if [ "$1" = build ]; then rc_at=$(rc_failed_line); fi
  rc_fail "docker $1 exited with an error${rc_at:+ at $rc_at}"
}

# The Rockerfile line of the instruction a failed `docker build` stopped at: Docker's log names
# its step ("Step 3/4 : RUN make"), counting instructions from 1, and the generated Dockerfile
# has a `# Rockerfile:N` comment above each instruction.
rc_failed_line() {
  rc_k=$(sed -n 's/^Step \([0-9]*\)\/[0-9]* : .*/\1/p' "$rc_log" | tail -n 1)
  [ -n "$rc_k" ] || return 0
  awk -v k="$rc_k" '
    /^# Rockerfile:/ { where = substr($0, 3); next }
    /^#/ || /^[ \t]*$/ { next }
    !cont && ++n == k { print where; exit }
    { cont = /\\$/ }' "$rc_df"
}

rc_fail() {
  printf 'rockerc: error: step %s failed: %s %s\n' "$rc_step" "$rc_step_where" "$rc_step_what" >&2
  printf 'rockerc: %s\n' "$1" >&2
  if [ "$rc_verbose" = 0 ] && [ -s "$rc_log" ]; then
    printf -- '--- last lines of its output ---\n' >&2
    grep -v -e '^DEPRECATED: The legacy builder' -e '^ *BuildKit is currently disabled' \
      -e '^ *Install the buildx component' -e '^ *https://docs.docker.com/go/buildx/' \
      -e '^ *environment-variable\.' -e '^Removing intermediate container ' -e '^ *$' \
      "$rc_log" | tail -n 25 | rc_mask >&2
  fi
  exit 1
}

# Copies its input, with the value of every --secret replaced by ***: a RUN may print what it
# was given, and the script shows that output. awk reads the values from ENVIRON, so nothing in
# them is taken as an escape or a pattern.
rc_mask() {
  if [ -z "$rc_secrets" ]; then
    cat
    return 0
  fi
  RC_MASK_NAMES=$rc_secrets awk '
    BEGIN { n = split(ENVIRON["RC_MASK_NAMES"], names, " ") }
    {
      line = $0
      for (k = 1; k <= n; k++) {
        s = ENVIRON[names[k]]
        if (s == "") continue
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

rc_check_docker() {
  command -v docker >/dev/null 2>&1 ||
    rc_die "docker is not on PATH; install the Docker CLI (Debian: apt-get install docker.io)"
  # One call resolves every FROM image and shows that the daemon answers (each docker call
  # costs tens of milliseconds); `docker version` only tells a missing image from a dead daemon.
  # shellcheck disable=SC2086 # image names: one word each
  if [ -n "$rc_externals" ] && [ "$rc_pull" = 0 ] &&
    docker image inspect --format '{{.Id}}' $rc_externals > "$rc_tmp/base-ids" 2>/dev/null; then
    set -- $rc_externals
    while IFS= read -r rc_id; do
      printf '%s %s\n' "$1" "$rc_id" >> "$rc_tmp/bases"
      shift
    done < "$rc_tmp/base-ids"
    return 0
  fi
  if ! docker version --format '{{.Server.Version}}' >/dev/null 2>"$rc_tmp/docker-version"; then
    sed -n '1,3s/^/  /p' "$rc_tmp/docker-version" >&2
    rc_die "the Docker daemon does not answer; start it (systemctl start docker, or dockerd &) or set DOCKER_HOST"
  fi
}

rc_cleanup() {
  rc_status=$?
  # A second Ctrl-C, or the same signal passed on by `rockerc build`, must not cut the cleanup
  # short.
  trap - EXIT
  trap '' INT TERM HUP USR1
  # Stop the docker clients first: the daemon does not remove a container while a `docker cp`
  # still streams from it. Then the containers (after the removals already under way), and only
  # then wait: a `docker run` client exits when its container is removed (it only passes the
  # signal on to the container's PID 1, which may ignore it).
  if [ -n "${rc_jobs:-}" ]; then
    # shellcheck disable=SC2086 # a list of process ids
    kill $rc_jobs 2>/dev/null || :
  fi
  if [ -n "${rc_removers:-}" ]; then
    # shellcheck disable=SC2086 # a list of process ids
    wait $rc_removers 2>/dev/null || :
  fi
  if [ -n "${rc_tmp:-}" ] && [ -s "$rc_tmp/containers" ]; then
    while IFS= read -r rc_c; do
      # Those already removed cost a docker call each for nothing.
      if [ -f "$rc_tmp/removed" ] && grep -qxF -e "$rc_c" "$rc_tmp/removed"; then continue; fi
      docker rm -f -v "$rc_c" >/dev/null 2>&1 || :
    done < "$rc_tmp/containers"
  fi
  if [ -n "${rc_jobs:-}" ]; then wait 2>/dev/null || :; fi
  if [ -n "${rc_tmp:-}" ] && [ -d "$rc_tmp" ]; then rm -rf "$rc_tmp"; fi
  if [ "${rc_locked:-0}" = 1 ]; then rm -rf "$rc_lockdir"; fi
  exit "$rc_status"
}

rc_setup() {
  rc_tmp=$(mktemp -d "${TMPDIR:-/tmp}/rockerc.XXXXXX") || rc_die "cannot create a temporary directory"
  trap rc_cleanup EXIT
  # Each first ignores the others: Ctrl-C reaches the script twice under `rockerc build` (from
  # the terminal and passed on), and a second `exit` run before rc_cleanup has set its own traps
  # ended the cleanup at once, leaving containers, the lock and the temporary directory.
  trap 'trap "" INT TERM HUP USR1; exit 130' INT
  trap 'trap "" INT TERM HUP USR1; exit 143' TERM
  trap 'trap "" INT TERM HUP USR1; exit 129' HUP
  trap 'trap "" INT TERM HUP USR1; exit 1' USR1
  rc_main_pid=$$
  # Asked here, not when the arguments are read: a no-op run must not pay for the process.
  if [ -z "$rc_jobs_max" ]; then
    rc_jobs_max=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || rc_jobs_max=2
  fi
  rc_t0=$(rc_now)
  mkdir "$rc_tmp/empty" "$rc_tmp/img" "$rc_tmp/x"
  : > "$rc_tmp/containers"
  : > "$rc_tmp/tags"
  rc_run_id=${rc_tmp##*.}
  rc_id_hash=$(printf '%s' "$rc_build_id" | cksum | cut -d ' ' -f 1)
  rc_ncontainers=0
  rc_jobs=
  rc_removers=
  rc_cached=''
  rc_step=0 rc_step_where='' rc_step_what=setup rc_log="$rc_tmp/log.0"
  # Generated Dockerfiles need only the legacy builder; never depend on BuildKit being there.
  DOCKER_BUILDKIT=0
  export DOCKER_BUILDKIT
}

# One build per build id at a time: builds of the same Rockerfile share its MOUNT volumes (and
# host directories), which two writers at once would corrupt. Other Rockerfiles have other ids.
# A lock whose holder is gone (killed with SIGKILL, say) is taken over.
rc_lock() {
  rc_lockdir="${TMPDIR:-/tmp}/rockerc-lock-$rc_id_hash"
  rc_waited=0
  while ! mkdir "$rc_lockdir" 2>/dev/null; do
    rc_holder=$(cat "$rc_lockdir/pid" 2>/dev/null) || rc_holder=
    if [ -n "$rc_holder" ] && ! ps -p "$rc_holder" >/dev/null 2>&1; then
      rm -rf "$rc_lockdir"
      continue
    fi
    if [ "$rc_waited" = 0 ]; then
      rc_say "waiting for another build of $rc_rockerfile (process ${rc_holder:-?}) to finish"
      rc_waited=1
    fi
    sleep 1
  done
  printf '%s\n' "$rc_main_pid" > "$rc_lockdir/pid"
  rc_locked=1
}

# A container name for this run, recorded before the container exists: an interrupt between
# `docker create` and the next line still removes it.
rc_new_container() {
  rc_ncontainers=$((rc_ncontainers + 1))
  rc_ctr="rockerc-$rc_run_id-$rc_step-$rc_ncontainers"
  printf '%s\n' "$rc_ctr" >> "$rc_tmp/containers"
}

rc_rm_container() {
  if docker rm -f -v "$rc_ctr" >/dev/null 2>&1; then
    printf '%s\n' "$rc_ctr" >> "$rc_tmp/removed"
  fi
}

# The same, in the background: a container whose work is done need not hold up the next step
# (a docker call costs tens of milliseconds). The shell that started the removal waits for it
# before it exits, and the cleanup removes whatever is not recorded as removed.
rc_rm_container_later() {
  rc_rm_container &
  rc_removers="$rc_removers $!"
}

rc_resolve_context() {
  case $rc_context in
    /*) ;;
    *) rc_context="$rc_here/$rc_context" ;;
  esac
  [ -d "$rc_context" ] || rc_die "the build context $rc_context is not a directory (pass --context DIR)"
  # The physical path, without a subshell (this runs before the no-op check).
  rc_cwd=$PWD
  cd -P -- "$rc_context" || rc_die "cannot enter the build context $rc_context"
  rc_context=$PWD
  cd -- "$rc_cwd" || rc_die "cannot return to $rc_cwd"
  if [ -z "$rc_build_id" ]; then rc_build_id="$rc_context:$rc_rockerfile"; fi
}

# rc_base NAME: the id of an image named by FROM, pulled when missing (always with --pull).
rc_base() {
  if [ "$rc_pull" = 0 ] && [ -f "$rc_tmp/bases" ]; then
    while read -r rc_name rc_id; do
      if [ "$rc_name" = "$1" ]; then
        rc_img=$rc_id
        return 0
      fi
    done < "$rc_tmp/bases"
  fi
  if [ "$rc_pull" = 1 ] || ! rc_img=$(docker image inspect --format '{{.Id}}' "$1" 2>/dev/null); then
    rc_say "pulling $1"
    if ! docker pull "$1" > "$rc_tmp/pull.log" 2>&1; then
      tail -n 5 "$rc_tmp/pull.log" >&2
      rc_die "cannot pull $1 (FROM at $2)"
    fi
    rc_img=$(docker image inspect --format '{{.Id}}' "$1") || rc_die "cannot inspect $1"
  fi
}

# rc_subset PATH...: a build context with only these paths of the user's context, and its
# .dockerignore (the CLI still applies it). Files are hard links where the file system allows:
# Docker sees the same files, with the same times, so its layer cache is unchanged.
rc_subset() {
  rc_ctx="$rc_tmp/sub.$rc_step"
  mkdir "$rc_ctx"
  if [ -f "$rc_context/.dockerignore" ]; then cp -p "$rc_context/.dockerignore" "$rc_ctx/"; fi
  for rc_p in "$@"; do
    [ -e "$rc_context/$rc_p" ] || [ -L "$rc_context/$rc_p" ] || continue
    [ ! -e "$rc_ctx/$rc_p" ] || continue
    case $rc_p in */*) mkdir -p "$rc_ctx/${rc_p%/*}" ;; esac
    cp -PRl "$rc_context/$rc_p" "$rc_ctx/$rc_p" 2>/dev/null || {
      rm -rf "${rc_ctx:?}/$rc_p"
      cp -PRp "$rc_context/$rc_p" "$rc_ctx/$rc_p" || rc_fail "cannot prepare the build context with $rc_p"
    }
  done
}

# rc_build DOCKERFILE CONTEXT FROM-ID [docker build options...]: sets rc_img.
rc_build() {
  rc_df=$1 rc_ctx=$2 rc_from=$3
  shift 3
  rm -f "$rc_tmp/iid.$rc_step"
  if [ -n "$rc_from" ]; then set -- "$@" --build-arg "ROCKERC_FROM=$rc_from"; fi
  if [ "$rc_no_cache" = 1 ]; then set -- "$@" --no-cache; fi
  # --force-rm: the legacy builder keeps the container of a failed RUN unless told otherwise.
  rc_docker build --force-rm --iidfile "$rc_tmp/iid.$rc_step" --file "$rc_df" "$@" "$rc_ctx"
  rc_img=$(cat "$rc_tmp/iid.$rc_step")
}

# Mount specs, as the generated code passes them: `v DEST` (a volume named from the build id and
# DEST) or `b SRC DEST OPTIONS` (a host path). rc_mounts reads them up to `--` and sets
# rc_mount_opts (quoted `docker run` options), rc_links (file MOUNTs the RUN wrapper links in)
# and rc_shift (how many arguments it read).
rc_mounts() {
  rc_mount_opts='' rc_links='' rc_shift=0 rc_nfile=0
  while [ "$1" != -- ]; do
    case $1 in
      v)
        rc_vol="rockerc_${rc_id_hash}_$(printf '%s' "$2" | cksum | cut -d ' ' -f 1)"
        rc_mount_opts="$rc_mount_opts$(rc_q --mount)$(rc_q "type=volume,\"src=$rc_vol\",\"dst=$(rc_csv "$2")\",volume-nocopy")"
        shift 2
        rc_shift=$((rc_shift + 2))
        ;;
      b)
        case $2 in
          *'
'*) rc_fail "MOUNT source $2 contains a newline" ;;
        esac
        if [ ! -e "$2" ]; then
          rc_warn "MOUNT source $2 does not exist; creating it as an empty directory"
          mkdir -p "$2" || rc_fail "cannot create MOUNT source $2"
        fi
        rc_ro=
        case ",$4," in *,ro,*) rc_ro=,readonly ;; esac
        rc_src_csv=$(rc_csv "$2")
        if [ -d "$2" ] || [ "${rc_real_binds:-0}" = 1 ]; then
          rc_mount_opts="$rc_mount_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$rc_src_csv\",\"dst=$(rc_csv "$3")\"$rc_ro")"
        else
          # A file: bound under /dev (a tmpfs that is never committed) and linked into place by
          # the wrapper, so no placeholder for it is left in the image.
          rc_nfile=$((rc_nfile + 1))
          rc_mount_opts="$rc_mount_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$rc_src_csv\",dst=/dev/.rockerc-f$rc_nfile$rc_ro")"
          rc_links="$rc_links/dev/.rockerc-f$rc_nfile
$3
"
        fi
        shift 4
        rc_shift=$((rc_shift + 4))
        ;;
      *) rc_die "internal: bad mount spec $1" ;;
    esac
  done
}

# rc_mount_key MOUNTSPECS... -- ...: a short checksum of the resolved mount list.
rc_mount_key() {
  {
    printf '%s\n' "$rc_id_hash"
    while [ "$1" != -- ]; do
      printf '%s\n' "$1"
      shift
    done
  } | cksum | tr ' ' '-'
}

# The ARG values for a MOUNTed RUN, without those the image's configured ENV sets: Docker's
# legacy builder lets an ENV (of the stage or of its base image) win over an ARG of the same
# name, but not a variable Docker adds when a container starts (HOME).
rc_arg_env() {
  [ -n "$rc_env" ] || return 0
  rc_image_env=$(docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$rc_img") || rc_image_env=
  printf '%s' "$rc_env" | while IFS= read -r rc_kv; do
    case "
$rc_image_env" in
      *"
${rc_kv%%=*}="*) ;;
      *) printf '%s\n' "$rc_kv" ;;
    esac
  done
}

# The wrapper a MOUNTed RUN runs under when it has file MOUNTs or ARG values: it links the files
# in, exports the ARGs, runs the command, and removes the links before the container is
# committed.
rc_write_wrapper() {
  cat > "$rc_tmp/wrapper" <<'ROCKERC_WRAPPER'
#!/bin/sh
# ARG values (the script left out those the image's ENV sets: Docker prefers the ENV).
if [ -f /dev/.rockerc/env ]; then
  while IFS= read -r rc_kv; do
    case ${rc_kv%%=*} in ''|[0-9]*|*[!A-Za-z0-9_]*) continue ;; esac
    export "${rc_kv?}"
  done < /dev/.rockerc/env
fi
for rc_f in /dev/.rockerc/secret.*; do
  [ -f "$rc_f" ] || continue
  rc_v=$(cat "$rc_f")
  export "${rc_f##*/secret.}=$rc_v"
done
if [ -f /dev/.rockerc/links ]; then
  while IFS= read -r rc_src && IFS= read -r rc_dst; do
    if [ -e "$rc_dst" ] || [ -L "$rc_dst" ]; then exit 121; fi
    case $rc_dst in */*/*) mkdir -p "${rc_dst%/*}" 2>/dev/null || exit 122 ;; esac
    ln -s "$rc_src" "$rc_dst" 2>/dev/null || exit 122
  done < /dev/.rockerc/links
fi
"$@"
rc_status=$?
if [ -f /dev/.rockerc/links ]; then
  while IFS= read -r rc_src && IFS= read -r rc_dst; do
    if [ -L "$rc_dst" ]; then rm -f "$rc_dst"; fi
  done < /dev/.rockerc/links
fi
exit "$rc_status"
ROCKERC_WRAPPER
  chmod 755 "$rc_tmp/wrapper"
}

# rc_run KEY ENV MOUNTSPECS... -- COMMAND...: a RUN while MOUNTs are active, as `docker run` with
# the mounts plus `docker commit`. KEY is the compile-time part of the cache key (command, mount
# list, ARG values); with the parent image id it names a cache tag. ENV is the ARG values the
# command sees, one NAME=VALUE per line. Sets rc_img.
rc_run() {
  rc_key=$1 rc_env=$2 rc_run_secrets=$3
  shift 3
  for rc_name in $rc_run_secrets; do
    eval "rc_set=\${$rc_name+x}"
    [ -n "$rc_set" ] || rc_fail "the secret $rc_name is not set: export $rc_name before running the script"
  done
  # The mount list as it resolves here (host paths after ~ and $VAR, volume names from the build
  # id) is part of the key: a fresh checkout elsewhere mounts other paths and must run again.
  rc_mkey=$(rc_mount_key "$@")
  rc_cache="rockerc-cache:${rc_img#sha256:}-$rc_key-$rc_mkey"
  if [ "$rc_no_cache" = 0 ] && rc_hit=$(docker image inspect --format '{{.Id}}' "$rc_cache" 2>/dev/null); then
    rc_img=$rc_hit
    rc_cached="cached, "
    return 0
  fi
  rc_real_binds=0
  rc_run_once "$@"
  case $rc_run_status in
    121|122)
      # A file MOUNT's target exists in the image, or could not be linked as the image's USER:
      # bind it for real instead (Docker then leaves an empty placeholder where it was missing).
      rc_warn "step $rc_step: binding MOUNTed files directly (their targets exist or are not writable)"
      rc_real_binds=1
      rc_run_once "$@"
      ;;
  esac
  [ "$rc_run_status" = 0 ] || rc_fail "the command exited with status $rc_run_status"
  rc_real_binds=0
  rc_commit
  docker tag "$rc_img" "$rc_cache" >/dev/null 2>&1 || :
}

rc_run_once() {
  rc_mounts "$@"
  shift "$rc_shift"
  shift
  rc_n=$#
  rc_new_container
  rc_opts="$(rc_q run)$(rc_q --name)$(rc_q "$rc_ctr")$(rc_q --entrypoint)$(rc_q '')$rc_mount_opts"
  rc_wrap=
  if [ -n "$rc_links" ] || [ -n "$rc_env" ] || [ -n "$rc_run_secrets" ]; then
    [ -f "$rc_tmp/wrapper" ] || rc_write_wrapper
    mkdir -p "$rc_tmp/run.$rc_step"
    printf '%s' "$rc_links" > "$rc_tmp/run.$rc_step/links"
    rc_arg_env > "$rc_tmp/run.$rc_step/env"
    # Secrets travel as files under /dev (a tmpfs Docker never commits); the container's USER
    # must read them, and $rc_tmp (mode 700) keeps other users of this machine out.
    for rc_name in $rc_run_secrets; do
      eval "printf '%s' \"\${$rc_name}\"" > "$rc_tmp/run.$rc_step/secret.$rc_name"
    done
    rc_opts="$rc_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$(rc_csv "$rc_tmp/run.$rc_step")\",dst=/dev/.rockerc,readonly")"
    rc_opts="$rc_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$(rc_csv "$rc_tmp/wrapper")\",dst=/dev/.rockerc-run,readonly")"
    rc_wrap=/dev/.rockerc-run
  fi
  rc_opts="$rc_opts$(rc_q "$rc_img")"
  if [ -n "$rc_wrap" ]; then rc_opts="$rc_opts$(rc_q "$rc_wrap")"; fi
  # Append the options after the command, then rotate the command's words to the end.
  eval "set -- \"\$@\" $rc_opts"
  while [ "$rc_n" -gt 0 ]; do
    set -- "$@" "$1"
    shift
    rc_n=$((rc_n - 1))
  done
  rc_run_status=0
  rc_logged docker "$@" || rc_run_status=$?
  if [ "$rc_run_status" != 0 ]; then rc_rm_container; fi
}

# Commits the RUN container with exactly the config a Dockerfile RUN leaves. `docker commit`
# keeps what `docker run` copied from the image, but the command would leak into Cmd, and
# Shell and OnBuild are not copied at all: put back the parent's CMD, ENTRYPOINT and ONBUILD as
# changes, and SHELL (which `commit --change` refuses) with a one-line build. A parent with
# neither CMD nor ENTRYPOINT needs that build too: only `ENTRYPOINT []` in a build clears Cmd.
rc_commit() {
  rc_cfg=$(docker image inspect --format '{{json .Config.Cmd}}
{{json .Config.Entrypoint}}
{{json .Config.Shell}}
{{range .Config.OnBuild}}{{.}}
{{end}}' "$rc_img") || rc_fail "cannot inspect $rc_img"
  rc_cmd_json=$(printf '%s\n' "$rc_cfg" | sed -n 1p)
  rc_ep_json=$(printf '%s\n' "$rc_cfg" | sed -n 2p)
  rc_shell_json=$(printf '%s\n' "$rc_cfg" | sed -n 3p)
  set --
  if [ "$rc_cmd_json" != null ]; then set -- "$@" --change "CMD $rc_cmd_json"; fi
  if [ "$rc_ep_json" != null ]; then set -- "$@" --change "ENTRYPOINT $rc_ep_json"; fi
  rc_onbuild=$(printf '%s\n' "$rc_cfg" | sed '1,3d')
  while IFS= read -r rc_line; do
    if [ -n "$rc_line" ]; then set -- "$@" --change "ONBUILD $rc_line"; fi
  done <<ROCKERC_ONBUILD
$rc_onbuild
ROCKERC_ONBUILD
  rc_img=$(docker commit "$@" "$rc_ctr") || rc_fail "docker commit failed"
  rc_rm_container_later
  rc_fix=
  if [ "$rc_shell_json" != null ]; then rc_fix="SHELL $rc_shell_json
"; fi
  if [ "$rc_cmd_json" = null ] && [ "$rc_ep_json" = null ]; then rc_fix="${rc_fix}ENTRYPOINT []
"; fi
  if [ -n "$rc_fix" ]; then
    # shellcheck disable=SC2016 # a Dockerfile: Docker expands ${ROCKERC_FROM}
    printf 'ARG ROCKERC_FROM\nFROM ${ROCKERC_FROM}\n%s' "$rc_fix" > "$rc_tmp/fix.Dockerfile"
    rc_build "$rc_tmp/fix.Dockerfile" "$rc_tmp/empty" "$rc_img"
  fi
}

# A stage whose first step is not a build still owes its base image's ONBUILD triggers (Docker
# runs them at FROM): a build of a FROM-only Dockerfile runs them, when there are any.
rc_onbuild_triggers() {
  rc_n=$(docker image inspect --format '{{len .Config.OnBuild}}' "$rc_img") || rc_fail "cannot inspect $rc_img"
  if [ "$rc_n" != 0 ]; then
    # shellcheck disable=SC2016 # a Dockerfile: Docker expands ${ROCKERC_FROM}
    printf 'ARG ROCKERC_FROM\nFROM ${ROCKERC_FROM}\n' > "$rc_tmp/onbuild.Dockerfile"
    rc_build "$rc_tmp/onbuild.Dockerfile" "$rc_tmp/empty" "$rc_img"
  fi
}

# rc_export ID WORKDIR MOUNTSPECS... -- SRC CONTENTS...: copies each SRC out of the current image
# (through the stage's MOUNTs, as Rocker's rsync saw them) into the export's own directory:
# $rc_tmp/x/ID/I/NAME, or $rc_tmp/x/ID/I-contents/ for `src/`.
rc_export() {
  rc_xid=$1 rc_wd=$2
  shift 2
  rc_real_binds=1
  rc_mounts "$@"
  shift "$rc_shift"
  shift
  rc_new_container
  eval "rc_docker create --name \"\$rc_ctr\" $rc_mount_opts \"\$rc_img\" /rockerc-export-never-runs"
  rc_i=0
  while [ $# -gt 0 ]; do
    rc_i=$((rc_i + 1))
    rc_src=$1 rc_contents=$2
    shift 2
    case $rc_src in
      /*) ;;
      *) rc_src="${rc_wd%/}/$rc_src" ;;
    esac
    rc_dir="$rc_tmp/x/$rc_xid/$rc_i"
    mkdir -p "$rc_tmp/x/$rc_xid"
    if [ "$rc_contents" = 1 ]; then
      rc_docker cp "$rc_ctr:${rc_src%/}/." "$rc_dir-contents"
    else
      mkdir "$rc_dir"
      rc_docker cp "$rc_ctr:$rc_src" "$rc_dir/"
    fi
  done
  rc_rm_container_later
}

# The working directory of the current image, for relative EXPORT paths when the Rockerfile does
# not say it.
rc_workdir() {
  rc_wd=$(docker image inspect --format '{{.Config.WorkingDir}}' "$rc_img") || rc_fail "cannot inspect $rc_img"
  [ -n "$rc_wd" ] || rc_wd=/
}

# Replaces TARGET with a copy of ITEM (links kept as links, modes and times kept).
rc_replace() {
  rm -rf "$2"
  case $2 in */*) mkdir -p "${2%/*}" ;; esac
  cp -PRp "$1" "$2"
}

# rc_no_links STORE PATH: fails if a directory on PATH inside the store is a symbolic link. The
# store's links come from an image and point where they pointed there; on the host an absolute
# one leads out of the store, so rockerc never writes (or reads) through one.
rc_no_links() {
  rc_l=$1 rc_r=$2
  while [ -n "$rc_r" ]; do
    rc_l="$rc_l/${rc_r%%/*}"
    case $rc_r in */*) rc_r=${rc_r#*/} ;; *) rc_r= ;; esac
    if [ -L "$rc_l" ]; then
      rc_fail "the export store has a symbolic link at ${rc_l#"$1"/}; rockerc does not follow links there (on the host it would lead out of the store)"
    fi
  done
}

# rc_place STORE ID DEST NSRC: applies one EXPORT (its items in $rc_tmp/x/ID) to a store
# directory with `rsync -a --delete-during SRC... DEST` semantics.
rc_place() {
  rc_store=$1 rc_xdir="$rc_tmp/x/$2" rc_dest=$3 rc_nsrc=$4
  rc_asdir=0
  case $rc_dest in
    ''|/) rc_t=$rc_store rc_asdir=1 ;;
    */) rc_t="$rc_store/${rc_dest%/}" rc_asdir=1 ;;
    *) rc_t="$rc_store/$rc_dest" ;;
  esac
  if [ "$rc_nsrc" -gt 1 ]; then rc_asdir=1; fi
  if [ -d "$rc_t" ] && [ ! -L "$rc_t" ]; then rc_asdir=1; fi
  rc_d=${rc_dest%/}
  case $rc_d in */*) rc_no_links "$rc_store" "${rc_d%/*}" ;; esac
  rc_i=0
  rc_cleared=0
  while [ "$rc_i" -lt "$rc_nsrc" ]; do
    rc_i=$((rc_i + 1))
    if [ -d "$rc_xdir/$rc_i-contents" ]; then
      # `src/`: the destination directory becomes exactly the source's contents.
      if [ "$rc_cleared" = 0 ]; then
        rm -rf "$rc_t"
        mkdir -p "$rc_t"
        rc_cleared=1
      fi
      cp -PRp "$rc_xdir/$rc_i-contents/." "$rc_t/"
      continue
    fi
    for rc_item in "$rc_xdir/$rc_i"/* "$rc_xdir/$rc_i"/.[!.]* "$rc_xdir/$rc_i"/..?*; do
      [ -e "$rc_item" ] || [ -L "$rc_item" ] || continue
      if [ "$rc_asdir" = 1 ] || { [ -d "$rc_item" ] && [ ! -L "$rc_item" ]; }; then
        if [ -L "$rc_t" ]; then rc_no_links "$rc_store" "$rc_d"; fi
        rc_replace "$rc_item" "$rc_t/${rc_item##*/}"
      else
        # One file EXPORTed to a path that is not a directory takes that path's name.
        rc_replace "$rc_item" "$rc_t"
      fi
    done
  done
}

# rc_import_item STORE PATH CONTENTS CTXDIR NAME: puts one IMPORT source (PATH in the store,
# normalised at compile time, '' for the whole store) into the build context so that
# `COPY CTXDIR/NAME DEST` has rsync's semantics: a directory arrives nested one level deeper
# (COPY copies a directory's contents), a file as itself, `src/` as the contents.
rc_import_item() {
  rc_p=$1
  if [ -n "$2" ]; then rc_p="$1/$2"; fi
  case $2 in */*) rc_no_links "$1" "${2%/*}" ;; esac
  [ -e "$rc_p" ] || [ -L "$rc_p" ] || rc_fail "IMPORT ${2:-/}: not in the export store (no EXPORT put it there)"
  mkdir -p "$4"
  if [ "$3" = 1 ]; then
    [ -d "$rc_p" ] || rc_fail "IMPORT ${2:-/}/: not a directory"
    cp -PRp "$rc_p" "$4/$5"
  elif [ -d "$rc_p" ] && [ ! -L "$rc_p" ]; then
    mkdir "$4/$5"
    cp -PRp "$rc_p" "$4/$5/$5"
  else
    cp -PRp "$rc_p" "$4/$5"
  fi
}

# rc_import_tar STORE TAR LAYOUT DEST NAME WORKDIR -- PATH CONTENTS...: lays one IMPORT's
# sources (PATH in the store, '' for all of it; CONTENTS 1 for `src/`) out in TAR so that ADD,
# which extracts a tar with its modes and links and replaces what is in the way, leaves rsync -a's
# result. LAYOUT `into`: extracted in DEST, each source under its own name. `under`: extracted
# in DEST's parent, everything under NAME (DEST's last component), so a `src/` source gives DEST
# its contents and its mode. `decide`: one source, extracted in DEST's parent: inside NAME when
# DEST is a directory in the image or the source a non-empty directory, as NAME otherwise. The
# entries are root's; hard links become separate files (rsync -a has no -H).
rc_import_tar() {
  rc_store=$1 rc_tar=$2 rc_layout=$3 rc_dest=$4 rc_name=$5 rc_twd=$6
  shift 7
  rc_stage="$rc_tar.d"
  mkdir "$rc_stage"
  rc_members=
  while [ $# -gt 0 ]; do
    rc_path=$1 rc_contents=$2
    shift 2
    rc_p=$rc_store
    if [ -n "$rc_path" ]; then rc_p="$rc_store/$rc_path"; fi
    case $rc_path in */*) rc_no_links "$rc_store" "${rc_path%/*}" ;; esac
    [ -e "$rc_p" ] || [ -L "$rc_p" ] || rc_fail "IMPORT ${rc_path:-/}: not in the export store (no EXPORT put it there)"
    rc_sname=${rc_path##*/}
    if [ -z "$rc_sname" ]; then rc_sname=store; fi
    if [ "$rc_contents" = 1 ]; then
      { [ -d "$rc_p" ] && [ ! -L "$rc_p" ]; } || rc_fail "IMPORT ${rc_path:-/}/: not a directory"
      rc_rel=$rc_name
    else
      case $rc_layout in
        into) rc_rel=$rc_sname ;;
        under) rc_rel="$rc_name/$rc_sname" ;;
        *)
          if { [ -d "$rc_p" ] && [ ! -L "$rc_p" ] && [ -n "$(ls -A "$rc_p")" ]; } || rc_dir_in_image "$rc_dest" "$rc_twd"; then
            rc_rel="$rc_name/$rc_sname"
          else
            rc_rel=$rc_name
          fi
          ;;
      esac
    fi
    if [ -z "$rc_rel" ]; then
      # `src/` into the root or `.`: the contents, each entry by its own name.
      cp -PRp "$rc_p/." "$rc_stage/" || rc_fail "cannot prepare IMPORT ${rc_path:-/}"
      for rc_item in "$rc_p"/* "$rc_p"/.[!.]* "$rc_p"/..?*; do
        [ -e "$rc_item" ] || [ -L "$rc_item" ] || continue
        rc_m=$(rc_q "./${rc_item##*/}")
        case " $rc_members" in *" $rc_m"*) ;; *) rc_members="$rc_members$rc_m" ;; esac
      done
      continue
    fi
    case $rc_rel in */*) mkdir -p "$rc_stage/${rc_rel%/*}" ;; esac
    if [ "$rc_contents" = 1 ] && [ -d "$rc_stage/$rc_rel" ]; then
      cp -PRp "$rc_p/." "$rc_stage/$rc_rel" || rc_fail "cannot prepare IMPORT ${rc_path:-/}"
    else
      rm -rf "${rc_stage:?}/$rc_rel"
      cp -PRp "$rc_p" "$rc_stage/$rc_rel" || rc_fail "cannot prepare IMPORT ${rc_path:-/}"
    fi
    # In the tar: NAME itself under `under` (it carries the mode), else the entry.
    if [ "$rc_layout" = under ]; then rc_m=$(rc_q "./$rc_name"); else rc_m=$(rc_q "./$rc_rel"); fi
    case " $rc_members" in *" $rc_m"*) ;; *) rc_members="$rc_members$rc_m" ;; esac
  done
  find "$rc_stage" -type f -links +1 -exec sh -c 'for f; do cp -p "$f" "$f.rockerc-unlinked" && mv -f "$f.rockerc-unlinked" "$f"; done' sh {} +
  if [ -z "${rc_gnu_tar:-}" ]; then
    if tar --version 2>/dev/null | grep -q 'GNU tar'; then rc_gnu_tar=1; else rc_gnu_tar=0; fi
  fi
  # GNU tar: owners root whoever runs the script, members in name order (the same bytes every
  # time, so the layer cache holds). Other tars (BusyBox) write the owners the files have: the
  # script's user's, root where it runs as root.
  if [ "$rc_gnu_tar" = 1 ]; then
    eval "tar --numeric-owner --owner=0 --group=0 --sort=name -cf \"\$rc_tar\" -C \"\$rc_stage\" $rc_members" || rc_fail "cannot write the IMPORT tar"
  else
    eval "tar -cf \"\$rc_tar\" -C \"\$rc_stage\" $rc_members" || rc_fail "cannot write the IMPORT tar"
  fi
  rm -rf "$rc_stage"
}

# rc_dir_in_image DEST WORKDIR: whether DEST (relative to WORKDIR, or the image's when that is '')
# is a directory in the current image, links followed, as rsync's destination check sees it.
rc_dir_in_image() {
  [ -n "$rc_img" ] || return 1
  rc_probe=$1
  case $rc_probe in
    /*) ;;
    *)
      if [ -n "$2" ]; then rc_wd=$2; else rc_workdir; fi
      rc_probe="${rc_wd%/}/$rc_probe"
      ;;
  esac
  rc_new_container
  rc_docker create --name "$rc_ctr" "$rc_img" /rockerc-import-never-runs
  # A directory's `/.` streams a tar (its first block is enough); anything else is an error.
  docker cp "$rc_ctr:$rc_probe/." - 2>/dev/null | dd bs=512 count=1 > "$rc_tar.probe" 2>/dev/null || :
  rc_rm_container_later
  [ -s "$rc_tar.probe" ]
}

# rc_import_mount DEST MOUNTSPECS... -- ITEM...: an IMPORT into a MOUNTed directory writes into the
# mount, through a container that has the stage's mounts; `docker cp` follows them. Each ITEM
# is laid out as for a COPY (rc_import_item): a directory's `/.` has rsync's meaning, a file
# takes DEST's name unless DEST is a directory.
rc_import_mount() {
  rc_dest=$1
  shift
  rc_real_binds=1
  rc_mounts "$@"
  shift "$rc_shift"
  shift
  rc_new_container
  eval "rc_docker create --name \"\$rc_ctr\" $rc_mount_opts \"\$rc_img\" /rockerc-import-never-runs"
  case $rc_dest in
    */) rc_docker cp "$rc_tmp/empty/." "$rc_ctr:$rc_dest" ;;
  esac
  for rc_item in "$@"; do
    if [ -d "$rc_item" ] && [ ! -L "$rc_item" ]; then
      rc_docker cp "$rc_item/." "$rc_ctr:$rc_dest"
    else
      rc_docker cp "$rc_item" "$rc_ctr:$rc_dest"
    fi
  done
  rc_rm_container_later
}

# rc_tag ORDER NAME PUSH: records a TAG or PUSH of the current image. Tags are applied (and
# pushes made) only after every stage has succeeded, so a failed build leaves the old images in
# place. ORDER is the TAG's place in the file: stages that build at the same time record their
# tags in any order, and they are applied in file order.
rc_tag() {
  printf '%s %s %s %s\n' "$1" "$3" "$rc_img" "$2" >> "$rc_tmp/tags"
}

rc_apply_tags() {
  rc_step=tags rc_step_where='' rc_step_what="TAG/PUSH" rc_log="$rc_tmp/log.tags"
  sort -n "$rc_tmp/tags" | cut -d ' ' -f 2- > "$rc_tmp/tags.sorted"
  mv "$rc_tmp/tags.sorted" "$rc_tmp/tags"
  while read -r rc_p rc_id rc_name; do
    docker tag "$rc_id" "$rc_name" || rc_die "cannot tag $rc_name"
  done < "$rc_tmp/tags"
  while read -r rc_p rc_id rc_name; do
    [ "$rc_p" = 1 ] || continue
    if [ "$rc_push" = 1 ]; then
      rc_say "pushing $rc_name"
      docker push "$rc_name" > "$rc_log" 2>&1 || rc_fail "cannot push $rc_name"
    else
      rc_say "not pushing $rc_name (pass --push to push)"
    fi
  done < "$rc_tmp/tags"
}

# rc_attach MOUNTSPECS... -- [COMMAND...]: an interactive container of the current image with
# the stage's mounts, only with --attach.
rc_attach() {
  rc_real_binds=1
  rc_mounts "$@"
  shift "$rc_shift"
  shift
  if [ "$rc_attach" = 0 ]; then
    rc_say "skipping ATTACH at $rc_step_where (pass --attach to get a shell here)"
    return 0
  fi
  [ -t 0 ] || rc_die "ATTACH at $rc_step_where needs a terminal on stdin"
  rc_n=$#
  rc_new_container
  rc_opts="$(rc_q run)$(rc_q --rm)$(rc_q -it)$(rc_q --name)$(rc_q "$rc_ctr")"
  if [ $# -gt 0 ]; then rc_opts="$rc_opts$(rc_q --entrypoint)$(rc_q '')"; fi
  rc_opts="$rc_opts$rc_mount_opts$(rc_q "$rc_img")"
  eval "set -- \"\$@\" $rc_opts"
  while [ "$rc_n" -gt 0 ]; do
    set -- "$@" "$1"
    shift
    rc_n=$((rc_n - 1))
  done
  docker "$@" || rc_warn "the ATTACH shell exited with status $?"
}

rc_report() {
  [ "$rc_quiet" = 0 ] || return 0
  if [ -s "$rc_tmp/ids" ]; then rc_size_table; fi
  printf '\nbuilt in %s\n' "$(rc_elapsed "$rc_t0")"
}

# The images the size table shows: each step's parent and result, and every image tagged.
rc_report_ids() {
  : > "$rc_tmp/ids"
  [ "$rc_quiet" = 0 ] || return 0
  [ -s "$rc_tmp/steps" ] || [ -s "$rc_tmp/tags" ] || return 0
  {
    cut -f 2,3 "$rc_tmp/steps" 2>/dev/null | tr '\t' '\n'
    cut -d ' ' -f 2 "$rc_tmp/tags"
  } | grep . | sort -u > "$rc_tmp/ids"
}

# What each step added to its parent image, and the size of every image tagged (Rocker printed
# these; users watch them). The sizes come from rc_write_stamp's inspect when it could ask for
# them, otherwise from one `docker image inspect` for all of them.
rc_size_table() {
  : >> "$rc_tmp/steps"
  if [ ! -f "$rc_tmp/sizes" ]; then
    # shellcheck disable=SC2046 # image ids: one word each
    docker image inspect --format '{{.Id}} {{.Size}}' $(cat "$rc_tmp/ids") > "$rc_tmp/sizes" 2>/dev/null || :
  fi
  awk -F '\t' -v sizes="$rc_tmp/sizes" -v tags="$rc_tmp/tags" '
    function human(n,   u, i, s) {
      s = n < 0 ? "-" : "+"; if (n < 0) n = -n
      split("B kB MB GB TB", u, " "); i = 1
      while (n >= 1000 && i < 5) { n /= 1000; i++ }
      return sprintf(i == 1 ? "%s%d %s" : "%s%.1f %s", s, n, u[i])
    }
    BEGIN { while ((getline l < sizes) > 0) { split(l, f, " "); size[f[1]] = f[2] } }
    { if (!header++) printf "\n%-6s %12s  %s\n", "STEP", "ADDED", "WHERE"
      printf "%-6s %12s  %s\n", $1, human(size[$3] - size[$2]), $4 }
    END {
      n = 0
      while ((getline l < tags) > 0) {
        split(l, f, " ")
        if (!n++) printf "\n%-56s %10s\n", "IMAGE", "SIZE"
        printf "%-56s %10s\n", f[3], substr(human(size[f[2]]), 2)
      }
    }' "$rc_tmp/steps"
}

# rc_level STAGE...: builds stages that do not need each other, at most $rc_jobs_max at a time.
# Each runs in a subshell in the background; the main shell `wait`s for them (a trapped signal
# interrupts `wait` at once). A failing stage has printed its error; the others are stopped by
# the cleanup.
rc_level() {
  if [ $# = 1 ] || [ "$rc_jobs_max" = 1 ]; then
    for rc_s in "$@"; do "rc_stage_$rc_s"; done
    return 0
  fi
  while [ $# -gt 0 ]; do
    rc_batch=
    rc_k=0
    while [ $# -gt 0 ] && [ "$rc_k" -lt "$rc_jobs_max" ]; do
      rc_stage_in_background "$1" &
      rc_batch="$rc_batch $!"
      rc_jobs="$rc_jobs $!"
      rc_k=$((rc_k + 1))
      shift
    done
    for rc_pid in $rc_batch; do
      wait "$rc_pid" || exit 1
    done
  done
}

# A stage in a background subshell. The cleanup stops it with TERM; it then stops the docker
# clients it started (a subshell does not inherit the main shell's traps).
rc_stage_in_background() {
  rc_jobs=
  rc_removers=
  # shellcheck disable=SC2086 # a list of process ids
  trap 'if [ -n "$rc_jobs" ]; then kill $rc_jobs 2>/dev/null; fi; exit 143' TERM
  # POSIX sh has no `wait -n`: a failing stage tells the main shell at once, whichever stage
  # it is waiting for.
  trap 'if [ "$?" != 0 ]; then kill -USR1 "$rc_main_pid" 2>/dev/null; fi' EXIT
  "rc_stage_$1"
  # shellcheck disable=SC2086 # a list of process ids
  if [ -n "$rc_removers" ]; then wait $rc_removers || :; fi
}

# The no-op fast path. After a successful build the script writes a stamp: the build id, the
# ids of the images the stages produced, and a fingerprint: the ids of the FROM images and of
# every image the build produced or tagged, and the environment values MOUNT sources read. The
# next run first checks, with no temporary directory and at most two processes (one docker
# call), that no input the build reads (the context, when a COPY/ADD reads it) is newer than the
# stamp and that the fingerprint is the same; then nothing changed. The plan's checksum (fixed at
# compile time) names the stamp, so any change to the Rockerfile or the options starts over.
rc_stamp_file() {
  rc_stamp="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/rockerc/$rc_plan_hash"
}

# rc_fingerprint IMAGE...: sets rc_print, the fingerprint of these images as they are now.
rc_fingerprint() {
  rc_ids=$(docker image inspect --format '{{.Id}}' "$@" 2>/dev/null) || return 1
  # shellcheck disable=SC2086 # joins the ids into one line
  set -- $rc_ids
  rc_env_inputs
  rc_print="$* $rc_envs"
}

rc_up_to_date() {
  [ "$rc_no_cache$rc_pull$rc_attach$rc_push" = 0000 ] || return 1
  rc_stamp_file
  [ -f "$rc_stamp" ] || return 1
  { IFS= read -r rc_was_id && IFS= read -r rc_built && IFS= read -r rc_was; } < "$rc_stamp" || return 1
  [ "$rc_was_id" = "$rc_build_id" ] || return 1
  if [ "$rc_reads_context" = 1 ]; then
    rc_newer=$(cd "$rc_context" && rc_inputs_newer_than "$rc_stamp" 2>/dev/null) || return 1
    [ -z "$rc_newer" ] || return 1
  fi
  # shellcheck disable=SC2086 # image ids and names: one word each
  rc_fingerprint $rc_built $rc_fast_images || return 1
  [ "$rc_print" = "$rc_was" ]
}

rc_write_stamp() {
  rc_stamp_file
  rc_built=$(cat "$rc_tmp"/img/stage.* | tr '\n' ' ')
  rc_report_ids
  # One docker call for the fingerprint and the report's sizes; the first $# lines are the
  # fingerprint's images, in order.
  # shellcheck disable=SC2086 # image ids and names: one word each
  set -- $rc_built $rc_fast_images
  # shellcheck disable=SC2046 # image ids: one word each
  if docker image inspect --format '{{.Id}} {{.Size}}' "$@" $(cat "$rc_tmp/ids") > "$rc_tmp/sizes" 2>/dev/null; then
    rc_ids=
    while [ $# -gt 0 ] && IFS= read -r rc_line; do
      rc_ids="$rc_ids ${rc_line%% *}"
      shift
    done < "$rc_tmp/sizes"
    rc_env_inputs
    rc_print="${rc_ids# } $rc_envs"
  else
    rm -f "$rc_tmp/sizes"
    rc_fingerprint "$@" || return 0
  fi
  case $rc_build_id$rc_print in *'
'*) return 0 ;; esac
  # A stamp is an optimisation: when it cannot be written, the next run simply builds.
  if mkdir -p "${rc_stamp%/*}" 2>/dev/null &&
    printf '%s\n%s\n%s\n' "$rc_build_id" "$rc_built" "$rc_print" > "$rc_stamp.$$" 2>/dev/null; then
    mv "$rc_stamp.$$" "$rc_stamp" 2>/dev/null || rm -f "$rc_stamp.$$"
  fi
}

# Stage results cross subshell boundaries through files.
rc_save() {
  printf '%s\n' "$rc_img" > "$rc_tmp/img/$1"
}

rc_load() {
  [ -s "$rc_tmp/img/$1" ] || rc_die "internal: image $1 was not built"
  rc_img=$(cat "$rc_tmp/img/$1")
}

# rc_saved KEY: prints the id of an image saved under KEY (another stage, a TAG point).
rc_saved() {
  [ -s "$rc_tmp/img/$1" ] || rc_die "internal: image $1 was not built"
  cat "$rc_tmp/img/$1"
}

# rc_need_var NAME WHERE: a MOUNT source reads $NAME when the script runs; say so if it is unset.
rc_need_var() {
  eval "rc_set=\${$1+x}"
  [ -n "$rc_set" ] || rc_die "MOUNT at $2 uses \$$1, which is not set in the environment"
}
