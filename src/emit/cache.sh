# -----------------------------------------------------------------------------------------------
# MOUNT caches a CI job can keep (--cache-to DIR, --cache-from DIR) and see (--cache-ls,
# --cache-prune). Everything goes through the docker CLI: a container of rockerc-lock:1 (an empty
# image, never run) with the volumes mounted, and `docker cp` in or out of it, so a remote engine
# works as a local one does.
#
# DIR holds `manifest` and one archive per volume (and one of the MOUNTed-RUN cache images), each
# named by its SHA-256. The manifest is tab-separated, one entry per line:
#   rockerc-cache 1 / rockerc VERSION / id BUILD-ID /
#   volume SIZE SHA256 FILE CONTENT PATH / images SIZE SHA256 FILE SET / image TAG / sig SIGNATURE
# SHA256 is the archive's (checked before it is used); CONTENT, that of everything but its first
# entry (the volume's own folder, whose time a restore cannot set): an unchanged volume has the
# same CONTENT, and is not written again.
# An archive is written under a temporary name and renamed; the manifest last, by rename; only
# then are the archives it no longer names removed. An interrupted --cache-to leaves the old
# manifest and every archive it names; an archive whose content has not changed is not written.
# The signature is a SHA-256 keyed with the MOUNTed-RUN cache key (rc_cache_key): images are
# loaded only from a DIR signed with this key, and ROCKERC_CACHE_KEY, when set, is required for
# the volumes too.
# -----------------------------------------------------------------------------------------------

# rc_volume_name DEST: sets rc_vol, the volume `MOUNT DEST` uses under this build id.
rc_volume_name() {
  rc_id_hash_set
  rc_vol="rockerc_${rc_id_hash}_$(rc_hash "$1")"
}

