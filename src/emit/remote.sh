# -----------------------------------------------------------------------------------------------
# rockerc on an engine that cannot see this machine's files (a remote daemon: DOCKER_HOST=ssh://,
# tcp://, a docker context). A bind of a client path there fails, or worse, binds the server's own
# folder of that name. When a build has host MOUNTs, the script asks the engine once whether it
# sees the client's files (remembered per engine and client), and when it does not, carries the
# host paths across the CLI:
# - a MOUNTed directory of the build context lives in a mirror volume on the engine (one per build
#   id and path). Before a step reads it, only what changed since the last build is sent (a
#   manifest on the client says what the volume holds, a label on the volume which copy it is);
#   after a step that may write it (RUN, IMPORT, ATTACH), the volume comes back and what the step
#   changed (new, changed, deleted files) is applied to the folder, as a bind would have left it.
#   The context's .git is never written back.
# - a MOUNTed directory outside the context (which may hold keys) goes into a volume of this run,
#   removed after the step.
# - a MOUNTed file (an ssh key), the RUN wrapper, its ARG values and secrets go into a volume of
#   this RUN, mounted read-only under /dev (never committed), removed as soon as the RUN is done
#   and, at the latest, by the cleanup.
# -----------------------------------------------------------------------------------------------

# rc_rmt_remote: whether the engine cannot see the client's files. Asked once per engine and
# client: the answer is kept under the engine's id (docker info), this machine's boot and mount
# namespace; ROCKERC_ENGINE_SEES_HOST=0/1 overrides it.
rc_rmt_remote() {
  if [ -z "${rc_rmt_mode:-}" ] && [ -s "$rc_tmp/engine-mode" ]; then rc_rmt_mode=$(cat "$rc_tmp/engine-mode"); fi
  if [ -z "${rc_rmt_mode:-}" ]; then
    case ${ROCKERC_ENGINE_SEES_HOST:-} in
      0) rc_rmt_mode=remote ;;
      1) rc_rmt_mode=local ;;
      *) rc_rmt_probe ;;
    esac
    printf '%s\n' "$rc_rmt_mode" > "$rc_tmp/engine-mode"
  fi
  [ "$rc_rmt_mode" = remote ]
}

rc_rmt_probe() {
  rc_rmt_engine=$(docker info --format '{{.ID}}' 2>/dev/null) || rc_rmt_engine=
  rc_b=
  if [ -r /proc/sys/kernel/random/boot_id ]; then IFS= read -r rc_b < /proc/sys/kernel/random/boot_id || rc_b=; fi
  rc_b="$rc_b $(readlink /proc/self/ns/mnt 2>/dev/null || uname -n 2>/dev/null)"
  rc_rmt_key=$(rc_hash "$rc_rmt_engine $rc_b")
  rc_rmt_known="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/rockerc/engines/$rc_rmt_key"
  if [ -n "$rc_rmt_engine" ] && [ -s "$rc_rmt_known" ]; then
    rc_rmt_mode=$(cat "$rc_rmt_known")
    case $rc_rmt_mode in local|remote) return 0 ;; esac
  fi
  # A file only this run knows, bound into a container that never runs and read back through it.
  mkdir "$rc_tmp/probe.$rc_step"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$rc_tmp/probe.$rc_step/token"
  rc_rmt_mode=remote
  rc_ncontainers=$((rc_ncontainers + 1))
  rc_pc="rockerc-$rc_run_id-probe-$rc_ncontainers"
  printf '%s\n' "$rc_pc" >> "$rc_tmp/containers"
  if docker create --name "$rc_pc" --mount "type=bind,\"src=$(rc_csv "$rc_tmp/probe.$rc_step")\",dst=/.rockerc-probe,readonly" "$rc_img" /rockerc-probe-never-runs >/dev/null 2>&1; then
    if [ "$(docker cp "$rc_pc:/.rockerc-probe/token" - 2>/dev/null | tar -xOf - 2>/dev/null)" = "$(cat "$rc_tmp/probe.$rc_step/token")" ]; then
      rc_rmt_mode=local
    fi
    docker rm -f -v "$rc_pc" >/dev/null 2>&1 && printf '%s\n' "$rc_pc" >> "$rc_tmp/removed"
  fi
  rm -rf "$rc_tmp/probe.$rc_step"
  if [ "$rc_rmt_mode" = remote ]; then
    rc_say "the Docker engine cannot see this machine's files: MOUNTed host paths are sent to it (and brought back)"
  fi
  if [ -n "$rc_rmt_engine" ] && mkdir -p "${rc_rmt_known%/*}" 2>/dev/null; then
    if printf '%s\n' "$rc_rmt_mode" > "$rc_rmt_known.$$" 2>/dev/null; then mv "$rc_rmt_known.$$" "$rc_rmt_known" 2>/dev/null || rm -f "$rc_rmt_known.$$"; fi
  fi
}

