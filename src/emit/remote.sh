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

# rc_rmt_remote: whether the engine cannot see the client's files. Asked once per build; a "no"
# (the engine is remote) is remembered for this engine and client (the engine's id, name and
# data root from `docker info`, this machine's boot and mount namespace), a "yes" never: engines
# can share an id (Docker 20.10 derives it from /etc/docker/key.json, the same for every daemon
# of a machine, or of a cloned VM image), and a wrong "yes" would bind a folder of the server's
# own of the same name, where a wrong "no" only costs time. ROCKERC_ENGINE_SEES_HOST=0/1
# overrides it.
rc_rmt_remote() {
  if [ -z "${rc_rmt_mode:-}" ] && [ -s "$rc_tmp/engine-mode" ]; then rc_rmt_mode=$(cat "$rc_tmp/engine-mode"); fi
  if [ -z "${rc_rmt_mode:-}" ]; then
    case ${ROCKERC_ENGINE_SEES_HOST:-} in
      0) rc_rmt_mode=remote ;;
      1) rc_rmt_mode=local ;;
      *) rc_rmt_probe ;;
    esac
    printf '%s\n' "$rc_rmt_mode" > "$rc_tmp/engine-mode"
    if [ "$rc_rmt_mode" = remote ]; then
      rc_say "the Docker engine cannot see this machine's files: MOUNTed host paths are sent to it (and brought back)"
    fi
  fi
  [ "$rc_rmt_mode" = remote ]
}

rc_rmt_probe() {
  if [ "$rc_podman" = 1 ]; then
    # (podman's info has no ID, Name or DockerRootDir: a remote podman's service is known by its
    # host's name and its storage.)
    rc_rmt_engine=$(docker info --format 'podman {{.Host.Hostname}} {{.Store.GraphRoot}} {{.Store.RunRoot}}' 2>/dev/null) || rc_rmt_engine=
  else
    rc_rmt_engine=$(docker info --format '{{.ID}} {{.Name}} {{.DockerRootDir}}' 2>/dev/null) || rc_rmt_engine=
  fi
  rc_b=
  if [ -r /proc/sys/kernel/random/boot_id ]; then IFS= read -r rc_b < /proc/sys/kernel/random/boot_id || rc_b=; fi
  rc_b="$rc_b $(readlink /proc/self/ns/mnt 2>/dev/null || uname -n 2>/dev/null)"
  rc_rmt_key=$(rc_hash "$rc_rmt_engine $rc_b")
  rc_rmt_known="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/rockerc/engines/$rc_rmt_key"
  if [ -n "$rc_rmt_engine" ] && [ "$(cat "$rc_rmt_known" 2>/dev/null)" = remote ]; then
    rc_rmt_mode=remote
    return 0
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
  if [ "$rc_rmt_mode" = local ]; then
    rm -f "$rc_rmt_known"
  elif [ -n "$rc_rmt_engine" ] && mkdir -p "${rc_rmt_known%/*}" 2>/dev/null; then
    if printf '%s\n' "$rc_rmt_mode" > "$rc_rmt_known.$$" 2>/dev/null; then mv "$rc_rmt_known.$$" "$rc_rmt_known" 2>/dev/null || rm -f "$rc_rmt_known.$$"; fi
  fi
}