# rc_cache_dir_arg OPTION VALUE: sets rc_dir_arg, VALUE as an absolute path.
rc_cache_dir_arg() {
  [ -n "$2" ] || rc_usage_error "$1 needs a directory"
  case $2 in
    /*) rc_dir_arg=$2 ;;
    *) rc_dir_arg="$PWD/$2" ;;
  esac
}

rc_cache_note() {
  printf 'rockerc: note: %s\n' "$*" >&2
}

# rc_sha256 FILE: prints the file's SHA-256.
rc_sha256() {
  rc_h=$(sha256sum < "$1") || return 1
  printf '%s\n' "${rc_h%% *}"
}

# rc_manifest_sig BODYFILE: the manifest's signature: the key and the body's hash, hashed (the
# body is hashed first, so nothing can be appended to a signed body).
rc_manifest_sig() {
  rc_body_hash=$(rc_sha256 "$1") || return 1
  printf '%s\n%s\n' "$rc_sign_key" "$rc_body_hash" | sha256sum | cut -c 1-64
}

# The empty image the cache containers are made of (the lock's).
rc_lock_image() {
  docker image inspect rockerc-lock:1 >/dev/null 2>&1 && return 0
  printf 'FROM scratch\nLABEL rockerc.lock-image=1\n' > "$rc_tmp/lock.Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q --tag rockerc-lock:1 --file "$rc_tmp/lock.Dockerfile" "$rc_tmp/empty" > "$rc_tmp/lock.err" 2>&1 ||
    { sed -n '1,5s/^/  /p' "$rc_tmp/lock.err" >&2; rc_die "cannot create the image rockerc-lock:1"; }
}

# rc_cache_container VOLUME...: creates a container (never started) with each VOLUME mounted at
# /v/1, /v/2, ...; sets rc_ctr.
rc_cache_container() {
  rc_k=0 rc_nv=$#
  while [ "$rc_k" -lt "$rc_nv" ]; do
    rc_k=$((rc_k + 1))
    # (podman's --mount has no volume-nocopy; the image is empty: there is nothing to copy.)
    if [ "$rc_podman" = 1 ]; then
      set -- "$@" --mount "type=volume,src=$1,dst=/v/$rc_k"
    else
      set -- "$@" --mount "type=volume,src=$1,dst=/v/$rc_k,volume-nocopy"
    fi
    shift
  done
  rc_new_container
  docker create --pull never --name "$rc_ctr" "$@" rockerc-lock:1 /rockerc-cache-never-runs > "$rc_tmp/cache.err" 2>&1
}

# The volumes of this build id that exist on the engine, one name a line, in $rc_tmp/volumes.
rc_existing_volumes() {
  rc_id_hash_set
  docker volume ls -q --filter "name=rockerc_${rc_id_hash}_" > "$rc_tmp/volumes.all" 2>/dev/null ||
    rc_die "cannot list the engine's volumes"
  grep "^rockerc_${rc_id_hash}_[0-9a-f]*\$" "$rc_tmp/volumes.all" > "$rc_tmp/volumes" || :
}

# rc_read_manifest DIR: checks DIR/manifest and sets rc_m_state: none (no DIR or no manifest),
# corrupt (rc_m_why says what is wrong), other (another build id: rc_m_id), or ok; rc_m_signed is
# 1 when the signature checks with this key. The body (without the signature) is left in
# $rc_tmp/manifest.body.
rc_read_manifest() {
  rc_m_state=none rc_m_why='' rc_m_id='' rc_m_signed=0
  rc_cache_key
  if [ ! -e "$1/manifest" ]; then
    if [ -d "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
      rc_m_state=corrupt rc_m_why="it has files but no manifest"
    fi
    return 0
  fi
  rc_m_state=corrupt
  if ! sed '$d' "$1/manifest" > "$rc_tmp/manifest.body" 2>/dev/null || ! rc_m_sig=$(sed -n '$p' "$1/manifest"); then
    rc_m_why="its manifest cannot be read"
    return 0
  fi
  rc_tab=$(printf '\t')
  case $rc_m_sig in
    "sig$rc_tab"*) rc_m_sig=${rc_m_sig#sig"$rc_tab"} ;;
    *) rc_m_why="its manifest is cut short (no signature line)"; return 0 ;;
  esac
  # Every line of a known kind with the right number of fields, the header first.
  rc_bad=$(awk -F '\t' '
    NR == 1 { if ($0 != "rockerc-cache\t1") { print "it is not a rockerc cache manifest of format 1"; exit } next }
    $1 == "rockerc" && NF == 2 { next }
    $1 == "id" && NF == 2 { next }
    $1 == "volume" && NF == 6 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9a-f]+$/ && length($3) == 64 && $4 == $3 ".tar" && length($5) == 64 { next }
    $1 == "images" && NF == 5 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9a-f]+$/ && length($3) == 64 && $4 == $3 ".tar" { next }
    $1 == "image" && NF == 2 && $2 ~ /^rockerc-cache:[A-Za-z0-9_.-]+$/ { next }
    { print "its manifest has a line rockerc does not know (line " NR ")"; exit }
    END { if (NR == 0) print "its manifest is empty" }' "$rc_tmp/manifest.body")
  if [ -n "$rc_bad" ]; then
    rc_m_why=$rc_bad
    return 0
  fi
  rc_m_id=$(sed -n "s/^id$rc_tab//p" "$rc_tmp/manifest.body" | head -n 1)
  if [ -n "$rc_sign_key" ] && [ "$(rc_manifest_sig "$rc_tmp/manifest.body")" = "$rc_m_sig" ]; then rc_m_signed=1; fi
  if [ "$rc_m_id" != "$rc_build_id" ]; then
    rc_m_state=other
    return 0
  fi
  rc_m_state=ok
}

# --cache-from DIR: before the first step, each MOUNT volume that does not exist on the engine is
# made from DIR's archive of it; one that exists is left as it is. A missing DIR is a note;
# a corrupt one, or one of another build id, a warning that names what was skipped.
rc_cache_restore() {
  rc_from=$1
  rc_read_manifest "$rc_from"
  case $rc_m_state in
    none) rc_cache_note "--cache-from $rc_from: no cache there yet (the first build fills it with --cache-to); building without it"; return 0 ;;
    corrupt) rc_warn "--cache-from $rc_from: not restored, $rc_m_why; building without it"; return 0 ;;
    other)
      # Printed, so only its printable characters: DIR is anyone's who can write the CI cache.
      rc_m_id=$(printf '%s' "$rc_m_id" | tr -cd '[:print:]' | cut -c 1-200)
      rc_warn "--cache-from $rc_from: not restored, it holds the cache of build id '$rc_m_id', not of '$rc_build_id' (--id names the build id); building without it"
      return 0
      ;;
  esac
  if [ "$rc_m_signed" = 0 ] && [ -n "${ROCKERC_CACHE_KEY:-}" ]; then
    rc_warn "--cache-from $rc_from: not restored, it is not signed with ROCKERC_CACHE_KEY; building without it"
    return 0
  fi
  rc_existing_volumes
  : > "$rc_tmp/restore"
  rc_tab=$(printf '\t')
  while IFS="$rc_tab" read -r rc_kind rc_size rc_sum rc_file rc_content rc_path; do
    [ "$rc_kind" = volume ] || continue
    case "
$rc_volumes" in *"
$rc_path
"*) ;; *) continue ;; esac
    rc_volume_name "$rc_path"
    if grep -qxF -e "$rc_vol" "$rc_tmp/volumes"; then
      rc_say "cache: kept MOUNT $rc_path as it is on the engine (not rolled back to $rc_from)"
      continue
    fi
    if [ ! -f "$rc_from/$rc_file" ] || [ "$(rc_sha256 "$rc_from/$rc_file" 2>/dev/null)" != "$rc_sum" ]; then
      rc_warn "--cache-from $rc_from: MOUNT $rc_path not restored, its archive $rc_file is missing or does not match its hash"
      continue
    fi
    printf '%s\t%s\t%s\n' "$rc_vol" "$rc_file" "$rc_path" >> "$rc_tmp/restore"
  done < "$rc_tmp/manifest.body"
  if [ -s "$rc_tmp/restore" ]; then
    rc_lock_image
    # Volumes made here and not filled yet are removed by the cleanup (or by the next build, if
    # this one is killed: rc_reap), so a half-restored volume is never taken for a cache.
    cut -f 1 "$rc_tmp/restore" > "$rc_tmp/restoring"
    # shellcheck disable=SC2046 # volume names: one word each
    rc_cache_container $(cat "$rc_tmp/restoring") || { sed -n '1,3s/^/  /p' "$rc_tmp/cache.err" >&2; rc_die "cannot create a container to restore the cache"; }
    rc_n=0
    while IFS="$rc_tab" read -r rc_vol rc_file rc_path; do
      rc_n=$((rc_n + 1))
      docker cp -a - "$rc_ctr:/v/$rc_n" < "$rc_from/$rc_file" > "$rc_tmp/cache.err" 2>&1 ||
        { sed -n '1,3s/^/  /p' "$rc_tmp/cache.err" >&2; rc_die "cannot restore MOUNT $rc_path from $rc_from/$rc_file"; }
      rc_say "cache: restored MOUNT $rc_path from $rc_from ($(rc_human_size "$(wc -c < "$rc_from/$rc_file")"))"
    done < "$rc_tmp/restore"
    rc_rm_container
    rm -f "$rc_tmp/restoring"
  fi
  rc_cache_restore_images
}

# The MOUNTed-RUN cache images: only from a DIR signed with this key (an image is code the build
# runs on), and only when a tag is not on the engine yet (those that are keep their images).
# rc_run checks each entry's own signature against this key again before it uses it.
rc_cache_restore_images() {
  rc_tab=$(printf '\t')
  rc_line=$(grep "^images$rc_tab" "$rc_tmp/manifest.body" | head -n 1) || rc_line=
  [ -n "$rc_line" ] || return 0
  if [ "$rc_m_signed" = 0 ]; then
    rc_cache_note "--cache-from $rc_from: the MOUNTed RUNs' cached images are not loaded: the cache is not signed with this machine's key (set ROCKERC_CACHE_KEY to the same secret for --cache-to and --cache-from); its volumes are"
    return 0
  fi
  rc_file=$(printf '%s\n' "$rc_line" | cut -f 4)
  rc_sum=$(printf '%s\n' "$rc_line" | cut -f 3)
  : > "$rc_tmp/cache-load"
  sed -n "s/^image$rc_tab//p" "$rc_tmp/manifest.body" > "$rc_tmp/cache-images"
  while IFS= read -r rc_name; do
    docker image inspect --format '{{.Id}}' -- "$rc_name" > /dev/null 2>&1 || printf '%s\n' "$rc_name" >> "$rc_tmp/cache-load"
  done < "$rc_tmp/cache-images"
  [ -s "$rc_tmp/cache-load" ] || return 0
  if [ ! -f "$rc_from/$rc_file" ] || [ "$(rc_sha256 "$rc_from/$rc_file" 2>/dev/null)" != "$rc_sum" ]; then
    rc_warn "--cache-from $rc_from: the MOUNTed RUNs' cached images not loaded, their archive $rc_file is missing or does not match its hash"
    return 0
  fi
  # The archive leaves the FROM images' layers out: the engine must have them.
  for rc_b in $rc_externals; do rc_base "$rc_b" FROM; done
  # Those already on the engine keep their images: what each is now, put back after the load.
  : > "$rc_tmp/cache-had"
  while IFS= read -r rc_name; do
    if rc_id=$(docker image inspect --format '{{.Id}}' -- "$rc_name" 2>/dev/null); then printf '%s %s\n' "$rc_id" "$rc_name" >> "$rc_tmp/cache-had"; fi
  done < "$rc_tmp/cache-images"
  if ! docker load -q -i "$rc_from/$rc_file" > "$rc_tmp/cache.err" 2>&1; then
    sed -n '1,3s/^/  /p' "$rc_tmp/cache.err" >&2
    rc_warn "--cache-from $rc_from: the MOUNTed RUNs' cached images could not be loaded; building without them"
    return 0
  fi
  while read -r rc_id rc_name; do docker tag -- "$rc_id" "$rc_name" > /dev/null 2>&1 || :; done < "$rc_tmp/cache-had"
  rc_say "cache: loaded $(wc -l < "$rc_tmp/cache-load" | tr -d ' ') MOUNTed-RUN cache image(s) from $rc_from"
}

rc_human_size() {
  awk -v n="$1" 'BEGIN { split("B kB MB GB TB", u, " "); i = 1; while (n >= 1000 && i < 5) { n /= 1000; i++ }
    printf(i == 1 ? "%d %s" : "%.1f %s", n, u[i]) }'
}

# --cache-to DIR, after a successful build: every MOUNT volume of this build id that exists, and
# (with ROCKERC_CACHE_KEY, the only key another machine can check) the MOUNTed-RUN cache images.
rc_cache_save() {
  rc_to=$1
  case $rc_build_id in *"$(printf '\t')"*|*'
'*) rc_warn "--cache-to $rc_to: not written, the build id has a tab or a line break"; return 0 ;; esac
  if ! mkdir -p "$rc_to" 2>/dev/null || [ ! -w "$rc_to" ]; then
    rc_warn "--cache-to $rc_to: cannot write there; the cache was not saved"
    return 0
  fi
  rc_t_save=$(rc_now)
  rc_read_manifest "$rc_to"
  [ "$rc_m_state" = ok ] || : > "$rc_tmp/manifest.body"
  rc_stage_dir="$rc_to/.rockerc-tmp.$rc_run_id"
  mkdir "$rc_stage_dir" || { rc_warn "--cache-to $rc_to: cannot write there; the cache was not saved"; return 0; }
  rc_existing_volumes
  rc_tab=$(printf '\t')
  {
    printf 'rockerc-cache\t1\n'
    printf 'rockerc\t%s\n' "$rc_runtime"
    printf 'id\t%s\n' "$rc_build_id"
  } > "$rc_stage_dir/manifest"
  : > "$rc_tmp/save"
  printf '%s' "$rc_volumes" | while IFS= read -r rc_path; do
    rc_volume_name "$rc_path"
    grep -qxF -e "$rc_vol" "$rc_tmp/volumes" || continue
    case $rc_path in *"$rc_tab"*) rc_warn "--cache-to: MOUNT $rc_path not saved (a tab in its path)"; continue ;; esac
    printf '%s\t%s\n' "$rc_vol" "$rc_path" >> "$rc_tmp/save"
  done
  rc_written=0 rc_kept=0
  if [ -s "$rc_tmp/save" ]; then
    rc_lock_image
    # shellcheck disable=SC2046 # volume names: one word each
    rc_cache_container $(cut -f 1 "$rc_tmp/save") || { sed -n '1,3s/^/  /p' "$rc_tmp/cache.err" >&2; rc_warn "--cache-to $rc_to: cannot create a container to read the volumes; the cache was not saved"; return 0; }
    rc_n=0
    while IFS="$rc_tab" read -r rc_vol rc_path; do
      rc_n=$((rc_n + 1))
      docker cp "$rc_ctr:/v/$rc_n/." - > "$rc_stage_dir/volume.tar" 2> "$rc_tmp/cache.err" ||
        { sed -n '1,3s/^/  /p' "$rc_tmp/cache.err" >&2; rc_warn "--cache-to $rc_to: cannot read MOUNT $rc_path; the cache was not saved"; return 0; }
      # Docker's archive starts with the volume's own `./`, whose header holds its time (which
      # every write in it changes): the content is what follows. podman's starts with the first
      # file, whose header (name, mode, time) is content too.
      rc_skip=1
      if [ "$(head -c 100 "$rc_stage_dir/volume.tar" | tr -d '\000')" = ./ ]; then rc_skip=513; fi
      rc_content=$(tail -c "+$rc_skip" "$rc_stage_dir/volume.tar" | sha256sum | cut -c 1-64)
      # The same content as DIR has: DIR's entry stays, its archive untouched.
      rc_old=$(awk -F '\t' -v c="$rc_content" -v p="$rc_path" '$1 == "volume" && $5 == c && $6 == p { print; exit }' "$rc_tmp/manifest.body")
      if [ -n "$rc_old" ] && [ -f "$rc_to/$(printf '%s\n' "$rc_old" | cut -f 4)" ]; then
        printf '%s\n' "$rc_old" >> "$rc_stage_dir/manifest"
        rm -f "$rc_stage_dir/volume.tar"
        rc_kept=$((rc_kept + 1))
        continue
      fi
      rc_sum=$(rc_sha256 "$rc_stage_dir/volume.tar")
      rc_size=$(wc -c < "$rc_stage_dir/volume.tar" | tr -d ' ')
      rc_place_archive "$rc_stage_dir/volume.tar" "$rc_sum" "$rc_size"
      printf 'volume\t%s\t%s\t%s.tar\t%s\t%s\n' "$rc_size" "$rc_sum" "$rc_sum" "$rc_content" "$rc_path" >> "$rc_stage_dir/manifest"
    done < "$rc_tmp/save"
    rc_rm_container
  fi
  rc_cache_save_images
  printf 'sig\t%s\n' "$(rc_manifest_sig "$rc_stage_dir/manifest")" >> "$rc_stage_dir/manifest"
  # The same manifest (nothing changed): the old file stays, so DIR is exactly as it was.
  if [ -f "$rc_to/manifest" ] && [ "$(rc_sha256 "$rc_to/manifest")" = "$(rc_sha256 "$rc_stage_dir/manifest")" ]; then
    rm -f "$rc_stage_dir/manifest"
  else
    mv -f "$rc_stage_dir/manifest" "$rc_to/manifest"
  fi
  # What the new manifest does not name: the archives it replaced, and what an interrupted
  # --cache-to left.
  for rc_f in "$rc_to"/*.tar "$rc_to"/.rockerc-tmp.*; do
    [ -e "$rc_f" ] || continue
    case $rc_f in "$rc_stage_dir") continue ;; esac
    rc_base_name=${rc_f##*/}
    grep -q "$rc_tab$rc_base_name$rc_tab" "$rc_to/manifest" || rm -rf "$rc_f"
  done
  rm -rf "$rc_stage_dir"
  rc_stage_dir=
  rc_say "cache: saved to $rc_to ($rc_written archive(s) written, $rc_kept unchanged, $(rc_elapsed "$rc_t_save"))"
}