# rc_rmt_mount KIND DEST RO: called by rc_mounts for a host MOUNT (rc_src checked) when the engine
# cannot see it: adds a volume mount in its place to rc_mount_opts and records what to send.
rc_rmt_mount() {
  if [ -d "$rc_src" ]; then
    if [ "$1" = c ] || rc_in_context "$rc_src"; then
      rc_v="rockerc-mirror-$rc_id_hash-$(rc_hash "$rc_src" | cut -c 1-16)"
    else
      rc_v="rockerc-run-$rc_run_id-$rc_step-$(rc_hash "$rc_src" | cut -c 1-16)"
    fi
    rc_mount_opts="$rc_mount_opts$(rc_q --mount)$(rc_q "type=volume,src=$rc_v,\"dst=$(rc_csv "$2")\",volume-nocopy$3")"
    rc_rmt_dirs="$rc_rmt_dirs$rc_v ${3:-,rw} $rc_src
"
  elif [ "${rc_real_binds:-0}" = 1 ]; then
    rc_warn "MOUNT of the file $rc_src at $2: the Docker engine cannot see this machine's files, and only a RUN gets MOUNTed files from it"
  else
    rc_nfile=$((rc_nfile + 1))
    rc_links="$rc_links/dev/.rockerc/f$rc_nfile
$2
"
    rc_rmt_files="$rc_rmt_files$rc_src
"
  fi
}

# rc_rmt_helper VOLUME: a container (never run) with VOLUME at /.rockerc-v, in rc_hc.
rc_rmt_helper() {
  rc_ncontainers=$((rc_ncontainers + 1))
  rc_hc="rockerc-$rc_run_id-$rc_step-v$rc_ncontainers"
  printf '%s\n' "$rc_hc" >> "$rc_tmp/containers"
  docker create --name "$rc_hc" --mount "type=volume,src=$1,dst=/.rockerc-v,volume-nocopy" "$rc_img" /rockerc-volume-never-runs > "$rc_tmp/helper.err.$rc_step" 2>&1 ||
    { sed -n '1,3s/^/  /p' "$rc_tmp/helper.err.$rc_step" >&2; rc_fail "cannot create a container to carry files to the Docker engine"; }
}

rc_rmt_helper_done() {
  docker rm -f -v "$rc_hc" >/dev/null 2>&1 && printf '%s\n' "$rc_hc" >> "$rc_tmp/removed"
}

# rc_rmt_list DIR: what DIR holds, a line per entry (kind and mode, size, mtime, ctime, name),
# sorted: what a mirror volume holds is this list as it was when it was sent or brought back.
rc_rmt_list() {
  (cd "$1" && find . ! -name . -exec stat -c '%f %s %y %z %n' {} + | LC_ALL=C sort)
}

# rc_rmt_manifest VOLUME: the client's manifest of a mirror volume, for this engine.
rc_rmt_manifest() {
  rc_mf="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/rockerc/mirror/${rc_rmt_key:-any}/$1"
}

# Before a step: sends each MOUNTed directory into its volume (what changed only, where the volume
# is the one the manifest describes) and the files of a RUN into the RUN's volume.
rc_rmt_send() {
  [ -n "$rc_rmt_dirs" ] || return 0
  while read -r rc_v rc_mode rc_s; do
    rc_rmt_send_dir "$rc_v" "$rc_s"
  done <<ROCKERC_DIRS
$(printf '%s' "$rc_rmt_dirs")
ROCKERC_DIRS
}