# rc_rmt_mount KIND DEST RO: called by rc_mounts for a host MOUNT (rc_src checked) when the engine
# cannot see it: adds a volume mount in its place to rc_mount_opts and records what to send.
rc_rmt_mount() {
  rc_id_hash_set
  if [ -d "$rc_src" ]; then
    if [ "$1" = c ] || rc_in_context "$rc_src"; then
      rc_v="rockerc-mirror-$rc_id_hash-$(rc_hash "$rc_src" | cut -c 1-16)"
    else
      rc_v="rockerc-run-$rc_run_id-$rc_step-$(rc_hash "$rc_src" | cut -c 1-16)"
    fi
    rc_volume_opts "$rc_v" "$2" "$3"
    rc_mount_opts="$rc_mount_opts$rc_vopts"
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

# rc_rmt_helper VOLUME [ARG...]: a container with VOLUME at /.rockerc-v, in rc_hc. Without ARGs
# it never runs; with them it runs `/bin/sh ARG...` of the step's image as root, with no network
# (the lister below).
rc_rmt_helper() {
  rc_ncontainers=$((rc_ncontainers + 1))
  rc_hc="rockerc-$rc_run_id-$rc_step-v$rc_ncontainers"
  printf '%s\n' "$rc_hc" >> "$rc_tmp/containers"
  rc_hv=$1
  shift
  if [ $# = 0 ]; then
    set -- "$rc_img" /rockerc-volume-never-runs
  else
    set -- --user 0 --network none --entrypoint /bin/sh -e LC_ALL=C -e TZ=UTC0 "$rc_img" "$@"
  fi
  rc_volume_opts "$rc_hv" /.rockerc-v ''
  eval "set -- $rc_vopts \"\$@\""
  docker create --name "$rc_hc" "$@" > "$rc_tmp/helper.err.$rc_step" 2>&1 ||
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
  while read -r rc_v rc_rmt_rw rc_rmt_src; do
    rc_rmt_send_dir "$rc_v" "$rc_rmt_src"
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
      # Gone since: deleted in the volume by a container of the step's image (`docker cp` cannot
      # delete); where that cannot run, the volume is filled again.
      rc_rmt_names "$rc_tmp/list.was.$rc_step" > "$rc_tmp/names.was.$rc_step"
      rc_rmt_names "$rc_tmp/list.now.$rc_step" > "$rc_tmp/names.now.$rc_step"
      LC_ALL=C comm -23 "$rc_tmp/names.was.$rc_step" "$rc_tmp/names.now.$rc_step" > "$rc_tmp/gone.$rc_step"
      if [ ! -s "$rc_tmp/gone.$rc_step" ] || rc_rmt_delete "$1" "$rc_tmp/gone.$rc_step"; then rc_full=0; fi
    fi
    ;;
  esac
  rm -f "$rc_mf"
  if [ "$rc_full" = 1 ]; then
    # What the refilled volume holds on the engine is listed by the next bring (rc_rmt_bring).
    rm -f "$rc_mf.engine"
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
      # What was sent has new ctimes on the engine: in the engine's listing those names say
      # "unknown", so the next bring takes them for changed (and brings them back once) or gone,
      # rather than trust a stale line.
      rc_rmt_mark_unknown "$rc_tmp/list.send.$rc_step"
    fi
  fi
  if [ -n "$rc_hc" ]; then rc_rmt_helper_done; rc_hc=; fi
  rc_shown=$2
  case $2 in "$rc_context") rc_shown=. ;; "$rc_context"/*) rc_shown=./${2#"$rc_context"/} ;; esac
  rc_say "  sent $((rc_rmt_sent - rc_k0)) kB of $rc_shown to the Docker engine"
  case $1 in rockerc-run-*) ;; *) rc_rmt_save_manifest "$1" "$rc_tmp/list.now.$rc_step" ;; esac
}

# rc_rmt_delete VOLUME NAMES: deletes NAMES (./NAME a line, from the client's own listing) in the
# mirror volume, in a container of the step's image; in the engine's listing they say "unknown".
# Fails when that cannot run (no /bin/sh or rm in the image).
rc_rmt_delete() {
  rm -rf "$rc_tmp/del.$rc_step"
  mkdir "$rc_tmp/del.$rc_step"
  cp "$2" "$rc_tmp/del.$rc_step/.rockerc-gone"
  cat > "$rc_tmp/del.$rc_step/.rockerc-rm" <<'ROCKERC_RM'
command -v rm >/dev/null 2>&1 || exit 97
while IFS= read -r n; do
  case /$n/ in */../*) exit 97 ;; esac
  case $n in ./?*) rm -rf "/.rockerc-v/$n" || exit 97 ;; esac
done < /.rockerc-gone
ROCKERC_RM
  rc_rmt_helper "$1" /.rockerc-rm
  rc_del=1
  if (cd "$rc_tmp/del.$rc_step" && tar -cf - .) | docker cp - "$rc_hc:/" > "$rc_log.cp" 2>&1 &&
    docker start -a "$rc_hc" >> "$rc_log.cp" 2>&1; then
    rc_del=0
  fi
  rc_rmt_helper_done
  rc_hc=
  rm -rf "$rc_tmp/del.$rc_step"
  if [ "$rc_del" = 0 ]; then rc_rmt_mark_unknown "$2"; fi
  return "$rc_del"
}

# rc_rmt_names LIST: the names in a list of rc_rmt_list, sorted (the first 8 words are the rest).
rc_rmt_names() {
  sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* //' "$1" | LC_ALL=C sort -u
}

# rc_rmt_mark_unknown NAMES: the engine's listing of the volume (rc_mf.engine), with NAMES unknown.
rc_rmt_mark_unknown() {
  [ -s "$rc_mf.engine" ] || return 0
  if { sed -n 1p "$rc_mf.engine"; sed 1d "$rc_mf.engine" | rc_rmt_unknown "$1"; } > "$rc_mf.engine.$$"; then
    mv "$rc_mf.engine.$$" "$rc_mf.engine" 2>/dev/null || rm -f "$rc_mf.engine.$$"
  else
    rm -f "$rc_mf.engine" "$rc_mf.engine.$$"
  fi
}

# rc_rmt_unknown NAMES: the listing on stdin with a line of unknown attributes (`-` for each) for
# each name in NAMES (a name a line), in place of the line it had, if any.
rc_rmt_unknown() {
  awk 'FILENAME == ARGV[1] { if ($0 != "") mark[$0] = 1; next }
    { n = $0; sub(/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* /, "", n); if (!(n in mark)) print }
    END { for (n in mark) print "- - - - - - - - " n }' "$1" - | LC_ALL=C sort
}

rc_rmt_save_manifest() {
  rc_rmt_manifest "$1"
  mkdir -p "${rc_mf%/*}" 2>/dev/null || return 0
  if { printf '%s\n' "$rc_gen"; cat "$2"; } > "$rc_mf.$$" 2>/dev/null; then mv "$rc_mf.$$" "$rc_mf" 2>/dev/null || rm -f "$rc_mf.$$"; fi
}

# Before a step that may write its MOUNTs: the manifests say nothing until what it wrote is back;
# the engine's listing of each volume is what the bring compares the volume with afterwards.
rc_rmt_writing() {
  while read -r rc_v rc_rmt_rw rc_rmt_src; do
    [ -n "$rc_v" ] || continue
    rc_rmt_manifest "$rc_v"
    rm -f "$rc_mf" "$rc_tmp/base.$rc_step.$rc_v"
    if [ -s "$rc_mf.engine" ]; then mv "$rc_mf.engine" "$rc_tmp/base.$rc_step.$rc_v" 2>/dev/null || rm -f "$rc_mf.engine"; fi
  done <<ROCKERC_DIRS
$(printf '%s' "$rc_rmt_dirs")
ROCKERC_DIRS
}

# After a step that may write its MOUNTs: what the step changed in each writable directory's
# volume comes back, and is applied to the folder.
rc_rmt_bring() {
  [ -n "$rc_rmt_dirs" ] || return 0
  while read -r rc_v rc_rmt_rw rc_rmt_src; do
    [ "$rc_rmt_rw" = ,rw ] || continue
    rc_rmt_bring_dir "$rc_v" "$rc_rmt_src"
  done <<ROCKERC_DIRS
$(printf '%s' "$rc_rmt_dirs")
ROCKERC_DIRS
}

# The lister, run on the engine in the step's image (as root, no network) with the volume at
# /.rockerc-v: lists it as rc_rmt_list lists a folder (into /.rockerc-out/listing). With `diff`,
# it compares that with /.rockerc-base, the listing of the volume as the script last left it:
# what is new or differs (a write changes an entry's ctime, which nothing in a container can set
# back) is copied under /.rockerc-out/data and named in /.rockerc-out/changed, what is gone is
# named in /.rockerc-out/gone. 97: the image lacks a tool; 96: a name has a line break. Either
# way the script then copies the whole volume back, as it does for a volume it has no listing of.
rc_rmt_lister() {
  cat <<'ROCKERC_LISTER'
nl='
'
for c in find stat sort awk cp mkdir sed; do command -v "$c" >/dev/null 2>&1 || exit 97; done
mkdir -p /.rockerc-out/data && cd /.rockerc-v || exit 97
[ -z "$(find . -name "*$nl*" | sed -n 1p)" ] || exit 96
find . ! -name . -exec stat -c '%f %s %y %z %n' {} + | sort > /.rockerc-out/listing || exit 97
[ "$1" = diff ] || exit 0
awk -v changed=/.rockerc-out/changed -v gone=/.rockerc-out/gone '
  BEGIN { printf "" > changed; printf "" > gone }
  { n = $0; sub(/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* /, "", n) }
  FILENAME == ARGV[1] { was[n] = $0; next }
  { if (!(n in was) || was[n] != $0) print n > changed; seen[n] = 1 }
  END { for (n in was) if (!(n in seen)) print n > gone }' /.rockerc-base /.rockerc-out/listing || exit 97
while IFS= read -r n; do
  if [ -d "$n" ] && [ ! -L "$n" ]; then
    mkdir -p "/.rockerc-out/data/$n" || exit 97
  else
    mkdir -p "/.rockerc-out/data/${n%/*}" && cp -a "$n" "/.rockerc-out/data/$n" || exit 97
  fi
done < /.rockerc-out/changed
ROCKERC_LISTER
}

# rc_rmt_bring_dir VOLUME FOLDER
rc_rmt_bring_dir() {
  rc_back="$rc_tmp/back.$rc_step"
  rm -rf "$rc_back"
  mkdir -p "$rc_back/in" "$rc_back/out"
  rc_how=none rc_gen=''
  case $1 in
    rockerc-run-*) ;;
    *)
      rc_how=list
      rc_gen=$(docker volume inspect --format '{{if .Labels}}{{index .Labels "rockerc.mirror"}}{{end}}' -- "$1" 2>/dev/null) || rc_gen=
      rc_rmt_base="$rc_tmp/base.$rc_step.$1"
      if [ -n "$rc_gen" ] && [ -f "$rc_rmt_base" ] && [ "$(sed -n 1p "$rc_rmt_base")" = "$rc_gen" ]; then
        sed 1d "$rc_rmt_base" > "$rc_back/in/.rockerc-base"
        rc_how='diff'
      fi
      rm -f "$rc_rmt_base"
      rc_rmt_lister > "$rc_back/in/.rockerc-lister"
      ;;
  esac
  rc_listed=1
  if [ "$rc_how" = none ]; then
    rc_rmt_helper "$1"
  else
    rc_rmt_helper "$1" /.rockerc-lister "$rc_how"
    if (cd "$rc_back/in" && tar -cf - .) | docker cp - "$rc_hc:/" > "$rc_log.cp" 2>&1 &&
      docker start -a "$rc_hc" >> "$rc_log.cp" 2>&1; then
      rc_listed=0
    fi
  fi
  # The context's .git stays as it is (a bind keeps it read-only).
  rc_x=
  case $rc_context/.git in "$2"/*) rc_x="./${rc_context#"$2"}/.git" ;; esac
  rc_x=$(printf '%s' "$rc_x" | sed 's|//*|/|g; s|^\./*|./|')
  rc_rmt_git_changed=0
  # Each archive is kept whole before it is unpacked: its size is what crossed the network.
  rc_got=0
  if [ "$rc_listed" = 0 ] && [ "$rc_how" = diff ]; then
    rc_rmt_fetch "$rc_hc:/.rockerc-out/." "$rc_back/out" "$2"
    rc_rmt_apply_changes "$rc_back/out" "$2" "$rc_x"
  else
    mkdir "$rc_back/out/data"
    rc_rmt_fetch "$rc_hc:/.rockerc-v/." "$rc_back/out/data" "$2"
    if [ "$rc_listed" = 0 ]; then
      rc_rmt_fetch "$rc_hc:/.rockerc-out/listing" "$rc_back/out" "$2"
    fi
    rc_rmt_apply "$rc_back/out/data" "$2" "$rc_x"
  fi
  rc_rmt_helper_done
  rc_hc=
  rc_k=$(((rc_got + 1023) / 1024))
  rc_rmt_got=$((rc_rmt_got + rc_k))
  rc_shown=$2
  case $2 in "$rc_context") rc_shown=. ;; "$rc_context"/*) rc_shown=./${2#"$rc_context"/} ;; esac
  rc_say "  brought back $rc_k kB of $rc_shown from the Docker engine"
  if [ "$rc_how" != none ]; then
    rc_rmt_list "$2" > "$rc_tmp/list.now.$rc_step"
    # A changed .git in the volume is not what the folder has: send it whole next time.
    if [ -n "$rc_gen" ] && [ "$rc_rmt_git_changed" = 0 ]; then
      rc_rmt_save_manifest "$1" "$rc_tmp/list.now.$rc_step"
      # What the volume holds now, as the engine lists it: the next bring's baseline.
      if [ "$rc_listed" = 0 ] && [ -f "$rc_back/out/listing" ] &&
        { printf '%s\n' "$rc_gen"; cat "$rc_back/out/listing"; } > "$rc_mf.engine.$$" 2>/dev/null; then
        mv "$rc_mf.engine.$$" "$rc_mf.engine" 2>/dev/null || rm -f "$rc_mf.engine.$$"
      fi
    fi
  fi
  rm -rf "$rc_back"
}

# rc_rmt_fetch CONTAINER:PATH DIR FOLDER: `docker cp` out of the helper into DIR; adds the
# archive's size to rc_got.
rc_rmt_fetch() {
  if ! docker cp "$1" - > "$rc_back/fetch.tar" 2>> "$rc_log.cp" || ! tar -xpf "$rc_back/fetch.tar" -C "$2" 2>> "$rc_log.cp"; then
    cat "$rc_log.cp" >> "$rc_log"
    rc_fail "cannot bring $3 back from the Docker engine"
  fi
  rc_got=$((rc_got + $(wc -c < "$rc_back/fetch.tar")))
  rm -f "$rc_back/fetch.tar"
}

# What rc_rmt_apply does for an entry NAME of FROM, for each NAME argument, in TO (sh -c, with
# TO and EXCLUDE first): makes it what it is in FROM, unless it is the same already (its times
# stay); prints `git` for a name under EXCLUDE, which it leaves alone. A name that would reach
# out of TO (a `..`, a folder that is a link on this machine) stops it: the names come from the
# engine, and a bind never let a step write outside its folder.
# shellcheck disable=SC2016 # run by sh -c, which expands it
rc_rmt_put_sh='
  t=$1 x=$2; shift 2
  tp=$(cd "$t" && pwd -P) || exit 1
  for p; do
    case /$p/ in */../*) echo "rockerc: the engine named $p" >&2; exit 1 ;; esac
    case $p in "$x"|"$x"/*) if [ -n "$x" ]; then echo git; continue; fi ;; esac
    case $p in
      ./*/*)
        pp=$(cd "$t/${p%/*}" 2>/dev/null && pwd -P) || exit 1
        case $pp/ in "$tp"/*) ;; *) echo "rockerc: $p is not in $t" >&2; exit 1 ;; esac
        ;;
    esac
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
  done'

# rc_rmt_apply_changes OUT TO EXCLUDE: applies what the lister found (OUT/gone, OUT/changed,
# OUT/data) to TO, leaving EXCLUDE (./PATH, or '') as it is.
rc_rmt_apply_changes() {
  if [ ! -f "$1/gone" ] || [ ! -f "$1/changed" ]; then rc_fail "cannot apply what the step changed to $2 (the engine's list is missing)"; fi
  while IFS= read -r rc_p; do
    # Only ./NAME: an empty line (no name gone) is not the folder itself.
    case $rc_p in ./?*) ;; *) continue ;; esac
    case /$rc_p/ in */../*) rc_fail "the Docker engine named $rc_p among what the step deleted in $2" ;; esac
    case $rc_p in "$3"|"$3"/*) if [ -n "$3" ]; then rc_rmt_git_changed=1; continue; fi ;; esac
    [ -e "$2/$rc_p" ] || [ -L "$2/$rc_p" ] || continue
    # Its folder here, as it is on disk: a link out of the folder is not followed.
    rc_pp=$(cd "$2/${rc_p%/*}" 2>/dev/null && pwd -P) || continue
    case $rc_pp/ in "$(cd "$2" && pwd -P)"/*) ;; *) continue ;; esac
    rm -rf "${2:?}/$rc_p" || rc_fail "cannot apply what the step changed to $2"
  done <<ROCKERC_GONE
$(LC_ALL=C sort -r "$1/gone")
ROCKERC_GONE
  [ -s "$1/changed" ] || return 0
  (cd "$1/data" && tr '\n' '\0' < "$1/changed" | xargs -0 sh -c "$rc_rmt_put_sh" sh "$2" "$3") > "$rc_tmp/apply.out.$rc_step" ||
    rc_fail "cannot apply what the step changed to $2"
  if [ -s "$rc_tmp/apply.out.$rc_step" ]; then rc_rmt_git_changed=1; fi
}

# rc_rmt_apply FROM TO EXCLUDE: makes TO what FROM is (what is the same is not touched: its times
# stay), leaving EXCLUDE (./PATH, or '') in TO as it is.
rc_rmt_apply() {
  # Gone: in TO, not in FROM.
  (cd "$2" && find . -depth ! -name . -exec sh -c '
    f=$1 x=$2; shift 2
    for p; do
      case $p in "$x"|"$x"/*) [ -z "$x" ] || continue ;; esac
      if [ ! -e "$f/$p" ] && [ ! -L "$f/$p" ]; then rm -rf "$p"; fi
    done' sh "$1" "$3" {} +) || rc_fail "cannot apply what the step changed to $2"
  # New or changed: in FROM, and not the same in TO.
  (cd "$1" && find . ! -name . -exec sh -c "$rc_rmt_put_sh" sh "$2" "$3" {} + > "$rc_tmp/apply.out.$rc_step") ||
    rc_fail "cannot apply what the step changed to $2"
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
  rc_volume_opts "$rc_rv" /dev/.rockerc ,readonly
  rc_opts="$rc_opts$rc_vopts"
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