# rc_place_archive FILE SHA256 SIZE: moves FILE into DIR as SHA256.tar, unless DIR has it already
# (its name is its content's hash: the same bytes).
rc_place_archive() {
  if [ -f "$rc_to/$2.tar" ] && [ "$(wc -c < "$rc_to/$2.tar" | tr -d ' ')" = "$3" ]; then
    rm -f "$1"
    rc_kept=$((rc_kept + 1))
  else
    mv -f "$1" "$rc_to/$2.tar"
    rc_written=$((rc_written + 1))
  fi
}

# The MOUNTed-RUN cache images this build used or made, with the images between them and the
# FROM images, and the FROM images themselves (not their ancestors), in one archive: `docker save`
# of them all shares their layers, and records each image's parent, so that `docker load` links
# the chain to the FROM image again and the legacy builder's cache finds the steps before each
# MOUNTed RUN as the very images they were (and so the RUN's cache entry). Its set of image ids
# names it in the manifest: the same set is not saved again.
rc_cache_save_images() {
  [ -s "$rc_tmp/cache-tags" ] || return 0
  if [ -z "${ROCKERC_CACHE_KEY:-}" ]; then
    rc_cache_note "--cache-to: the MOUNTed RUNs' cached images are not saved: another machine can trust them only with a key it shares (set ROCKERC_CACHE_KEY, a CI secret, for both --cache-to and --cache-from)"
    return 0
  fi
  sort -u "$rc_tmp/cache-tags" > "$rc_tmp/cache-tags.sorted"
  : > "$rc_tmp/cache-bases"
  # (podman's history shows ids without `sha256:`: given it, so that both read alike.)
  for rc_b in $rc_externals; do
    docker history -q --no-trunc -- "$rc_b" 2>/dev/null | sed -e 1d -e 's/^[0-9a-f]\{64\}$/sha256:&/' >> "$rc_tmp/cache-bases" || :
  done
  : > "$rc_tmp/cache-chain"
  while IFS= read -r rc_name; do
    docker history -q --no-trunc -- "$rc_name" > "$rc_tmp/cache-chain.one" 2>/dev/null || return 0
    sed 's/^[0-9a-f]\{64\}$/sha256:&/' "$rc_tmp/cache-chain.one" >> "$rc_tmp/cache-chain"
    if [ "$rc_podman" = 1 ]; then
      # podman's history names no image below the top, and its load keeps no parent: an
      # entry's parent (the image its signature names) is found again where the archive holds
      # it (podman finds an image's parent from the layers and history of those it has).
      docker image inspect --format '{{.Parent}}' -- "$rc_name" 2>/dev/null | sed -n 's/^[0-9a-f]\{64\}$/sha256:&/p' >> "$rc_tmp/cache-chain" || :
    fi
  done < "$rc_tmp/cache-tags.sorted"
  grep '^sha256:' "$rc_tmp/cache-chain" | sort -u > "$rc_tmp/cache-ids.all"
  if [ -s "$rc_tmp/cache-bases" ]; then
    grep -vxF -f "$rc_tmp/cache-bases" "$rc_tmp/cache-ids.all" > "$rc_tmp/cache-ids" || :
  else
    cp "$rc_tmp/cache-ids.all" "$rc_tmp/cache-ids"
  fi
  rc_set=$(cat "$rc_tmp/cache-ids" "$rc_tmp/cache-tags.sorted" | sha256sum | cut -c 1-64)
  rc_tab=$(printf '\t')
  rc_old=$(grep "^images$rc_tab" "$rc_tmp/manifest.body" | head -n 1) || rc_old=
  if [ -n "$rc_old" ] && [ "$(printf '%s\n' "$rc_old" | cut -f 5)" = "$rc_set" ] && [ -f "$rc_to/$(printf '%s\n' "$rc_old" | cut -f 4)" ]; then
    printf '%s\n' "$rc_old" >> "$rc_stage_dir/manifest"
    rc_kept=$((rc_kept + 1))
  else
    # (podman's save takes names after the first as more tags of it, unless told -m.)
    rc_multi=
    if [ "$rc_podman" = 1 ]; then rc_multi=-m; fi
    # shellcheck disable=SC2046,SC2086 # image ids and names: one word each; rc_multi: none or one
    docker save $rc_multi -o "$rc_stage_dir/images.tar" $(cat "$rc_tmp/cache-ids" "$rc_tmp/cache-tags.sorted") 2> "$rc_tmp/cache.err" ||
      { sed -n '1,3s/^/  /p' "$rc_tmp/cache.err" >&2; rc_warn "--cache-to: the MOUNTed RUNs' cached images could not be saved"; return 0; }
    rc_strip_base_layers "$rc_stage_dir/images.tar" ||
      { rc_warn "--cache-to: the MOUNTed RUNs' cached images could not be saved (cannot repack $rc_stage_dir/images.tar)"; return 0; }
    rc_sum=$(rc_sha256 "$rc_stage_dir/images.tar")
    rc_size=$(wc -c < "$rc_stage_dir/images.tar" | tr -d ' ')
    rc_place_archive "$rc_stage_dir/images.tar" "$rc_sum" "$rc_size"
    printf 'images\t%s\t%s\t%s.tar\t%s\n' "$rc_size" "$rc_sum" "$rc_sum" "$rc_set" >> "$rc_stage_dir/manifest"
  fi
  sed "s/^/image$rc_tab/" "$rc_tmp/cache-tags.sorted" >> "$rc_stage_dir/manifest"
}