rc_rmt_send_dir() {
  rc_rmt_manifest "$1"
  rc_rmt_list "$2" > "$rc_tmp/list.now.$rc_step" || rc_fail "cannot list $2"
  rc_full=1 rc_hc='' rc_k0=$rc_rmt_sent
  case $1 in rockerc-run-*) ;; *)
    rc_gen=$(docker volume inspect --format '{{if .Labels}}{{index .Labels "rockerc.mirror"}}{{end}}' -- "$1" 2>/dev/null) || rc_gen=
    # Names with a newline cannot be listed a line each: such a folder is sent whole every time.
    if [ -n "$rc_gen" ] && [ -s "$rc_mf" ] && [ "$(sed -n 1p "$rc_mf")" = "$rc_gen" ] &&
      [ -z "$(cd "$2" && find . -name '*
*' | sed -n 1p)" ]; then
      sed 1d "$rc_mf" > "$rc_tmp/list.was.$rc_step"
      # Gone since: a volume cannot lose a file through `docker cp`, so it is filled again.
      rc_rmt_names "$rc_tmp/list.was.$rc_step" > "$rc_tmp/names.was.$rc_step"
      rc_rmt_names "$rc_tmp/list.now.$rc_step" > "$rc_tmp/names.now.$rc_step"
      if [ -z "$(LC_ALL=C comm -23 "$rc_tmp/names.was.$rc_step" "$rc_tmp/names.now.$rc_step" | sed -n 1p)" ]; then rc_full=0; fi
    fi
    ;;
  esac
  rm -f "$rc_mf"
  if [ "$rc_full" = 1 ]; then
    docker volume rm -f -- "$1" >/dev/null 2>&1 || :
    rc_gen=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    docker volume create --label "rockerc.mirror=$rc_gen" -- "$1" >/dev/null || rc_fail "cannot create the volume $1"
    case $1 in rockerc-run-*) printf '%s\n' "$1" >> "$rc_tmp/run-volumes.$rc_step" ;; esac
    rc_rmt_helper "$1"
    (cd "$2" && tar -cf - .) | docker cp - "$rc_hc:/.rockerc-v" > "$rc_log.cp" 2>&1 || { cat "$rc_log.cp" >> "$rc_log"; rc_fail "cannot send $2 to the Docker engine"; }
    rc_rmt_sent=$((rc_rmt_sent + $(du -sk "$2" | cut -f 1)))
  else
    LC_ALL=C comm -13 "$rc_tmp/list.was.$rc_step" "$rc_tmp/list.now.$rc_step" | rc_rmt_names - > "$rc_tmp/list.send.$rc_step"
    if [ -s "$rc_tmp/list.send.$rc_step" ]; then
      rc_rmt_helper "$1"
      (cd "$2" && tar --no-recursion -cf - -T "$rc_tmp/list.send.$rc_step") > "$rc_tmp/send.tar.$rc_step" || rc_fail "cannot pack what changed in $2"
      docker cp - "$rc_hc:/.rockerc-v" < "$rc_tmp/send.tar.$rc_step" > "$rc_log.cp" 2>&1 || { cat "$rc_log.cp" >> "$rc_log"; rc_fail "cannot send $2 to the Docker engine"; }
      rc_rmt_sent=$((rc_rmt_sent + $(du -k "$rc_tmp/send.tar.$rc_step" | cut -f 1)))
      rm -f "$rc_tmp/send.tar.$rc_step"
    fi
  fi
  if [ -n "$rc_hc" ]; then rc_rmt_helper_done; rc_hc=; fi
  rc_shown=$2
  case $2 in "$rc_context") rc_shown=. ;; "$rc_context"/*) rc_shown=./${2#"$rc_context"/} ;; esac
  rc_say "  sent $((rc_rmt_sent - rc_k0)) kB of $rc_shown to the Docker engine"
  case $1 in rockerc-run-*) ;; *) rc_rmt_save_manifest "$1" "$rc_tmp/list.now.$rc_step" ;; esac
}

# rc_rmt_names LIST: the names in a list of rc_rmt_list, sorted (the first 8 words are the rest).
rc_rmt_names() {
  sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* //' "$1" | LC_ALL=C sort -u
}

rc_rmt_save_manifest() {
  rc_rmt_manifest "$1"
  mkdir -p "${rc_mf%/*}" 2>/dev/null || return 0
  if { printf '%s\n' "$rc_gen"; cat "$2"; } > "$rc_mf.$$" 2>/dev/null; then mv "$rc_mf.$$" "$rc_mf" 2>/dev/null || rm -f "$rc_mf.$$"; fi
}

# Before a step that may write its MOUNTs: the manifests say nothing until what it wrote is back.
rc_rmt_writing() {
  while read -r rc_v rc_mode rc_s; do
    [ -n "$rc_v" ] || continue
    rc_rmt_manifest "$rc_v"
    rm -f "$rc_mf"
  done <<ROCKERC_DIRS
$(printf '%s' "$rc_rmt_dirs")
ROCKERC_DIRS
}

# After a step that may write its MOUNTs: each writable directory's volume comes back, and what
# the step changed is applied to the folder.
rc_rmt_bring() {
  [ -n "$rc_rmt_dirs" ] || return 0
  while read -r rc_v rc_mode rc_s; do
    [ "$rc_mode" = ,rw ] || continue
    rc_rmt_helper "$rc_v"
    rm -rf "$rc_tmp/back.$rc_step"
    mkdir "$rc_tmp/back.$rc_step"
    docker cp "$rc_hc:/.rockerc-v/." - 2> "$rc_log.cp" | tar -xpf - -C "$rc_tmp/back.$rc_step" 2>> "$rc_log.cp" ||
      { cat "$rc_log.cp" >> "$rc_log"; rc_fail "cannot bring $rc_s back from the Docker engine"; }
    rc_rmt_helper_done
    rc_hc=
    # The context's .git stays as it is (a bind keeps it read-only).
    rc_x=
    case $rc_context/.git in "$rc_s"/*) rc_x="./${rc_context#"$rc_s"}/.git" ;; esac
    rc_x=$(printf '%s' "$rc_x" | sed 's|//*|/|g; s|^\./*|./|')
    rc_rmt_apply "$rc_tmp/back.$rc_step" "$rc_s" "$rc_x"
    rm -rf "$rc_tmp/back.$rc_step"
    case $rc_v in
      rockerc-run-*) ;;
      *)
        rc_rmt_list "$rc_s" > "$rc_tmp/list.now.$rc_step"
        rc_gen=$(docker volume inspect --format '{{if .Labels}}{{index .Labels "rockerc.mirror"}}{{end}}' -- "$rc_v" 2>/dev/null) || rc_gen=
        # A changed .git in the volume is not what the folder has: send it whole next time.
        if [ -n "$rc_gen" ] && [ "$rc_rmt_git_changed" = 0 ]; then rc_rmt_save_manifest "$rc_v" "$rc_tmp/list.now.$rc_step"; fi
        ;;
    esac
  done <<ROCKERC_DIRS
$(printf '%s' "$rc_rmt_dirs")
ROCKERC_DIRS
}

# rc_rmt_apply FROM TO EXCLUDE: makes TO what FROM is (what is the same is not touched: its times
# stay), leaving EXCLUDE (./PATH, or '') in TO as it is.
rc_rmt_apply() {
  rc_rmt_git_changed=0
  # Gone: in TO, not in FROM.
  (cd "$2" && find . -depth ! -name . -exec sh -c '
    f=$1 x=$2; shift 2
    for p; do
      case $p in "$x"|"$x"/*) [ -z "$x" ] || continue ;; esac
      if [ ! -e "$f/$p" ] && [ ! -L "$f/$p" ]; then rm -rf "$p"; fi
    done' sh "$1" "$3" {} +) || rc_fail "cannot apply what the step changed to $2"
  # New or changed: in FROM, and not the same in TO.
  (cd "$1" && find . ! -name . -exec sh -c '
    t=$1 x=$2; shift 2
    for p; do
      case $p in "$x"|"$x"/*) if [ -n "$x" ]; then echo git; continue; fi ;; esac
      if [ -d "$p" ] && [ ! -L "$p" ]; then
        if [ -L "$t/$p" ] || { [ -e "$t/$p" ] && [ ! -d "$t/$p" ]; }; then rm -f "$t/$p"; fi
        if [ ! -d "$t/$p" ]; then mkdir "$t/$p" || exit 1; fi
        if [ "$(stat -c %a "$p")" != "$(stat -c %a "$t/$p")" ]; then chmod "00$(stat -c %a "$p")" "$t/$p"; fi
        continue
      fi
      if [ -L "$p" ]; then
        if [ -L "$t/$p" ] && [ "$(readlink "$p")" = "$(readlink "$t/$p")" ]; then continue; fi
      elif [ -f "$t/$p" ] && [ ! -L "$t/$p" ] && cmp -s "$p" "$t/$p" && [ "$(stat -c %a "$p")" = "$(stat -c %a "$t/$p")" ]; then
        continue
      fi
      rm -rf "$t/$p"
      cp -Pp "$p" "$t/$p" || exit 1
    done' sh "$2" "$3" {} + > "$rc_tmp/apply.out.$rc_step") || rc_fail "cannot apply what the step changed to $2"
  # Entries under .git in the volume that differ from the folder's: the next send is whole.
  if [ -n "$3" ] && [ -s "$rc_tmp/apply.out.$rc_step" ]; then
    if [ "$(cd "$1" && find "$3" -newer "$rc_tmp/t0" 2>/dev/null | sed -n 1p)" != "" ]; then rc_rmt_git_changed=1; fi
  fi
}

# rc_rmt_run_volume: the RUN's own files (wrapper, ARG values, secrets, MOUNTed files) in a volume
# of this RUN, mounted read-only at /dev/.rockerc; adds its mount to rc_opts, sets rc_wrap.
rc_rmt_run_volume() {
  rc_rv="rockerc-run-$rc_run_id-$rc_step"
  cp "$rc_tmp/wrapper" "$rc_tmp/run.$rc_step/run"
  rc_k=0
  while IFS= read -r rc_f; do
    [ -n "$rc_f" ] || continue
    rc_k=$((rc_k + 1))
    cp "$rc_f" "$rc_tmp/run.$rc_step/f$rc_k" || rc_fail "cannot read the MOUNTed file $rc_f"
  done <<ROCKERC_FILES
$rc_rmt_files
ROCKERC_FILES
  printf '%s\n' "$rc_rv" >> "$rc_tmp/run-volumes.$rc_step"
  docker volume create -- "$rc_rv" >/dev/null || rc_fail "cannot create the volume $rc_rv"
  rc_rmt_helper "$rc_rv"
  (cd "$rc_tmp/run.$rc_step" && tar -cf - .) | docker cp - "$rc_hc:/.rockerc-v" > "$rc_log.cp" 2>&1 ||
    { cat "$rc_log.cp" >> "$rc_log"; rc_fail "cannot send the RUN's files to the Docker engine"; }
  rc_rmt_helper_done
  rc_hc=
  # Plaintext secrets and keys stay on the client no longer than the engine needs them.
  rm -f "$rc_tmp/run.$rc_step"/secret.* "$rc_tmp/run.$rc_step"/f[0-9]*
  rc_opts="$rc_opts$(rc_q --mount)$(rc_q "type=volume,src=$rc_rv,dst=/dev/.rockerc,volume-nocopy,readonly")"
  rc_wrap=/dev/.rockerc/run
}

# After a RUN: its container and its volumes (the RUN's files, directories from outside the
# context) go at once.
rc_rmt_run_done() {
  [ -s "$rc_tmp/run-volumes.$rc_step" ] || return 0
  docker rm -f -v "$1" >/dev/null 2>&1 && printf '%s\n' "$1" >> "$rc_tmp/removed"
  rc_rmt_drop_volumes
}

# The volumes of this step (a stage that runs beside it has its own list).
rc_rmt_drop_volumes() {
  [ -s "$rc_tmp/run-volumes.$rc_step" ] || return 0
  while IFS= read -r rc_v; do docker volume rm -f -- "$rc_v" >/dev/null 2>&1 || :; done < "$rc_tmp/run-volumes.$rc_step"
  : > "$rc_tmp/run-volumes.$rc_step"
}

# The cleanup's: every step's, once every container is gone.
rc_rmt_drop_all_volumes() {
  for rc_f in "$rc_tmp"/run-volumes.*; do
    [ -s "$rc_f" ] || continue
    while IFS= read -r rc_v; do docker volume rm -f -- "$rc_v" >/dev/null 2>&1 || :; done < "$rc_f"
    rm -f "$rc_f"
  done
}

# rc_rmt_reap RUN: the volumes a dead build of this id left on a remote engine (its MOUNTed files
# and secrets), once its containers are gone.
rc_rmt_reap() {
  docker volume ls -q --filter "name=^rockerc-run-$1-" 2>/dev/null | while IFS= read -r rc_v; do
    case $rc_v in "rockerc-run-$1-"*) docker volume rm -f -- "$rc_v" >/dev/null 2>&1 || : ;; esac
  done
}