# rc_strip_base_layers TAR: takes the FROM images' layers out of a `docker save` archive (a layer
# file's SHA-256 is its diff id): `docker load` reads a layer's file only when the engine does not
# have the layer, and the engine that loads it has the FROM images (rc_cache_restore_images pulls
# them first). Without them the archive is as large as the builder image.
rc_strip_base_layers() {
  # podman's load reads every layer the archive names, even one it has (it cannot load the
  # archive without them): its archives keep the FROM images' layers.
  [ "$rc_podman" = 0 ] || return 0
  # shellcheck disable=SC2086 # image names: one word each
  docker image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' -- $rc_externals 2>/dev/null |
    sed -n 's/^sha256://p' | sort -u > "$rc_tmp/base-layers" || :
  [ -s "$rc_tmp/base-layers" ] || return 0
  rc_unpacked="$rc_stage_dir/images.d"
  if ! mkdir "$rc_unpacked" || ! tar -xf "$1" -C "$rc_unpacked"; then return 1; fi
  rm -f "$1"
  find "$rc_unpacked" -type f \( -name layer.tar -o -path '*/blobs/sha256/*' \) > "$rc_tmp/layer-files"
  while IFS= read -r rc_f; do
    rc_h=$(rc_sha256 "$rc_f") || return 1
    if grep -qxF -e "$rc_h" "$rc_tmp/base-layers"; then rm -f "$rc_f"; fi
  done < "$rc_tmp/layer-files"
  # shellcheck disable=SC2046 # the archive's top-level names: hex ids and docker's own files
  (cd "$rc_unpacked" && tar -cf "$1" $(ls -A)) || return 1
  rm -rf "$rc_unpacked"
}

# Records when this build used its volumes, for --cache-ls and --cache-prune: a file per volume
# (time, MOUNT path, build id) in the volume rockerc-cache-uses, which the lock container mounts.
rc_cache_record_use() {
  [ -n "$rc_volumes" ] || return 0
  mkdir "$rc_tmp/uses"
  rc_when=$(date +%s)
  printf '%s' "$rc_volumes" | while IFS= read -r rc_path; do
    rc_volume_name "$rc_path"
    printf '%s\n%s\n%s\n' "$rc_when" "$rc_path" "$rc_build_id" > "$rc_tmp/uses/$rc_vol"
  done
  (cd "$rc_tmp/uses" && tar -cf - rockerc_*) | docker cp - "$rc_lock_name:/uses" > /dev/null 2>&1 || :
}

# Every volume's name and size, a line each. podman's `system df -v` takes no --format: its
# table's volume section, whose last column is the size.
rc_volume_sizes() {
  if [ "$rc_podman" = 0 ]; then
    docker system df -v --format '{{range .Volumes}}{{.Name}} {{.Size}}{{println}}{{end}}'
    return
  fi
  docker system df -v > "$rc_tmp/df" || return 1
  awk '/^Local Volumes space usage:/ { v = 1; next }
    v && /^VOLUME NAME/ { next }
    v && NF == 0 { if (seen) v = 0; next }
    v { print $1, $NF; seen = 1 }' "$rc_tmp/df"
}

# rc_cache_alone ID ALL ls|prune DAYS: `rockerc cache ls|prune`, which runs the runtime without a
# plan: the settings a plan and its arguments would give, then rc_cache_command for the build id
# ID (with ALL=1, every build id's volumes) and --older-than DAYS ('' for none).
rc_cache_alone() {
  rc_volumes='' rc_externals='' rc_pull=0 rc_quiet=0 rc_verbose=0 rc_jobs_max=1 rc_secrets='' rc_rockerfile='' rc_reads_context=0
  rc_urls='' rc_mode=plain rc_progress=plain rc_json=0 rc_attach=0 rc_clr='' rc_clr_err='' rc_monitor_pid='' rc_podman=0
  rc_build_id=$1 rc_cache_all=$2 rc_cache_cmd=$3 rc_older_than=$4
  rc_cache_command
}

# --cache-ls and --cache-prune [--older-than DAYS]: this build id's volumes (rockerc cache, with
# no --id: every rockerc volume on the engine), their MOUNT paths, sizes and last use.
rc_cache_command() {
  rc_setup
  rc_id_hash_set
  rc_check_docker
  rc_lock_image
  if [ "${rc_cache_all:-0}" = 1 ]; then rc_prefix=rockerc_; else rc_prefix="rockerc_${rc_id_hash}_"; fi
  docker volume ls -q --filter "name=$rc_prefix" 2>/dev/null | grep "^$rc_prefix" | grep '^rockerc_[0-9a-f]*_[0-9a-f]*$' > "$rc_tmp/volumes" || :
  mkdir "$rc_tmp/uses"
  rc_new_container
  if docker create --pull never --name "$rc_ctr" --mount type=volume,src=rockerc-cache-uses,dst=/uses rockerc-lock:1 /rockerc-cache-never-runs > /dev/null 2>&1; then
    docker cp "$rc_ctr:/uses/." - 2>/dev/null | tar -xf - -C "$rc_tmp/uses" 2>/dev/null || :
    rc_rm_container
  fi
  # The engine runs one disk-usage query at a time and refuses a second ("a disk usage operation
  # is already running"): another build's size report or `cache ls` may hold it, so ask again.
  rc_try=0
  until rc_volume_sizes > "$rc_tmp/sizes" 2>/dev/null; do
    rc_try=$((rc_try + 1))
    if [ "$rc_try" -ge 10 ]; then : > "$rc_tmp/sizes"; break; fi
    sleep 1
  done
  : > "$rc_tmp/table"
  rc_now_s=$(date +%s)
  while IFS= read -r rc_vol; do
    rc_when='' rc_path='?' rc_id='?'
    if [ -f "$rc_tmp/uses/$rc_vol" ]; then
      { IFS= read -r rc_when; IFS= read -r rc_path; IFS= read -r rc_id; } < "$rc_tmp/uses/$rc_vol" || :
    fi
    case $rc_when in ''|*[!0-9]*)
      # Never recorded (made by an older rockerc): its creation time.
      rc_when=$(docker volume inspect --format '{{.CreatedAt}}' -- "$rc_vol" 2>/dev/null | awk '
        { split(substr($0, 1, 10), d, "-"); split(substr($0, 12, 8), t, ":")
          y = d[1] + 0; m = d[2] + 0; dd = d[3] + 0; if (m <= 2) { y--; m += 12 }
          days = 365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + dd - 719469
          print days * 86400 + t[1] * 3600 + t[2] * 60 + t[3] }') || rc_when=0 ;;
    esac
    rc_size=$(awk -v v="$rc_vol" '$1 == v { print $2 }' "$rc_tmp/sizes")
    printf '%s\t%s\t%s\t%s\t%s\n' "$rc_vol" "${rc_when:-0}" "${rc_size:-?}" "$rc_path" "$rc_id" >> "$rc_tmp/table"
  done < "$rc_tmp/volumes"
  case $rc_cache_cmd in
    ls)
      if [ ! -s "$rc_tmp/table" ]; then
        if [ "${rc_cache_all:-0}" = 1 ]; then rc_say "no rockerc MOUNT volumes on this engine"; else rc_say "no MOUNT volumes of build id $rc_build_id on this engine"; fi
        exit 0
      fi
      awk -F '\t' -v now="$rc_now_s" -v all="${rc_cache_all:-0}" '
        BEGIN { printf "%-73s %10s  %-10s  %s\n", "VOLUME", "SIZE", "LAST USE", all == 1 ? "MOUNT PATH (BUILD ID)" : "MOUNT PATH" }
        { age = int((now - $2) / 86400); when = age == 0 ? "today" : age " days ago"
          printf "%-73s %10s  %-10s  %s%s\n", $1, $3, when, $4, all == 1 ? " (" $5 ")" : "" }' "$rc_tmp/table"
      ;;
    prune)
      rc_removed=0 rc_failed=0
      while IFS="$(printf '\t')" read -r rc_vol rc_when rc_size rc_path rc_id; do
        if [ -n "$rc_older_than" ] && [ $((rc_now_s - rc_when)) -lt $((rc_older_than * 86400)) ]; then continue; fi
        if docker volume rm -- "$rc_vol" > "$rc_tmp/cache.err" 2>&1; then
          rc_say "removed $rc_vol ($rc_size, MOUNT $rc_path)"
          rc_removed=$((rc_removed + 1))
        else
          rc_warn "$rc_vol (MOUNT $rc_path) not removed: $(sed -n 1p "$rc_tmp/cache.err")"
          rc_failed=1
        fi
      done < "$rc_tmp/table"
      rc_say "removed $rc_removed volume(s)"
      exit "$rc_failed"
      ;;
  esac
  exit 0
}
