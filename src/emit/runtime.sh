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
  --builder auto|buildkit|legacy
                  which of Docker's builders builds the steps (default: auto, BuildKit where
                  the docker client and engine have it; DOCKER_BUILDKIT=1 or 0 picks too)
  --no-fuse       under BuildKit, build step by step even where the whole Rockerfile can be
                  one multi-stage build (the images are the same either way)
  --context DIR   the build context (default: the one recorded at compile time)
  --id ID         the build id that names MOUNT volumes (default: context path + Rockerfile)
  --allow-mount PATH
                  let a MOUNT bind PATH (or anything under it) outside the build context
                  (repeatable; also ROCKERC_ALLOW_MOUNT=PATH:PATH...)
  -j, --jobs N    build at most N independent stages at a time (default: the number of CPUs)
  --cache-from DIR
                  before the build, make each MOUNT volume that is not on the engine from DIR
                  (one that is stays as it is)
  --cache-to DIR  after a successful build, save the MOUNT volumes (and, with ROCKERC_CACHE_KEY,
                  the MOUNTed RUNs' cached images) to DIR, for a CI cache to keep
  --cache-ls      list this build id's MOUNT volumes: size, last use, MOUNT path
  --cache-prune [--older-than DAYS]
                  remove this build id's MOUNT volumes (those not used for DAYS days)
  --progress MODE auto (the default: tty on a terminal, plain otherwise), tty (a live line per
                  running step), plain (a line when a step starts and ends, and a heartbeat every
                  30 s, ROCKERC_HEARTBEAT, while one runs), quiet (as -q)
  --json          JSON lines on stdout, one object per event (see the README), nothing else
  -q, --quiet     print errors only, and the final image id
  -v, --verbose   stream Docker's own output (and plain progress)
  -h, --help      print this help
ROCKERC_USAGE
}

# A write to a reader that has gone (`| head -1`) ends the script through its cleanup (SIGPIPE,
# or errexit where SIGPIPE is ignored); the shell's own complaint about it is not worth showing.
# With --json, stdout has JSON lines only: the text goes to stderr. On a terminal with live
# lines, rc_clr first clears them (the cursor waits at their top; see rc_monitor).
rc_say() {
  case $rc_mode in
    quiet) ;;
    json) printf '%s\n' "$*" 2>/dev/null >&2 ;;
    *) printf '%s%s\n' "$rc_clr" "$*" 2>/dev/null ;;
  esac
}

# rc_json KEY VALUE...: prints one JSON object. A KEY ending in `#` takes its VALUE as it is (a
# number, true or false; '' is null); every other VALUE is a string. awk takes the words from
# ARGV, which nothing unescapes.
rc_json() {
  awk 'function q(s,   o, i, c) {
      o = ""
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") o = o "\\\\"
        else if (c == "\"") o = o "\\\""
        else if (c in ctl) o = o ctl[c]
        else o = o c
      }
      return "\"" o "\""
    }
    BEGIN {
      for (i = 1; i < 32; i++) ctl[sprintf("%c", i)] = sprintf("\\u%04x", i)
      ctl["\n"] = "\\n"; ctl["\t"] = "\\t"; ctl["\r"] = "\\r"; ctl[sprintf("%c", 127)] = "\\u007f"
      o = "{"
      for (i = 1; i + 1 < ARGC; i += 2) {
        k = ARGV[i]; v = ARGV[i + 1]
        if (k ~ /#$/) { k = substr(k, 1, length(k) - 1); if (v == "") v = "null" } else v = q(v)
        o = o (i > 1 ? "," : "") q(k) ":" v
      }
      print o "}"
    }' "$@" 2>/dev/null
}

rc_parse_args() {
  rc_push=0 rc_attach=0 rc_no_cache=0 rc_pull=0 rc_quiet=0 rc_verbose=0 rc_build_id=$rc_default_id
  rc_progress=auto rc_json=0 rc_clr='' rc_clr_err='' rc_monitor_pid='' rc_podman=0
  rc_jobs_max=
  rc_builder_arg='' rc_fuse=1
  rc_allow_given=''
  rc_cache_to='' rc_cache_from='' rc_cache_cmd='' rc_older_than=''
  rc_context_recorded=$rc_context rc_context_given=0
  while [ $# -gt 0 ]; do
    case $1 in
      --push) rc_push=1 ;;
      --attach) rc_attach=1 ;;
      --no-cache) rc_no_cache=1 ;;
      --pull) rc_pull=1 ;;
      --builder) [ $# -ge 2 ] || rc_usage_error "--builder needs auto, buildkit or legacy"; rc_builder_arg=$2; shift ;;
      --builder=*) rc_builder_arg=${1#--builder=} ;;
      --no-fuse) rc_fuse=0 ;;
      --context) [ $# -ge 2 ] || rc_usage_error "--context needs a directory"; rc_context=$2 rc_context_given=1; shift ;;
      --context=*) rc_context=${1#--context=} rc_context_given=1 ;;
      --id) [ $# -ge 2 ] || rc_usage_error "--id needs a value"; rc_build_id=$2; shift ;;
      --id=*) rc_build_id=${1#--id=} ;;
      --allow-mount) [ $# -ge 2 ] || rc_usage_error "--allow-mount needs a path"; rc_allow_given="$rc_allow_given$2
"; shift ;;
      --allow-mount=*) rc_allow_given="$rc_allow_given${1#--allow-mount=}
" ;;
      -j|--jobs) [ $# -ge 2 ] || rc_usage_error "--jobs needs a number"; rc_jobs_max=$2; shift ;;
      -j*) rc_jobs_max=${1#-j} ;;
      --jobs=*) rc_jobs_max=${1#--jobs=} ;;
      --cache-to) [ $# -ge 2 ] || rc_usage_error "--cache-to needs a directory"; rc_cache_dir_arg --cache-to "$2"; rc_cache_to=$rc_dir_arg; shift ;;
      --cache-to=*) rc_cache_dir_arg --cache-to "${1#--cache-to=}"; rc_cache_to=$rc_dir_arg ;;
      --cache-from) [ $# -ge 2 ] || rc_usage_error "--cache-from needs a directory"; rc_cache_dir_arg --cache-from "$2"; rc_cache_from=$rc_dir_arg; shift ;;
      --cache-from=*) rc_cache_dir_arg --cache-from "${1#--cache-from=}"; rc_cache_from=$rc_dir_arg ;;
      --cache-ls) rc_cache_cmd='ls' ;;
      --cache-prune) rc_cache_cmd=prune ;;
      --older-than) [ $# -ge 2 ] || rc_usage_error "--older-than needs a number of days"; rc_older_than=$2; shift ;;
      --older-than=*) rc_older_than=${1#--older-than=} ;;
      -q|--quiet) rc_quiet=1 ;;
      -v|--verbose) rc_verbose=1 ;;
      --progress) [ $# -ge 2 ] || rc_usage_error "--progress needs auto, tty, plain or quiet"; rc_progress=$2; shift ;;
      --progress=*) rc_progress=${1#--progress=} ;;
      --json) rc_json=1 ;;
      -h|--help) rc_help; rc_usage; exit 0 ;;
      *) rc_usage_error "unknown option: $1" ;;
    esac
    shift
  done
  case $rc_builder_arg in
    ''|auto|buildkit|legacy) ;;
    *) rc_usage_error "--builder needs auto, buildkit or legacy, not $rc_builder_arg" ;;
  esac
  case $rc_jobs_max in
    '') ;;
    *[!0-9]*|0) rc_usage_error "--jobs needs a positive number" ;;
  esac
  case $rc_older_than in
    '') ;;
    *[!0-9]*) rc_usage_error "--older-than needs a whole number of days" ;;
    *) [ "$rc_cache_cmd" = prune ] || rc_usage_error "--older-than goes with --cache-prune" ;;
  esac
  case $rc_progress in
    auto|tty|plain) ;;
    quiet) rc_quiet=1 ;;
    *) rc_usage_error "--progress needs auto, tty, plain or quiet, not $rc_progress" ;;
  esac
  # What the no-op path says goes by this; rc_setup decides on live lines only when it builds.
  rc_mode=plain
  if [ "$rc_quiet" = 1 ]; then rc_mode=quiet; fi
  if [ "$rc_json" = 1 ]; then rc_mode=json; fi
}

rc_help() {
  printf 'Builds the images of %s (a script generated by rockerc %s).\n\nUsage: sh build.sh [options]\n' "$rc_rockerfile" "$rc_runtime"
}

# ---- What every build does around its stages: rc_main is `rc_start "$@"`, (with `-o DIR`)
# rc_copy_plan, `rc_connect`, the stages, `rc_finish`. ----

# rc_start ARG...: reads the arguments and finds the context; --cache-ls and --cache-prune end
# here, and so does a run with nothing to build (the no-op path, which needs no temporary
# directory, no lock and no engine but for the images' ids); otherwise the sources are checked
# and the build's temporary directory made.
rc_start() {
  rc_parse_args "$@"
  rc_resolve_context
  if [ -n "$rc_cache_cmd" ]; then rc_cache_command; fi
  if [ "$rc_sources_seen" = 0 ]; then rc_check_sources; fi
  if rc_up_to_date; then
    rc_noop "up to date: nothing $rc_rockerfile reads has changed since the last build (--no-cache rebuilds)"
  fi
  rc_check_sources
  rc_setup
}

# rc_connect: the engine and the builder; under BuildKit, a plan's fused build (rc_fused, when
# the plan has one: rc_fused_ok=1 when it built everything); otherwise the build lock, the MOUNT
# volumes from --cache-from. With --pull the FROM images, once (a stage's rc_base then takes the
# id it found).
rc_connect() {
  rc_check_docker pick
  rc_pick_builder
  rc_fused_ok=0
  if [ "$rc_fusable" = 1 ] && rc_fuse_ok; then
    # A fused plan has no MOUNT: no volume or host directory for the lock to guard.
    rc_pull_bases
    rc_fused
    [ "$rc_fused_ok" = 0 ] || return 0
  fi
  rc_id_hash_set
  rc_lock
  rc_cache_record_use
  if [ -n "$rc_cache_from" ]; then rc_cache_restore "$rc_cache_from"; fi
  rc_pull_bases
}

rc_pull_bases() {
  if [ "$rc_pull" = 1 ] && [ -n "$rc_externals" ]; then
    # shellcheck disable=SC2086 # image names: one word each
    for rc_b in $rc_externals; do rc_base "$rc_b" FROM; done
    rc_pull=0
  fi
}

# rc_finish: the tags (all or nothing) and pushes, the no-op stamp, --cache-to, the report.
rc_finish() {
  rc_apply_tags
  rc_write_stamp
  if [ -n "$rc_cache_to" ]; then rc_cache_save "$rc_cache_to"; fi
  rc_report
}

# rc_step N 'Rockerfile:4-6' 'RUN make': starts a step; its docker output goes to its own log.
rc_step() {
  rc_step=$1 rc_step_where=$2 rc_step_what=$3
  rc_parent=$rc_img
  rc_step_t0=$(rc_now)
  rc_cached=''
  rc_log="$rc_tmp/log.$rc_step"
  : > "$rc_log"
  case $rc_mode in
    plain|tty)
      # What the monitor shows while the step runs (emptied when it ends).
      printf '%s\t%s\t%s\t%s\n' "$rc_step_t0" "[$rc_step/$rc_steps] $rc_step_where" "$rc_step_what" "$rc_log" > "$rc_tmp/live/$rc_step"
      if [ "$rc_mode" = plain ]; then rc_say "[$rc_step/$rc_steps] $rc_step_where $rc_step_what ..."; fi
      ;;
    json) rc_json event start step# "$rc_step" steps# "$rc_steps" file "${rc_step_where%:*}" lines "${rc_step_where##*:}" instruction "$rc_step_what" ;;
  esac
}

rc_done() {
  if [ "$rc_img" != "$rc_parent" ]; then
    printf '%s\t%s\t%s\t%s %s\n' "$rc_step" "$rc_parent" "$rc_img" "$rc_step_where" "$rc_step_what" >> "$rc_tmp/steps"
  fi
  case $rc_mode in
    plain|tty) : > "$rc_tmp/live/$rc_step" ;;
    json) rc_json_step; return 0 ;;
  esac
  rc_say "[$rc_step/$rc_steps] $rc_step_where $rc_step_what ($rc_cached$(rc_elapsed "$rc_step_t0"))"
}

# The JSON line of a finished step: whether it came from the cache (a MOUNTed RUN's cache, or a
# build whose every instruction Docker took from its cache), its time, its image and parent,
# and their sizes.
rc_json_step() {
  rc_jc=false
  if [ -n "$rc_cached" ]; then
    rc_jc=true
  elif [ "$rc_verbose" = 1 ] && [ ! -s "$rc_log" ]; then
    rc_jc=
  elif grep -q -e '^ ---> Using cache' "$rc_log" && ! grep -q -e '^ ---> Running in ' "$rc_log"; then
    rc_jc=true
  elif [ "$rc_podman" = 1 ] && grep -q -e '^--> Using cache ' "$rc_log" &&
    [ "$(grep -c -e '^--> Using cache ' "$rc_log")" -ge "$(grep -c -e '^STEP [0-9]*/[0-9]*: [^F]' "$rc_log")" ]; then
    # podman's build: every step after FROM said so.
    rc_jc=true
  fi
  rc_size='' rc_psize=0
  if [ -n "$rc_img" ]; then
    set -- "$rc_img"
    if [ -n "$rc_parent" ]; then set -- "$rc_img" "$rc_parent"; fi
    rc_sizes=$(docker image inspect --format '{{.Size}}' -- "$@" 2>/dev/null) || rc_sizes=
    rc_size=$(printf '%s\n' "$rc_sizes" | sed -n 1p)
    if [ -n "$rc_parent" ]; then rc_psize=$(printf '%s\n' "$rc_sizes" | sed -n 2p); fi
  fi
  rc_delta=
  if [ -n "$rc_size" ] && [ -n "$rc_psize" ]; then rc_delta=$((rc_size - rc_psize)); fi
  rc_secs=$(rc_elapsed "$rc_step_t0")
  rc_json event step step# "$rc_step" steps# "$rc_steps" file "${rc_step_where%:*}" lines "${rc_step_where##*:}" instruction "$rc_step_what" \
    cached# "$rc_jc" seconds# "${rc_secs%s}" image "$rc_img" parent "$rc_parent" size# "$rc_size" delta# "$rc_delta"
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
  rc_logged_status=0
  if [ "$rc_verbose" = 1 ] && [ -z "$rc_secrets" ]; then
    # Streamed as it runs (to stderr under --json, whose stdout is JSON lines only).
    if [ "$rc_json" = 1 ]; then rc_logged_through rc_plain_output_err "$@"; else rc_logged_through rc_plain_output "$@"; fi
    return
  fi
  if [ "${rc_vertices:-0}" = 1 ] && [ "$rc_verbose" = 0 ]; then
    case $rc_mode in
      plain|tty)
        # A fused build (rc_fused_build): a line per Rockerfile instruction as BuildKit finishes
        # its step, read from the output as it comes.
        rc_logged_through rc_vertex_lines "$@"
        return
        ;;
    esac
  fi
  rc_wait "$@" < /dev/null >> "$rc_log" 2>&1 || rc_logged_status=$?
  if [ "$rc_verbose" = 1 ]; then
    if [ "$rc_json" = 1 ]; then rc_mask < "$rc_log" | rc_plain_output >&2; else rc_mask < "$rc_log" | rc_plain_output; fi
    # Kept when the step failed: rc_failed_line reads it for the Rockerfile line.
    if [ "$rc_logged_status" = 0 ]; then : > "$rc_log"; fi
  fi
  return "$rc_logged_status"
}

# rc_logged_through FILTER COMMAND...: runs COMMAND as rc_logged does, its output kept in the
# step's log and passed to FILTER as it comes (through a FIFO, so that the command's status is its
# own, not tee's, and rc_wait still knows its pid): a failure names its Rockerfile line from the
# log (rc_failed_line) as when nothing streams.
rc_logged_through() {
  rc_fifo="$rc_tmp/stream.$rc_step"
  # (Each rm is a process: only when there is one to remove.)
  if [ -e "$rc_fifo" ] || [ -L "$rc_fifo" ]; then rm -f "$rc_fifo"; fi
  mkfifo "$rc_fifo"
  tee -a "$rc_log" < "$rc_fifo" | "$1" &
  rc_tee=$!
  shift
  rc_wait "$@" < /dev/null > "$rc_fifo" 2>&1 || rc_logged_status=$?
  wait "$rc_tee" 2>/dev/null || :
  # (The FIFO stays until the cleanup: the next one of this step removes it first.)
  return "$rc_logged_status"
}

rc_plain_output_err() {
  rc_plain_output >&2
}

# Copies a step's output as it comes, a line at a time. Under BuildKit, a RUN's output lines
# lose the `#7 1.234 ` (vertex, seconds) before them: what the command printed reads as under the
# legacy builder (and as `rocker build` showed it), line for line; BuildKit's own lines stay.
rc_plain_output() {
  if [ "${rc_buildkit:-0}" = 1 ]; then
    # shellcheck disable=SC2016 # an awk program
    rc_awk_lines '{ if ($0 ~ /^#[0-9]+ [0-9]+\.[0-9]+ /) sub(/^#[0-9]+ [0-9]+\.[0-9]+ /, ""); print; fflush() }'
  else
    cat
  fi
}

# rc_command_output [last]: a step's log (on stdin) without what Docker and BuildKit say of their
# own work rather than the command's: the legacy builder's deprecation notice and its `Removing
# intermediate container`, BuildKit's step headings (`#5 [2/2] RUN ...`, `#5 [build 3/4] COPY
# ...`), `#7 DONE 0.4s`, `#7 CACHED`, the context's transfer, the export, and blank lines. The
# failure path shows the last lines of what is left. With `last`, only the last line that has
# text, as the progress lines show it: without control characters (a progress bar's carriage
# returns, colours) and without BuildKit's `#7 1.234 ` (vertex, seconds), so that it reads as the
# legacy builder's log does.
rc_command_output() {
  awk -v last="${1:-}" '
    # A JSON string'"'"'s text (serde_json'"'"'s escapes).
    function unjson(s,   out, c, i, n) {
      out = ""; n = length(s)
      for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (c == "\\" && i < n) {
          c = substr(s, ++i, 1)
          if (c == "n") c = "\n"; else if (c == "t") c = "\t"; else if (c == "r") c = "\r"
          else if (c == "b") c = "\b"; else if (c == "f") c = "\f"
          else if (c == "u") { c = sprintf("%c", index("0123456789abcdef", tolower(substr(s, i + 3, 1))) * 16 + index("0123456789abcdef", tolower(substr(s, i + 4, 1))) - 17); i += 4 }
        }
        out = out c
      }
      return out
    }
    {
      l = $0
      # A RUN that runs the fused build'"'"'s checks after its command (lower::buildkit, How::Hosted):
      # BuildKit shows its whole argv, the checks included; the user wrote the command, which is
      # what it shows of any other RUN: `RUN COMMAND` and `[/bin/sh -c COMMAND]`.
      if (last == "" && hosted) {
        if (l !~ /^ rockerc-check /) next
        hosted = 0
        l = hp substr(l, 16)
      } else if (last == "" && l ~ /executor failed running \[\/bin\/sh -c unset SHLVL$/) {
        hp = l; sub(/unset SHLVL$/, "", hp); hosted = 1
        next
      } else if (last == "" && (i = index(l, "RUN --mount=type=bind,from=")) > 0 && (j = index(l, "\", \"rockerc-check\", \"")) > 0) {
        c = substr(l, j + 21)
        e = ""; if (c ~ /"\]:$/) e = ":"
        sub(/"\]:?$/, "", c)
        l = substr(l, 1, i + 3) unjson(c) e
      }
      if (last != "") {
        sub(/\r+$/, "", l)
        n = split(l, parts, "\r"); l = parts[n]
        gsub(/\033\[[0-9;?]*[A-Za-z]/, "", l)
        gsub(/[[:cntrl:]]/, "", l)
      }
      if (l ~ /^[ \t]*$/ || l ~ /^#[0-9]+ *$/) next
      if (l ~ /^(DEPRECATED: The legacy builder|Removing intermediate container )/) next
      if (l ~ /^ *(BuildKit is currently disabled|Install the buildx component|https:\/\/docs\.docker\.com\/go\/buildx\/|environment-variable\.)/) next
      if (l ~ /^#[0-9]+ (DONE [0-9.]+s|CACHED|sha256:|\[internal\]|transferring |exporting |writing image |naming to |resolve |extracting )/) next
      if (l ~ /^#[0-9]+ \[[^]]*[0-9]+\/[0-9]+\] /) next
      if (last == "") { print l; next }
      if (l ~ /^#[0-9]+ [0-9]+\.[0-9]+ /) sub(/^#[0-9]+ [0-9]+\.[0-9]+ /, "", l)
      else if (l ~ /^#[0-9]+ /) sub(/^#[0-9]+ /, "", l)
      sub(/^[ \t]+/, "", l); sub(/[ \t]+$/, "", l)
      # Lines of the legacy builder itself (Step N/M, ---> Running in) say where its log is, and
      # the failure path keeps them for that; the progress line shows output only.
      if (l ~ /^(---> |Step [0-9]+\/[0-9]+ : |Sending build context |Successfully (built|tagged) )/) next
      if (l != "") shown = l
    }
    END { if (last != "") printf "%s", shown }'
}

# Runs docker for the current step (rc_logged); on failure the step, its Rockerfile lines and
# the end of the log are shown.
rc_docker() {
  rc_logged docker "$@" && return 0
  # A fused build whose check says it would not give the steps' image: rc_fused_build goes on.
  if [ "$1" = build ] && [ "${rc_fuse_soft:-0}" = 1 ] && rc_fuse_check_failed; then
    rc_fuse_fell=1
    return 0
  fi
  # A name the fused build's --tag was given that docker refuses (it says so before building):
  # what rc_apply_tags says of it.
  if [ "$1" = build ] && [ -n "${rc_fused_tag:-}" ] && grep -q -e 'for "-t, --tag" flag' "$rc_log"; then
    rc_die "TAG at $rc_rockerfile:$rc_fline: docker refuses the name $rc_fused_tag (invalid reference format); no tag was applied"
  fi
  rc_at=
  if [ "$1" = build ]; then rc_at=$(rc_failed_line); fi
  rc_fail "docker $1 exited with an error${rc_at:+ at $rc_at}"
}

# The Rockerfile line of the instruction a failed `docker build` stopped at: Docker's log names
# its step ("Step 3/4 : RUN make"), counting instructions from 1, and the generated Dockerfile
# has a `# Rockerfile:N` comment above each instruction.
# BuildKit's names the step it stopped at as ` > [3/4] RUN make:` (`[build 3/4]` in a named
# stage), counting only FROM and the instructions that change files (RUN, COPY, ADD, WORKDIR).
# podman's build says "STEP 3/4: RUN make", and counts from the FROM (not the ARG before it).
rc_failed_line() {
  rc_k=$(sed -n 's/^Step \([0-9]*\)\/[0-9]* : .*/\1/p; s/^STEP \([0-9]*\)\/[0-9]*: .*/\1/p' "$rc_log" | tail -n 1)
  rc_only='' rc_sname=''
  if [ -z "$rc_k" ]; then
    rc_k=$(sed -n 's/^ > \[\([^]]* \)\{0,1\}\([0-9][0-9]*\)\/[0-9][0-9]*\] .*/\1\2/p' "$rc_log" | tail -n 1)
    case $rc_k in *' '*) rc_sname=${rc_k%% *} rc_k=${rc_k##* } ;; esac
    rc_only=buildkit
  fi
  [ -n "$rc_k" ] || return 0
  # BuildKit counts in the stage it names (`[build 3/4]`; an unnamed one is `stage-N`, from 0):
  # the count starts at that stage's FROM (a multi-stage Dockerfile: rc_fused).
  # Each instruction follows a `# Rockerfile:N` comment (`# part.inc:2 via Rockerfile:N` for one an
  # INCLUDE brought in; the fused Dockerfile says that in the note above it).
  awk -v k="$rc_k" -v only="$rc_only" -v stage="$rc_sname" -v name="$rc_rockerfile" -v podman="${rc_podman:-0}" '
    /^#/ {
      if (index($0, "# " name ":") == 1) where = substr($0, 3)
      else if ((i = index($0, " via " name ":")) > 0) where = substr($0, i + 5)
      next
    }
    /^[ \t]*$/ { next }
    # podman counts from the first FROM (not an ARG before it).
    podman == 1 && !pfrom && !cont { if (toupper($1) != "FROM") { cont = /\\$/; next } }
    !cont {
      w = toupper($1)
      if (w == "FROM") pfrom = 1
      m++
      kw[m] = w
      at[m] = where
      if (w == "FROM" && stage != "") {
        # BuildKit does not count a FROM of another stage of the Dockerfile (a part: rc_fused).
        if ($2 in defined) instage[m] = 1
        if (toupper($(NF - 1)) == "AS") defined[$NF] = 1
        if (toupper($(NF - 1)) == "AS" && $NF == stage && !named) named = m
        if ("stage-" nfrom == stage && !nth) nth = m
        nfrom++
      }
    }
    { cont = /\\$/ }
    END {
      i = named ? named : (nth ? nth : 1)
      for (; i <= m; i++) {
        if (kw[i] == "FROM") from = 1
        if (kw[i] == "FROM" && instage[i]) continue
        if (only == "" || (from && (kw[i] == "FROM" || kw[i] == "RUN" || kw[i] == "COPY" || kw[i] == "ADD" || kw[i] == "WORKDIR"))) {
          if (++n == k) { print at[i]; exit }
        }
      }
    }' "$rc_df"
}

rc_fail() {
  if [ -f "${rc_tmp:-/nonexistent}/live/$rc_step" ]; then : > "$rc_tmp/live/$rc_step"; fi
  if [ "$rc_json" = 1 ]; then
    rc_tail=
    if [ -s "$rc_log" ]; then rc_tail=$(rc_mask < "$rc_log" | tail -n 25); fi
    rc_json event error step "$rc_step" file "${rc_step_where%:*}" lines "${rc_step_where##*:}" instruction "$rc_step_what" message "$1" output "$rc_tail"
  fi
  printf '%srockerc: error: step %s failed: %s %s\n' "$rc_clr_err" "$rc_step" "$rc_step_where" "$rc_step_what" >&2
  printf 'rockerc: %s\n' "$1" >&2
  if [ -s "${rc_tmp:-/nonexistent}/notes.$rc_step" ]; then sed 's/^/rockerc: /' "$rc_tmp/notes.$rc_step" >&2; fi
  if [ "$rc_verbose" = 0 ] && [ -s "$rc_log" ]; then
    printf -- '--- last lines of its output ---\n' >&2
    # Masked before anything is cut or left out: a secret's lines must all be there to be found.
    rc_mask < "$rc_log" | rc_command_output | tail -n 25 >&2
  fi
  exit 1
}

# rc_ask_engine: the questions every build asks the engine before its first step, asked at once
# and in the background (rc_setup; rc_check_docker collects the answers): each docker call costs
# tens of milliseconds, and so does each round of them. One `docker version` serves the builder's
# pick (rc_can_buildkit), shows that the daemon answers, and shows that the `docker` on PATH is
# Docker's (rc_engine); one `docker image inspect` resolves every FROM image and says which have
# ONBUILD triggers or set a SHELL (rc_base_flags, for rc_fuse_ok; `index`, as a config without
# a Shell has no such key, which `.Config.Shell` makes an error of).
rc_ask_engine() {
  command -v docker >/dev/null 2>&1 ||
    rc_die "docker is not on PATH; install the Docker CLI (Debian: apt-get install docker.io)"
  rc_asked=1
  rc_docker_version > "$rc_tmp/version" 2>/dev/null &
  rc_version_pid=$!
  rc_jobs="$rc_jobs $rc_version_pid"
  rc_bases_pid=
  if [ -n "$rc_externals" ] && [ "$rc_pull" = 0 ]; then
    # shellcheck disable=SC2086 # image names: one word each
    docker image inspect --format '{{.Id}}{{if .Config}}{{if .Config.OnBuild}} onbuild{{end}}{{if index .Config "Shell"}} shell{{end}}{{end}}' -- $rc_externals > "$rc_tmp/base-ids" 2>/dev/null &
    rc_bases_pid=$!
    rc_jobs="$rc_jobs $rc_bases_pid"
  fi
}

# rc_check_docker: the answers to rc_ask_engine's questions (asked now if they were not): sets
# rc_podman (rc_engine), rc_version (rc_docker_version's answer, '' when it failed, for
# rc_can_buildkit), and records the FROM images' ids; stops when the engine does not answer.
rc_check_docker() {
  [ "${rc_asked:-0}" = 1 ] || rc_ask_engine
  rc_asked=2
  rc_version=
  if wait "$rc_version_pid"; then IFS= read -r rc_version < "$rc_tmp/version" || :; fi
  rc_unjob "$rc_version_pid"
  rc_bases_ok=0 rc_base_flags=''
  if [ -n "$rc_bases_pid" ]; then
    if wait "$rc_bases_pid"; then rc_bases_ok=1; fi
    rc_unjob "$rc_bases_pid"
  fi
  # Docker's `docker version` answers the template; podman's has neither a Client nor Components
  # to fill it with and fails (podman 4: "can't evaluate field Client"), as does a Docker whose
  # daemon does not answer: only then is the `docker` on PATH asked what it is.
  rc_podman=0 rc_podman_v=''
  if [ -z "$rc_version" ]; then rc_engine; fi
  if [ "$rc_bases_ok" = 1 ]; then
    # shellcheck disable=SC2086 # image names: one word each
    set -- $rc_externals
    rc_base_flags=' '
    while read -r rc_id rc_ob; do
      printf '%s %s\n' "$1" "$rc_id" >> "$rc_tmp/bases"
      rc_base_flags="$rc_base_flags$rc_ob "
      shift
    done < "$rc_tmp/base-ids"
    return 0
  fi
  if [ "$rc_podman" = 1 ]; then
    # podman has no Server in its version (no daemon, unless it is a remote podman's service,
    # which its plain `version` asks).
    if ! docker version >/dev/null 2>"$rc_tmp/docker-version"; then
      sed -n '1,3s/^/  /p' "$rc_tmp/docker-version" >&2
      rc_die "podman (the docker on PATH) does not answer; see podman info"
    fi
    return 0
  fi
  # A FROM image missing (a stage's rc_base pulls it), or a daemon that does not answer: the
  # daemon answered rc_docker_version, or it is asked once more, for its error.
  [ -z "$rc_version" ] || return 0
  if ! docker version --format '{{.Server.Version}}' >/dev/null 2>"$rc_tmp/docker-version"; then
    sed -n '1,3s/^/  /p' "$rc_tmp/docker-version" >&2
    rc_die "the Docker daemon does not answer; start it (systemctl start docker, or dockerd &) or set DOCKER_HOST"
  fi
}

# Sets rc_podman: 1 when the `docker` on PATH is podman (podman-docker's `docker`, or any
# `docker` that runs podman), which differs from Docker where the runtime reads or writes image
# config (see docs/engines.md): its `image inspect` has no Shell or OnBuild, its commit
# writes OCI images unless told otherwise and records its own environment (TERM, container),
# its ids have no `sha256:`. A client-only call (no daemon, about 20 ms), made only when
# rc_docker_version failed (rc_check_docker).
# Docker's says "Docker version 20.10.24+dfsg1, build 297e128"; podman's names the program as
# it was started: "podman version 4.3.1" through podman-docker's script, but "docker version
# 4.3.1" through a link named docker, so a `docker` that is not Docker is asked its `version`
# too (podman's says "Client: Podman Engine"). Sets rc_podman_v to podman's version.
rc_engine() {
  rc_podman=0 rc_podman_v=''
  rc_dv=$(docker --version 2>/dev/null) || rc_dv=''
  case $rc_dv in
    "Docker version "*) ;;
    [Pp]odman*) rc_podman=1 ;;
    *) case $(docker version 2>/dev/null) in *"Podman Engine"*) rc_podman=1 ;; esac ;;
  esac
  if [ "$rc_podman" = 1 ]; then
    # podman's build writes OCI images unless told otherwise, and OCI has no SHELL or ONBUILD.
    BUILDAH_FORMAT=docker
    export BUILDAH_FORMAT
    rc_podman_v=${rc_dv##* }
  fi
}

rc_cleanup() {
  rc_status=$?
  # A second Ctrl-C, or the same signal passed on by `rockerc build`, must not cut the cleanup
  # short.
  trap - EXIT
  trap '' INT TERM HUP USR1 PIPE
  rc_monitor_stop
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
  if [ -n "${rc_jobs:-}" ]; then
    # Bounded: a client whose container outlived `docker rm -f` (created just after it, or a
    # daemon too slow to kill it) waits for its command, minutes of `sleep 300`. After 3 s the
    # clients left are killed, and so are the clients of background stages (they stopped them
    # with TERM and exited; see rc_stage_in_background), and the containers are swept again:
    # a client killed mid-create may have left one behind it.
    rc_overdue=0
    # shellcheck disable=SC2086 # a list of process ids
    rc_bounded_wait 3 $rc_jobs || rc_overdue=1
    if [ -n "${rc_tmp:-}" ] && [ -s "$rc_tmp/strays" ]; then
      # shellcheck disable=SC2046 # a list of process ids
      rc_strays_stop $(cat "$rc_tmp/strays") || rc_overdue=1
    fi
    if [ "$rc_overdue" = 1 ] && [ -s "$rc_tmp/containers" ]; then
      while IFS= read -r rc_c; do
        if [ -f "$rc_tmp/removed" ] && grep -qxF -e "$rc_c" "$rc_tmp/removed"; then continue; fi
        docker rm -f -v "$rc_c" >/dev/null 2>&1 || :
      done < "$rc_tmp/containers"
    fi
  fi
  # A remote engine's volumes of this run (MOUNTed files, secrets): only once their containers are gone.
  if [ -n "${rc_tmp:-}" ] && [ -d "$rc_tmp" ]; then rc_rmt_drop_all_volumes; fi
  # An interrupted --cache-to: its unfinished archives (DIR still has its old manifest and what
  # that names); an interrupted --cache-from: the volumes it had not finished filling.
  if [ -n "${rc_stage_dir:-}" ]; then rm -rf "$rc_stage_dir"; fi
  if [ -n "${rc_tmp:-}" ] && [ -s "$rc_tmp/restoring" ]; then
    while IFS= read -r rc_v; do docker volume rm -f -- "$rc_v" >/dev/null 2>&1 || :; done < "$rc_tmp/restoring"
  fi
  # The per-run tags BuildKit found images by (rc_ref); an image only they held goes with them
  # (BuildKit's own cache makes it again, with the same id, when a build needs it).
  if [ -n "${rc_tmp:-}" ] && [ -s "$rc_tmp/runtag-names" ]; then
    # shellcheck disable=SC2046 # tag names: one word each
    docker image rm --no-prune -- $(cat "$rc_tmp/runtag-names") >/dev/null 2>&1 || :
  fi
  if [ -n "${rc_tmp:-}" ] && [ -d "$rc_tmp" ]; then rm -rf "$rc_tmp"; fi
  if [ -n "${rc_lock_id:-}" ]; then docker rm -f -v "$rc_lock_id" >/dev/null 2>&1 || :; fi
  exit "$rc_status"
}

# rc_bounded_wait SECONDS PID...: waits for these children of this shell, for SECONDS at most:
# then they are killed (SIGKILL) and waited for. Returns 1 when it had to kill. `wait` has no
# timeout: a watchdog in the background does the killing; it sleeps a second at a time, so
# when the children end first and it is killed, its last `sleep` (fds on /dev/null) is gone
# within a second.
rc_bounded_wait() {
  rc_bw_secs=$1
  shift
  if [ -e "$rc_tmp/overdue" ]; then rm -f "$rc_tmp/overdue"; fi
  (
    rc_i=0
    while [ "$rc_i" -lt "$rc_bw_secs" ]; do
      sleep 1
      rc_i=$((rc_i + 1))
    done
    : > "$rc_tmp/overdue"
    kill -9 "$@" 2>/dev/null
  ) < /dev/null > /dev/null 2>&1 &
  rc_bw_dog=$!
  wait "$@" 2>/dev/null || :
  kill -9 "$rc_bw_dog" 2>/dev/null || :
  wait "$rc_bw_dog" 2>/dev/null || :
  [ ! -f "$rc_tmp/overdue" ]
}

# rc_strays_stop PID...: the docker clients of background stages, which are not this shell's
# children (the stages stopped them with TERM and ended): given 3 s to end, then killed.
# Returns 1 when it had to kill.
rc_strays_stop() {
  for rc_i in 1 2 3 4; do
    rc_left=
    for rc_p in "$@"; do
      if kill -0 "$rc_p" 2>/dev/null; then rc_left="$rc_left $rc_p"; fi
    done
    [ -n "$rc_left" ] || return 0
    if [ "$rc_i" != 4 ]; then sleep 1; fi
  done
  # shellcheck disable=SC2086 # a list of process ids
  kill -9 $rc_left 2>/dev/null || :
  return 1
}

rc_setup() {
  rc_tmp=$(mktemp -d "${TMPDIR:-/tmp}/rockerc.XXXXXX") || rc_die "cannot create a temporary directory"
  trap rc_cleanup EXIT
  # Each first ignores the others: Ctrl-C reaches the script twice under `rockerc build` (from
  # the terminal and passed on), and a second `exit` run before rc_cleanup has set its own traps
  # ended the cleanup at once, leaving containers, the lock and the temporary directory.
  trap 'trap "" INT TERM HUP USR1 PIPE; exit 130' INT
  trap 'trap "" INT TERM HUP USR1 PIPE; exit 143' TERM
  trap 'trap "" INT TERM HUP USR1 PIPE; exit 129' HUP
  trap 'trap "" INT TERM HUP USR1 PIPE; exit 1' USR1
  # `sh build.sh | head -1`: the reader is gone; stop and clean up as for Ctrl-C. (Where the
  # script was started with SIGPIPE ignored, the write fails instead, and `set -e` ends the
  # script through the same cleanup.)
  trap 'trap "" INT TERM HUP USR1 PIPE; exit 141' PIPE
  rc_main_pid=$$
  rc_jobs=
  rc_removers=
  # A build asks the engine its questions first (rc_ask_engine), in the background: what follows
  # here (a few small processes, each a few milliseconds) runs while the engine answers.
  rc_asked=0
  if [ -z "${rc_cache_cmd:-}" ]; then rc_ask_engine; fi
  rc_t0=$(rc_now)
  rc_progress_mode
  # Every directory of the build at once (each mkdir is a process): with `-o DIR` the plan's
  # private copy (rc_copy_plan), and the live lines of a plain or tty build (rc_monitor_start).
  set -- "$rc_tmp/empty" "$rc_tmp/img" "$rc_tmp/x" "$rc_tmp/plan"
  if rc_monitor_wanted; then set -- "$@" "$rc_tmp/live"; fi
  mkdir "$@"
  rc_inputs_at_start
  : > "$rc_tmp/containers"
  : > "$rc_tmp/tags"
  rc_run_id=${rc_tmp##*.}
  # rc_id_hash (rc_id_hash_set) and, for rc_level, the number of CPUs: asked where they are
  # needed, not here (a fused build needs neither, and each costs a process or two).
  rc_id_hash=
  rc_ncontainers=0 rc_nstage=0 rc_mcount=0 rc_clear=0 rc_pctr='' rc_rmt_sent=0 rc_rmt_got=0 rc_rmt_git_changed=0
  rc_cached=''
  rc_step=0 rc_step_where='' rc_step_what=setup rc_log="$rc_tmp/log.0"
  if [ -n "$rc_urls" ]; then
    rc_urls_record &
    rc_url_pid=$!
    rc_jobs="$rc_jobs $rc_url_pid"
  fi
  rc_buildkit=0 rc_ntags=0
  # The awk that reads a build's output as it comes asks once which awk it is (rc_awk_lines),
  # here, while the engine answers, rather than in each pipeline's subshell.
  if [ "$rc_verbose" = 1 ] || rc_monitor_wanted; then rc_awk_which; fi
  rc_monitor_start
}

# Names made from the build id (volumes, the lock, cache keys) use 128 bits of its SHA-256:
# a build id is anyone's choice (a branch name), and a checksum like cksum's CRC can be matched
# in milliseconds, which would give a pull request the volumes of main's build. Set by the
# main shell before anything that uses it (the lock, the MOUNT volumes, --cache-*).
rc_id_hash_set() {
  if [ -z "${rc_id_hash:-}" ]; then rc_id_hash=$(rc_hash "$rc_build_id"); fi
}

# rc_unjob PID: PID is no longer one of the jobs the cleanup stops.
rc_unjob() {
  rc_uj=
  for rc_p in ${rc_jobs:-}; do
    if [ "$rc_p" != "$1" ]; then rc_uj="$rc_uj $rc_p"; fi
  done
  rc_jobs=$rc_uj
}

# Picks the builder (rc_buildkit 1 or 0) and says which on the first line of output: --builder,
# else the user's DOCKER_BUILDKIT, else BuildKit where the docker client and the engine have it.
# The generated Dockerfiles build under either; the legacy builder is deprecated since Docker 23
# and may go, so the script must not depend on it, nor on BuildKit, which some engines (Podman,
# old or Windows daemons) and clients (23 and later without buildx) lack. One `docker version`
# (about 30 ms) answers for both ends; `docker buildx version` is asked only of a client from 23
# on, where `docker build` is BuildKit only through buildx.
rc_pick_builder() {
  rc_want=$rc_builder_arg rc_why="--builder $rc_builder_arg"
  if [ -z "$rc_want" ] && [ -n "${DOCKER_BUILDKIT:-}" ]; then
    rc_why="DOCKER_BUILDKIT=$DOCKER_BUILDKIT"
    case $DOCKER_BUILDKIT in
      1|t|T|true|TRUE|True) rc_want=buildkit ;;
      0|f|F|false|FALSE|False) rc_want=legacy ;;
      *) rc_die "DOCKER_BUILDKIT=$DOCKER_BUILDKIT is neither 1 nor 0 (docker reads it as a boolean); or pass --builder auto|buildkit|legacy" ;;
    esac
  fi
  if [ -z "$rc_want" ]; then rc_want=auto rc_why=auto; fi
  rc_buildkit=0
  # podman's `build` is its own (buildah's), whatever DOCKER_BUILDKIT says: the script's
  # non-BuildKit path, under the name the user sees.
  rc_legacy=legacy
  if [ "$rc_podman" = 1 ]; then rc_legacy="podman's own"; fi
  if [ "$rc_want" = legacy ]; then
    rc_say "builder: $rc_legacy ($rc_why)"
  else
    rc_can_buildkit
    if [ "$rc_can" = 1 ]; then
      rc_buildkit=1
      rc_say "builder: BuildKit ($rc_why: $rc_can_why; --builder legacy for the legacy builder)"
    elif [ "$rc_want" = buildkit ]; then
      rc_die "$rc_why: BuildKit is not available here: $rc_can_why; pass --builder legacy (or auto)"
    else
      rc_say "builder: $rc_legacy ($rc_why: $rc_can_why)"
    fi
  fi
  DOCKER_BUILDKIT=$rc_buildkit
  export DOCKER_BUILDKIT
}

# Sets rc_can (1 when `DOCKER_BUILDKIT=1 docker build` builds with BuildKit here) and rc_can_why.
rc_can_buildkit() {
  rc_can=0
  if [ "$rc_podman" = 1 ]; then
    # (Its `version` has no Server to ask about.)
    rc_can_why="the docker on PATH is podman $rc_podman_v, which builds with buildah and has no BuildKit"
    return 0
  fi
  # Asked by rc_ask_engine, at the same time as the FROM images (rc_check_docker).
  # shellcheck disable=SC2086 # the words of the answer
  set -- $rc_version ''
  rc_cv=${1:-} rc_sv=${2:-} rc_os=${3:-} rc_comp=${4:-}
  rc_can_why="docker client $rc_cv, engine $rc_sv"
  case $rc_comp in
    *[Pp]odman*) rc_can_why="the engine is Podman ($rc_sv), which has no BuildKit"; return 0 ;;
  esac
  if [ -z "$rc_sv" ]; then rc_can_why="the engine did not say its version"; return 0; fi
  if [ "$rc_os" != linux ]; then rc_can_why="$rc_can_why on $rc_os, which has no BuildKit"; return 0; fi
  rc_version_at_least "$rc_sv" 18 9 || { rc_can_why="$rc_can_why, which has no BuildKit"; return 0; }
  rc_version_at_least "$rc_cv" 18 9 || { rc_can_why="$rc_can_why; the client has no BuildKit"; return 0; }
  if rc_version_at_least "$rc_cv" 23 0; then
    if ! docker buildx version >/dev/null 2>&1; then
      rc_can_why="$rc_can_why; the client has no buildx, which it needs for BuildKit"
      return 0
    fi
    rc_can_why="$rc_can_why, buildx"
  fi
  rc_can=1
}

rc_docker_version() {
  docker version --format '{{.Client.Version}} {{.Server.Version}} {{.Server.Os}} {{range .Server.Components}}{{.Name}},{{end}}'
}

# rc_version_at_least VERSION MAJOR MINOR: 20.10.24+dfsg1 is at least 18 9.
rc_version_at_least() {
  rc_maj=${1%%.*} rc_min=${1#*.}
  rc_min=${rc_min%%[!0-9]*}
  case $rc_maj in ''|*[!0-9]*) return 1 ;; esac
  case $rc_min in ''|*[!0-9]*) rc_min=0 ;; esac
  [ "$rc_maj" -gt "$2" ] || { [ "$rc_maj" -eq "$2" ] && [ "$rc_min" -ge "$3" ]; }
}

# rc_ref IMAGE: sets rc_ref to a name the builder finds IMAGE by. The legacy builder takes an
# image id in FROM; BuildKit (the docker driver of 20.10) takes `sha256:...` for a name on
# Docker Hub and tries to pull it. Under BuildKit an id gets a private per-run tag,
# rockerc-run:RUNID-STEP-N (recorded before it exists, so that an interrupt removes it too),
# which the cleanup removes: nothing is left under that name.
rc_ref() {
  rc_ref=$1
  [ "$rc_buildkit" = 1 ] || return 0
  case $1 in sha256:*) ;; *) return 0 ;; esac
  if [ -s "$rc_tmp/runtags" ]; then
    while read -r rc_a rc_b; do
      if [ "$rc_a" = "$1" ]; then
        rc_ref=$rc_b
        return 0
      fi
    done < "$rc_tmp/runtags"
  fi
  rc_run_tag
  docker tag "$1" "$rc_tagname" >/dev/null 2>&1 || rc_fail "cannot tag $1 as $rc_tagname for BuildKit"
  printf '%s %s\n' "$1" "$rc_tagname" >> "$rc_tmp/runtags"
  rc_ref=$rc_tagname
}

# A new per-run tag name in rc_tagname, recorded for the cleanup.
rc_run_tag() {
  rc_ntags=$((rc_ntags + 1))
  rc_tagname="rockerc-run:$rc_run_id-$rc_step-$rc_ntags"
  printf '%s\n' "$rc_tagname" >> "$rc_tmp/runtag-names"
}

# rc_copy_plan FILE...: with `-o DIR`, the step files and Dockerfiles beside the script are
# sourced and built from a private copy ($rc_plan) made before any step runs: a RUN that can
# write beside the script (a writable MOUNT of the context that holds it) cannot change what a
# later step runs on the host or builds.
rc_copy_plan() {
  rc_plan="$rc_tmp/plan"
  # (rc_setup made it.)
  [ -d "$rc_plan" ] || mkdir "$rc_plan"
  (cd "$rc_here" && cp -- "$@" "$rc_plan/") || rc_die "cannot copy the files beside $0 into $rc_plan"
}

# One build per build id at a time, per Docker engine: builds of the same Rockerfile share its
# MOUNT volumes (and host directories), which two writers at once would corrupt. The lock is a
# container named from the build id, created (never started) on the engine: the daemon gives a
# name to one container only, so of any number of builds, whatever machine, container or TMPDIR
# they run in, exactly one holds it. Its label says who: the process, when it started, which
# machine and process namespace, and its temporary directory. A holder that is gone (killed with
# SIGKILL, say) is found out, what it left is removed (its secrets first), and the lock is taken
# over: removing the dead holder's container succeeds for one taker only, and that one creates
# the lock anew (or loses it to a newcomer, and waits).
rc_lock() {
  rc_id_hash_set
  rc_lock_name="rockerc-lock-$rc_id_hash"
  rc_whoami
  printf '%s\n' "$rc_run_id" > "$rc_tmp/run-id"
  rc_waited=0
  # A build with MOUNT volumes records their use in the volume rockerc-cache-uses through its lock
  # (rc_cache_record_use): no container of its own.
  while :; do
    set --
    if [ -n "$rc_volumes" ]; then set -- --mount type=volume,src=rockerc-cache-uses,dst=/uses; fi
    if rc_lock_id=$(docker create --pull never --name "$rc_lock_name" --label "rockerc.lock=$rc_me" "$@" \
      rockerc-lock:1 /rockerc-lock-never-runs 2> "$rc_tmp/lock.err"); then
      return 0
    fi
    rc_lock_id=
    if grep -q -i 'no such image\|image not known' "$rc_tmp/lock.err"; then
      # The image the lock containers are made of: nothing but a label, never run.
      printf 'FROM scratch\nLABEL rockerc.lock-image=1\n' > "$rc_tmp/lock.Dockerfile"
      DOCKER_BUILDKIT=0 docker build -q --tag rockerc-lock:1 --file "$rc_tmp/lock.Dockerfile" "$rc_tmp/empty" > "$rc_tmp/lock.err" 2>&1 ||
        { sed -n '1,5s/^/  /p' "$rc_tmp/lock.err" >&2; rc_die "cannot create the lock image rockerc-lock:1"; }
      continue
    fi
    grep -q -i 'conflict\|already in use' "$rc_tmp/lock.err" ||
      { sed -n '1,5s/^/  /p' "$rc_tmp/lock.err" >&2; rc_die "cannot create the lock container $rc_lock_name"; }
    # Taken: by whom? (Gone meanwhile: try again.)
    if ! rc_holder=$(docker container inspect --format '{{.Id}} {{if .Config.Labels}}{{index .Config.Labels "rockerc.lock"}}{{end}}' -- "$rc_lock_name" 2>/dev/null); then
      sleep 1
      continue
    fi
    rc_holder_id=${rc_holder%% *}
    rc_holder=${rc_holder#* }
    if rc_holder_gone "$rc_holder"; then
      rc_reap "$rc_holder"
      # Exactly one of the builds that found the holder dead removes its container; the others
      # (and this one, if a newcomer took the free name first) go round again.
      docker rm -f -v "$rc_holder_id" >/dev/null 2>&1 || :
      continue
    fi
    if [ "$rc_waited" = 0 ]; then
      # shellcheck disable=SC2086 # the label's words
      set -- $rc_holder
      rc_say "waiting for another build of $rc_rockerfile (process ${1:-?}${rc_elsewhere:+ on another machine or container}) to finish"
      if [ -n "$rc_elsewhere" ]; then
        rc_say "  (if that build is gone, remove its lock: docker rm -f $rc_lock_name)"
      fi
      rc_waited=1
    fi
    sleep 1
  done
}

# Sets rc_me, what the lock's label says about this build: process id, its start time, the
# machine and process namespace it runs in, the run id (its containers' names) and the temporary
# directory. BusyBox has no `ps -p`; /proc has all of it (elsewhere the host name stands in).
rc_whoami() {
  rc_boot=
  if [ -r /proc/sys/kernel/random/boot_id ]; then
    IFS= read -r rc_boot < /proc/sys/kernel/random/boot_id || rc_boot=
    rc_ns=$(readlink /proc/self/ns/pid 2>/dev/null) || rc_ns=
    rc_here_id="$rc_boot/$rc_ns"
  else
    rc_here_id="host:$(uname -n 2>/dev/null)"
  fi
  case $rc_here_id in *[!A-Za-z0-9:/.\[\]_-]*) rc_here_id="host:$(uname -n 2>/dev/null | tr -c 'A-Za-z0-9.-' _)" ;; esac
  rc_started "$rc_main_pid"
  rc_me="$rc_main_pid $rc_start $rc_here_id $rc_run_id $rc_tmp"
}

# rc_started PID: sets rc_start, when the process started (clock ticks since boot, from
# /proc/PID/stat), or `-` where there is no /proc. Returns 1 when there is no such process.
rc_started() {
  rc_start=-
  if [ -r /proc/sys/kernel/random/boot_id ]; then
    [ -r "/proc/$1/stat" ] || return 1
    IFS= read -r rc_stat < "/proc/$1/stat" || return 1
    # Fields after the command name (which may hold blanks and parentheses): starttime is the
    # 22nd field, the 20th after `) `.
    rc_stat=${rc_stat##*) }
    # shellcheck disable=SC2086 # numbers, one word each
    set -- $rc_stat
    [ $# -ge 20 ] || return 1
    shift 19
    rc_start=$1
  else
    kill -0 "$1" 2>/dev/null || return 1
  fi
}

# rc_holder_gone LABEL: whether the build that holds the lock is dead. A holder on this machine
# and in this process namespace is checked by its process id and start time (a process id may
# have been reused); one elsewhere cannot be checked (sets rc_elsewhere) and counts as alive.
rc_holder_gone() {
  rc_elsewhere=
  # shellcheck disable=SC2086 # the label's words
  set -- $1
  [ $# -ge 5 ] || return 0
  case $1 in ''|*[!0-9]*) return 0 ;; esac
  if [ "$3" != "$rc_here_id" ]; then
    rc_elsewhere=1
    return 1
  fi
  rc_was_start=$2
  rc_started "$1" || return 0
  [ "$rc_start" != "$rc_was_start" ]
}

# rc_reap LABEL: what a dead holder left: its plaintext secret files first, then the rest of its
# temporary directory (a stage it ran in the background may outlive it, and stops at its next
# step without that directory), then its containers (a MOUNTed RUN may still be writing the
# volumes), swept twice: a background stage may have been starting one. The directory is only
# taken for the holder's if it is one of rockerc's and says so itself.
rc_reap() {
  rc_dead_run=$(printf '%s\n' "$1" | cut -d ' ' -f 4)
  rc_dead_tmp=$(printf '%s\n' "$1" | cut -d ' ' -f 5-)
  case $rc_dead_run in ''|*[!A-Za-z0-9]*) rc_dead_run= ;; esac
  rc_dead_restoring=
  rc_say "a build of $rc_rockerfile that held the lock is gone; removing what it left"
  case $rc_dead_tmp in
    /*/rockerc.*)
      if [ -n "$rc_dead_run" ] && [ -d "$rc_dead_tmp" ] && [ ! -L "$rc_dead_tmp" ] && [ -f "$rc_dead_tmp/run-id" ] &&
        [ "$(cat "$rc_dead_tmp/run-id" 2>/dev/null)" = "$rc_dead_run" ]; then
        rm -f "$rc_dead_tmp"/run.*/secret.* 2>/dev/null || :
        # Volumes its --cache-from had not finished filling: removed once its containers are.
        if [ -f "$rc_dead_tmp/restoring" ]; then rc_dead_restoring=$(grep '^rockerc_[0-9a-f]*_[0-9a-f]*$' "$rc_dead_tmp/restoring" 2>/dev/null) || :; fi
        rm -rf "$rc_dead_tmp" 2>/dev/null || :
      fi
      ;;
  esac
  [ -n "$rc_dead_run" ] || return 0
  for rc_sweep in 1 2; do
    docker ps -a -q --no-trunc --filter "name=^/?rockerc-$rc_dead_run-" > "$rc_tmp/dead" 2>/dev/null || :
    [ -s "$rc_tmp/dead" ] || break
    while IFS= read -r rc_c; do
      docker rm -f -v "$rc_c" >/dev/null 2>&1 || :
    done < "$rc_tmp/dead"
    [ "$rc_sweep" = 2 ] || sleep 1
  done
  for rc_v in $rc_dead_restoring; do docker volume rm -f -- "$rc_v" >/dev/null 2>&1 || :; done
  rc_rmt_reap "$rc_dead_run"
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

# The build context (rc_find_context), and the build id that names MOUNT volumes.
rc_resolve_context() {
  rc_find_context
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
  if [ "$rc_pull" = 1 ] || ! rc_img=$(docker image inspect --format '{{.Id}}' -- "$1" 2>/dev/null); then
    rc_say "pulling $1"
    if ! docker pull -- "$1" > "$rc_tmp/pull.log" 2>&1; then
      tail -n 5 "$rc_tmp/pull.log" >&2
      rc_die "cannot pull $1 (FROM at $2)"
    fi
    rc_img=$(docker image inspect --format '{{.Id}}' -- "$1") || rc_die "cannot inspect $1"
  fi
}

# rc_subset PATH...: a build context with only these paths of the user's context, as the Docker
# daemon would find them there. Docker follows a symbolic link in the build context, but never
# out of it: an absolute link starts again at the context's root and `..` stops there, so a
# path through a link that leads out of the context simply does not exist. rc_walk follows each
# path the same way, and the subset gets what the walk met: each link as itself (Docker follows
# it again, the same way) and the object the path leads to. Nothing is ever read through a link
# that leads out of the context. Files are copies with their modes and times: Docker sees the
# same files, so its layer cache is unchanged.
# The context's .dockerignore comes along (the CLI applies it). One that is a link is not read
# through: the subset gets, as a file, what it leads to inside the context (what Docker ships
# for `COPY .dockerignore`), or nothing.
rc_subset() {
  rc_ctx="$rc_tmp/sub.$rc_step"
  rc_subset_dir=$rc_ctx
  mkdir "$rc_ctx"
  rc_full='
'
  rc_whole=0
  if [ -L "$rc_context/.dockerignore" ]; then
    : > "$rc_tmp/linked"
    rc_walk .dockerignore || rc_res=
    if [ -n "$rc_res" ] && [ -f "$rc_context/$rc_res" ] && [ ! -L "$rc_context/$rc_res" ]; then
      rc_copy_into "$rc_context/$rc_res" "$rc_ctx/.dockerignore"
    fi
  elif [ -e "$rc_context/.dockerignore" ]; then
    rc_copy_into "$rc_context/.dockerignore" "$rc_ctx/.dockerignore"
    rc_full="$rc_full.dockerignore
"
  fi
  for rc_p in "$@"; do
    rc_mirror "$rc_p"
  done
  if [ "$rc_whole" = 1 ]; then
    # A link led to the context itself: the step reads all of it.
    rm -rf "$rc_ctx"
    rc_ctx=$rc_context
    rc_subset_dir=
  fi
}

# rc_walk PATH [copy]: follows PATH (relative to the context) as Docker does. Sets rc_res to
# where it leads, relative to the context ('' for the context itself), and rc_links to the
# number of links followed; with `copy`, puts each link it meets into the subset. Fails after
# 255 links, as Docker does.
rc_walk() {
  rc_rest=$1 rc_res='' rc_links=0
  while [ -n "$rc_rest" ]; do
    case $rc_rest in
      */*) rc_c=${rc_rest%%/*} rc_rest=${rc_rest#*/} ;;
      *) rc_c=$rc_rest rc_rest='' ;;
    esac
    case $rc_c in
      ''|.) continue ;;
      ..)
        case $rc_res in */*) rc_res=${rc_res%/*} ;; *) rc_res='' ;; esac
        continue
        ;;
    esac
    rc_at=${rc_res:+$rc_res/}$rc_c
    if [ -L "$rc_context/$rc_at" ]; then
      rc_links=$((rc_links + 1))
      [ "$rc_links" -le 255 ] || return 1
      rc_target=$(readlink "$rc_context/$rc_at") || return 1
      if [ "${2:-}" = copy ] && [ ! -e "$rc_ctx/$rc_at" ] && [ ! -L "$rc_ctx/$rc_at" ]; then
        # Every directory above it is a directory in the context too (links are never
        # appended to rc_res), so nothing here is created through a link.
        if [ -n "$rc_res" ] && [ ! -d "$rc_ctx/$rc_res" ]; then mkdir -p "$rc_ctx/$rc_res"; fi
        cp -P "$rc_context/$rc_at" "$rc_ctx/$rc_at" || rc_fail "cannot prepare the build context with $rc_at"
      fi
      case $rc_target in /*) rc_res='' ;; esac
      rc_rest=$rc_target${rc_rest:+/$rc_rest}
    else
      rc_res=$rc_at
    fi
  done
}

# rc_mirror PATH: puts PATH into the subset (see rc_subset).
rc_mirror() {
  if ! rc_walk "$1" copy; then
    rc_note "$1: more than 255 symbolic links on the way (Docker stops there too)"
    return 0
  fi
  if [ "$rc_links" != 0 ]; then : > "$rc_tmp/linked"; fi
  if [ -z "$rc_res" ]; then
    rc_whole=1
    return 0
  fi
  # A path that leads where rc_build would put the Dockerfile must find there what the context
  # has (or nothing), never the Dockerfile.
  case $rc_res in .rockerc.Dockerfile|.rockerc.Dockerfile/*) rc_subset_dir= ;; esac
  if [ ! -e "$rc_context/$rc_res" ]; then
    if [ "$rc_links" != 0 ]; then
      rc_note "$1 passes through a symbolic link, and a link in the build context never leads out of it (as under docker build): it leads to $rc_res in the context, which does not exist"
    fi
    return 0
  fi
  # Already there, as itself or inside a directory copied whole?
  rc_a=$rc_res
  while :; do
    case $rc_full in *"
$rc_a
"*) return 0 ;; esac
    case $rc_a in */*) rc_a=${rc_a%/*} ;; *) break ;; esac
  done
  # A directory made on the way to something deeper holds only part of it.
  if [ -e "$rc_ctx/$rc_res" ] || [ -L "$rc_ctx/$rc_res" ]; then rm -rf "${rc_ctx:?}/$rc_res"; fi
  case $rc_res in */*) [ -d "$rc_ctx/${rc_res%/*}" ] || mkdir -p "$rc_ctx/${rc_res%/*}" ;; esac
  rc_copy_into "$rc_context/$rc_res" "$rc_ctx/$rc_res"
  rc_full="$rc_full$rc_res
"
}

# rc_copy_into FROM TO: TO becomes a copy of FROM (links inside it kept as links, modes and
# times kept: Docker's layer cache sees the same files). Never hard links: a link changes the
# file's ctime, which the no-op check reads as an edit made during the build.
rc_copy_into() {
  cp -PRp "$1" "$2" || rc_fail "cannot prepare the build context with ${1#"$rc_context"/}"
}

# rc_note TEXT: said after the error, if the current step fails.
rc_note() {
  printf 'note: %s\n' "$1" >> "$rc_tmp/notes.$rc_step"
}

# rc_build DOCKERFILE CONTEXT FROM-ID [docker build options...]: sets rc_img.
rc_build() {
  rc_df=$1 rc_ctx=$2 rc_from=$3
  shift 3
  # The FROM of a stage's first Dockerfile (no ROCKERC_FROM) fires its image's ONBUILD triggers.
  if [ -z "$rc_from" ] && [ "$rc_ctx" != "$rc_context" ] && case $rc_ctx in "$rc_tmp"/sub.*|"$rc_tmp/empty") true ;; *) false ;; esac &&
    rc_onbuild_reads_context "$rc_img"; then
    rc_ctx=$rc_context rc_subset_dir=
  fi
  if [ -e "$rc_tmp/iid.$rc_step" ] || [ -L "$rc_tmp/iid.$rc_step" ]; then rm -f "$rc_tmp/iid.$rc_step"; fi
  if [ "$rc_buildkit" = 1 ]; then
    # Image ids passed as build args become per-run tags (rc_ref). The result gets one as it is
    # made (`--tag`, no docker call of its own): between two steps nothing else holds it, and a
    # `docker image prune` or `rmi` beside the build would take it. The cleanup removes the tag,
    # and with it an image only the tag held (BuildKit's cache makes it again, with the same
    # id). Not the build that may make the final image (rc_final_step, or the fused build):
    # untagged, it stays as the legacy builder leaves its result, and the id the script prints
    # last (`Successfully built`, -q, --json) is still there after the build.
    rc_result_tag=
    if [ "${rc_fuse_soft:-0}" = 0 ] && [ "$rc_step" != "${rc_final_step:-0}" ]; then
      rc_run_tag
      rc_result_tag=$rc_tagname
    fi
    rc_n=$#
    while [ "$rc_n" -gt 0 ]; do
      rc_a=$1
      shift
      rc_n=$((rc_n - 1))
      if [ "$rc_a" = --build-arg ] && [ "$rc_n" -gt 0 ]; then
        case $1 in
          ROCKERC_*=sha256:*) rc_ref "${1#*=}"; rc_a="${1%%=*}=$rc_ref"; set -- "$@" --build-arg; shift; rc_n=$((rc_n - 1)) ;;
        esac
      fi
      set -- "$@" "$rc_a"
    done
    if [ -n "$rc_from" ]; then rc_ref "$rc_from"; rc_from=$rc_ref; fi
    set -- "$@" --progress=plain
    if [ -n "$rc_result_tag" ]; then set -- "$@" --tag "$rc_result_tag"; fi
  fi
  if [ -n "$rc_from" ]; then set -- "$@" --build-arg "ROCKERC_FROM=$rc_from"; fi
  if [ "$rc_no_cache" = 1 ]; then set -- "$@" --no-cache; fi
  rc_file=$rc_df
  if [ "$rc_ctx" = "$rc_context" ] && [ -L "$rc_context/.dockerignore" ]; then
    rc_fail "the build context's .dockerignore is a symbolic link: docker would read its patterns through it (from outside the build context, if it leads there), which rockerc never does; replace the link with the file it points to"
  fi
  if [ -n "${rc_subset_dir:-}" ] && [ "$rc_ctx" = "$rc_subset_dir" ] &&
    [ ! -e "$rc_ctx/.rockerc.Dockerfile" ] && [ ! -L "$rc_ctx/.rockerc.Dockerfile" ]; then
    # Inside the context it sends, docker ships .dockerignore as it is (with a Dockerfile from
    # elsewhere it adds a line to it, and `COPY .dockerignore` would copy that line).
    cp "$rc_df" "$rc_ctx/.rockerc.Dockerfile"
    rc_file="$rc_ctx/.rockerc.Dockerfile"
  fi
  rc_subset_dir=
  # --force-rm: the legacy builder keeps the container of a failed RUN unless told otherwise.
  rc_docker build --force-rm --iidfile "$rc_tmp/iid.$rc_step" --file "$rc_file" "$@" "$rc_ctx"
  [ "${rc_fuse_fell:-0}" = 0 ] || return 0
  # The id docker wrote (no newline after it); a missing file stops the build, as `cat` did.
  rc_img=
  { IFS= read -r rc_img || :; } < "$rc_tmp/iid.$rc_step"
  if [ "$rc_buildkit" = 1 ] && [ -n "$rc_result_tag" ]; then printf '%s %s\n' "$rc_img" "$rc_result_tag" >> "$rc_tmp/runtags"; fi
}

# Whether rc_fused builds this run (a plan that can be one BuildKit build has it): under
# BuildKit, without --no-fuse (nor --cache-to/--cache-from, which the steps handle), when no
# FROM image has ONBUILD triggers (the steps fire those, and send the whole context to a trigger
# that reads it; see rc_build), and, where a RUN of the plan runs checks after its command
# (rc_hosted=1: it runs that command with /bin/sh -c), when no FROM image sets a SHELL.
# rc_check_docker's inspect said which have them; after --pull it made none, and one call asks.
rc_fuse_ok() {
  [ "$rc_buildkit" = 1 ] && [ "$rc_fuse" = 1 ] && [ -z "$rc_cache_to$rc_cache_from" ] || return 1
  # A check of this plan's fused build failed before (rc_unfuse): the steps, without trying again.
  rc_stamp_file
  [ ! -f "$rc_stamp.unfused" ] || return 1
  [ -n "$rc_externals" ] || return 0
  if [ -n "$rc_base_flags" ]; then
    rc_ob=$rc_base_flags
  else
    # shellcheck disable=SC2086 # image names: one word each
    rc_ob=$(docker image inspect --format '{{if .Config}}{{if .Config.OnBuild}}onbuild{{end}}{{if index .Config "Shell"}} shell{{end}}{{end}}' -- $rc_externals 2>/dev/null) || return 1
  fi
  case $rc_ob in *onbuild*) return 1 ;; esac
  case $rc_hosted:$rc_ob in 1:*shell*) return 1 ;; esac
}

# rc_fused_build DOCKERFILE CONTEXT TARGET [LINE NAME]... -- [docker build options...]: the plan
# as one build (rc_fused): TARGET of the multi-stage DOCKERFILE, under BuildKit; each NAME (its
# TAG's LINE) recorded for rc_apply_tags, as the steps' TAGs are (all or nothing, a name docker
# refuses named with its line, --json's tag events). Sets rc_img.
rc_fused_build() {
  rc_fdf=$1 rc_fctx=$2
  set -- "$@" --target "$3"
  shift 3
  : > "$rc_tmp/tags.fused"
  rc_fnames=0 rc_fname='' rc_fline=''
  while [ "$1" != -- ]; do
    printf '%s 0 @ %s\n' "$1" "$2" >> "$rc_tmp/tags.fused"
    rc_fnames=$((rc_fnames + 1)) rc_fline=$1 rc_fname=$2
    shift 2
  done
  shift
  # A lone name is given by the build itself (`--tag=`: no `docker tag` after it, a docker call
  # less), still all or nothing: BuildKit names the image only once the whole build has
  # succeeded, and one name cannot be half applied. (Several names could be; and docker tag
  # refuses a digest, which a build's --tag is not asked to take.) rc_apply_tags reports it.
  rc_fused_tag=''
  if [ "$rc_fnames" = 1 ]; then
    case $rc_fname in *@*) ;; *) rc_fused_tag=$rc_fname; set -- "$@" "--tag=$rc_fname" ;; esac
  fi
  # No ONBUILD to fire here (rc_fuse_ok): the parent is for the size report only.
  rc_img=''
  rc_fuse_soft=1 rc_fuse_fell=0 rc_vertices=1
  # Its steps' live lines (rc_vertex_lines) stand for it.
  if [ -d "$rc_tmp/live" ]; then : > "$rc_tmp/live/$rc_step"; fi
  rc_build "$rc_fdf" "$rc_fctx" '' "$@"
  rc_fuse_soft=0 rc_vertices=0
  if [ "$rc_fuse_fell" = 1 ]; then
    rc_fused_tag=''
    return 0
  fi
  if [ -n "$rc_fused_tag" ]; then rc_tagged_by_build="$rc_img $rc_fused_tag"; fi
  rc_fused_tag=''
  # Each name's line with the image built in place of its `@`.
  while read -r rc_line rc_p rc_at rc_name; do
    printf '%s %s %s %s\n' "$rc_line" "$rc_p" "$rc_img" "$rc_name"
  done < "$rc_tmp/tags.fused" >> "$rc_tmp/tags"
}

# rc_vertex STAGE N WHERE WHAT: BuildKit's step N of the fused build's STAGE (`[STAGE N/M]`)
# does the Rockerfile instruction WHAT at WHERE (rc_vertex_lines shows it).
rc_vertex() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$rc_tmp/vertices"
}

# The fused build's output on stdin (BuildKit's plain progress: `#5 [build 3/4] RUN make`, its
# output as `#5 1.234 text`, then `#5 DONE 1.2s` or `#5 CACHED`): each step rc_vertex named is
# shown as a step of the script is, `[1/1] Rockerfile:8 RUN make`: a start line (plain), a live
# line with its last output line (the monitor: a file in live/ and the step's own log), and the
# finished line with BuildKit's time, or `(cached)`.
rc_vertex_lines() {
  rc_vlive=''
  if [ -d "$rc_tmp/live" ]; then rc_vlive="$rc_tmp/live"; fi
  # shellcheck disable=SC2016 # an awk program
  rc_awk_lines -v head="[$rc_step/$rc_steps]" -v clr="$rc_clr" -v mode="$rc_mode" -v live="$rc_vlive" \
    -v logs="$rc_tmp/vlog.$rc_step." -v step="$rc_step" -v table="$rc_tmp/vertices" '
    function now() { srand(); return srand() }
    function unlive(v) {
      if (live == "" || !(v in lf)) return
      printf "" > lf[v]
      close(lf[v])
    }
    BEGIN {
      while ((getline t < table) > 0) {
        split(t, f, "\t")
        k = f[1] SUBSEP f[2]
        if (k in what) {
          # A second instruction the same step does (an EXPORT whose check its RUN runs):
          # shown as done when the step is.
          nx[k]++
          xwhere[k, nx[k]] = f[3]
          xwhat[k, nx[k]] = f[4]
          continue
        }
        where[k] = f[3]
        what[k] = f[4]
      }
      close(table)
    }
    /^#[0-9]+ \[[^]]*[0-9]+\/[0-9]+\] / {
      v = substr($0, 2, index($0, " ") - 2)
      b = substr($0, index($0, "[") + 1)
      b = substr(b, 1, index(b, "]") - 1)
      k = b; sub(/\/.*/, "", k); sub(/.* /, "", k)
      st = ""; if (index(b, " ") > 0) { st = b; sub(/ [^ ]*$/, "", st) }
      if (!((st SUBSEP k) in what) || (v in vw)) next
      vw[v] = what[st SUBSEP k]; vat[v] = where[st SUBSEP k]; vk[v] = st SUBSEP k
      if (mode == "plain") { printf "%s%s %s %s ...\n", clr, head, vat[v], vw[v]; fflush() }
      if (live != "") {
        lf[v] = live "/" step "v" v
        printf "" > (logs v); close(logs v)
        printf "%s\t%s %s\t%s\t%s\n", now(), head, vat[v], vw[v], logs v > lf[v]
        close(lf[v])
      }
      next
    }
    /^#[0-9]+ [0-9]+\.[0-9]+ / {
      split($0, f, " ")
      v = substr(f[1], 2)
      if (!(v in lf) || (v in shown)) next
      line = $0; sub(/^#[0-9]+ [0-9]+\.[0-9]+ /, "", line)
      print line >> (logs v)
      close(logs v)
      next
    }
    /^#[0-9]+ (DONE [0-9.]+s|CACHED|ERROR.*)$/ {
      split($0, f, " ")
      v = substr(f[1], 2)
      if (!(v in vw) || (v in shown)) next
      shown[v] = 1
      unlive(v)
      if (f[2] ~ /^ERROR/) next
      printf "%s%s %s %s (%s)\n", clr, head, vat[v], vw[v], (f[2] == "CACHED" ? "cached" : f[3])
      for (i = 1; i <= nx[vk[v]]; i++)
        printf "%s%s %s %s (%s)\n", clr, head, xwhere[vk[v], i], xwhat[vk[v], i], (f[2] == "CACHED" ? "cached" : "done")
      fflush()
    }
    END { for (v in lf) unlive(v) }'
}

# Whether a failed fused build failed in one of its checks (lower::buildkit::plan_fused): a
# check's `rockerc-fuse-check: WHY` line, or a check stage that could not run at all (no
# /bin/sh, stat or find in the image at the EXPORT). Sets rc_fuse_why.
rc_fuse_check_failed() {
  rc_fuse_why=$(sed -n 's/^\(#[0-9]* [0-9.]* \)\{0,1\}rockerc-fuse-check: //p' "$rc_log" | head -n 1)
  [ -z "$rc_fuse_why" ] || return 0
  grep -q '^ > \[[^] ]*-fusecheck-[0-9][0-9-]* [0-9]*/[0-9]*\]' "$rc_log" || return 1
  rc_fuse_why="a check could not run in the image at an EXPORT"
}

# After a fused build's check failed (rc_fused): says so on one line, and the script builds
# step by step; the step numbers are the steps' again. Remembered beside the no-op stamp: this
# plan (the same script) builds step by step from now on, without the failed build's cost.
rc_unfuse() {
  case $rc_mode in
    plain|tty) : > "$rc_tmp/live/$rc_step" ;;
  esac
  rc_say "[$rc_step/$rc_steps] one BuildKit build would not give the same image ($rc_fuse_why): building step by step"
  rc_stamp_file
  { mkdir -p "${rc_stamp%/*}" && printf '%s\n' "$rc_fuse_why" > "$rc_stamp.unfused"; } 2>/dev/null || :
  rc_steps=$1 rc_img='' rc_fuse_fell=0 rc_subset_dir=
  # The steps number from 1 again: nothing of the fused step may be in their way.
  rm -rf "$rc_tmp/tags.fused" "$rc_tmp/sub.$rc_step" "$rc_tmp/iid.$rc_step"
}

# rc_volume_opts VOLUME DEST RO: sets rc_vopts, the quoted `docker run` options that mount VOLUME
# at DEST (read-only when RO is `,readonly`) without filling it from the image. podman's --mount
# has no volume-nocopy (it would fill the volume from the image): its -v has nocopy. (A MOUNT
# path never holds a ':', which -v could not take; volume names are rockerc's own.)
rc_volume_opts() {
  if [ "$rc_podman" = 1 ]; then
    rc_vopts="$(rc_q -v)$(rc_q "$1:$2:nocopy${3:+,ro}")"
  else
    rc_vopts="$(rc_q --mount)$(rc_q "type=volume,\"src=$(rc_csv "$1")\",\"dst=$(rc_csv "$2")\",volume-nocopy$3")"
  fi
}

# Mount specs, as the generated code passes them: `v DEST` (a volume named from the build id and
# DEST), `c SRC DEST OPTIONS WHERE` (a path in the build context, written relative to it) or
# `b SRC DEST OPTIONS WHERE` (any other host path); WHERE is the MOUNT's Rockerfile line.
# rc_mounts reads them up to `--` and sets rc_mount_opts (quoted `docker run` options),
# rc_links (file MOUNTs the RUN wrapper links in) and rc_shift (how many arguments it read).
rc_mounts() {
  rc_mount_opts='' rc_links='' rc_shift=0 rc_nfile=0 rc_rmt_dirs='' rc_rmt_files=
  while [ "$1" != -- ]; do
    case $1 in
      v)
        rc_volume_name "$2"
        rc_volume_opts "$rc_vol" "$2" ''
        rc_mount_opts="$rc_mount_opts$rc_vopts"
        shift 2
        rc_shift=$((rc_shift + 2))
        ;;
      b|c)
        rc_ro=
        case ",$4," in *,ro,*) rc_ro=,readonly ;; esac
        rc_host_path "$1" "$2" "$5" "${rc_ro:+read-only}"
        if rc_rmt_remote; then
          # An engine that cannot see this machine's files: remote.sh carries them.
          rc_rmt_mount "$1" "$3" "$rc_ro"
          shift 5
          rc_shift=$((rc_shift + 5))
          continue
        fi
        rc_src_csv=$(rc_csv "$rc_src")
        if [ -d "$rc_src" ] || [ "${rc_real_binds:-0}" = 1 ]; then
          rc_guard=
          if [ -z "$rc_ro" ] && [ -d "$rc_src" ]; then rc_git_guard "$rc_src" "$3"; fi
          rc_mount_opts="$rc_mount_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$rc_src_csv\",\"dst=$(rc_csv "$3")\"$rc_ro")$rc_guard"
        else
          # A file: bound under /dev (a tmpfs that is never committed) and linked into place by
          # the wrapper, so no placeholder for it is left in the image.
          rc_nfile=$((rc_nfile + 1))
          rc_mount_opts="$rc_mount_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$rc_src_csv\",dst=/dev/.rockerc-f$rc_nfile$rc_ro")"
          rc_links="$rc_links/dev/.rockerc-f$rc_nfile
$3
"
        fi
        shift 5
        rc_shift=$((rc_shift + 5))
        ;;
      *) rc_die "internal: bad mount spec $1" ;;
    esac
  done
}

# rc_hash TEXT: the first 128 bits of TEXT's SHA-256, in hex (what names made from a build id
# use; see rc_setup).
rc_hash() {
  printf '%s' "$1" | sha256sum | cut -c 1-32
}

# rc_mount_key MOUNTSPECS... -- ...: 128 bits of the SHA-256 of the resolved mount list (without the
# Rockerfile lines, so moving a MOUNT keeps the cache).
rc_mount_key() {
  rc_id_hash_set
  {
    printf '%s\n' "$rc_id_hash"
    while [ "$1" != -- ]; do
      case $1 in
        b|c) printf 'b\n%s\n%s\n%s\n' "$2" "$3" "$4"; shift 5 ;;
        *) printf '%s\n%s\n' "$1" "$2"; shift 2 ;;
      esac
    done
  } | sha256sum | cut -c 1-32
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

# The wrapper a MOUNTed RUN runs under when it has file MOUNTs, ARG values or secrets: the
# container's ENTRYPOINT, so that its CMD, which `docker commit` records as the history's
# "created by", is the RUN's command as a Dockerfile RUN records it. It links the files in,
# exports the ARGs, runs the command, and then takes away every trace of the links: the links,
# the folders it made for them (when the command left nothing in them), and the time the folder
# above them had (the layer then holds that folder unchanged).
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
rc_made= rc_kept= rc_n=0
if [ -f /dev/.rockerc/links ]; then
  while IFS= read -r rc_src && IFS= read -r rc_dst; do
    if [ -e "$rc_dst" ] || [ -L "$rc_dst" ]; then exit 121; fi
    # The folder that exists (its time is kept in a file under /dev/shm, never committed), and
    # the ones under it that do not, made here one at a time, outermost first.
    rc_up=${rc_dst%/*} rc_new=
    while [ -n "$rc_up" ] && [ ! -d "$rc_up" ]; do
      rc_new="$rc_up
$rc_new"
      rc_up=${rc_up%/*}
    done
    rc_n=$((rc_n + 1))
    if touch -r "${rc_up:-/}" "/dev/shm/.rockerc-time.$rc_n" 2>/dev/null; then
      # Last first: a later link's folder may have been changed by an earlier one's.
      rc_kept="$rc_n ${rc_up:-/}
$rc_kept"
    fi
    while IFS= read -r rc_dir; do
      [ -n "$rc_dir" ] || continue
      mkdir "$rc_dir" 2>/dev/null || exit 122
      rc_made="$rc_dir
$rc_made"
    done <<ROCKERC_DIRS
$rc_new
ROCKERC_DIRS
    ln -s "$rc_src" "$rc_dst" 2>/dev/null || exit 122
  done < /dev/.rockerc/links
fi
"$@"
rc_status=$?
if [ -f /dev/.rockerc/links ]; then
  while IFS= read -r rc_src && IFS= read -r rc_dst; do
    if [ -L "$rc_dst" ]; then rm -f "$rc_dst"; fi
  done < /dev/.rockerc/links
  # Innermost first; a folder the command wrote into stays.
  rc_left=0
  while IFS= read -r rc_dir; do
    [ -n "$rc_dir" ] || continue
    rmdir "$rc_dir" 2>/dev/null || rc_left=1
  done <<ROCKERC_DIRS
$rc_made
ROCKERC_DIRS
  while read -r rc_k rc_dir; do
    [ -n "$rc_k" ] || continue
    if [ "$rc_left" = 0 ]; then touch -r "/dev/shm/.rockerc-time.$rc_k" "$rc_dir" 2>/dev/null; fi
    rm -f "/dev/shm/.rockerc-time.$rc_k"
  done <<ROCKERC_DIRS
$rc_kept
ROCKERC_DIRS
fi
exit "$rc_status"
ROCKERC_WRAPPER
  chmod 755 "$rc_tmp/wrapper"
}

# rc_run KEY ENV MOUNTSPECS... -- COMMAND...: a RUN while MOUNTs are active, as `docker run` with
# the mounts plus `docker commit`. KEY is the compile-time part of the cache key (command, mount
# list, ARG values); with the parent image id it names a cache tag. ENV is the ARG values the
# command sees, one NAME=VALUE per line. Sets rc_img.
# Anyone who can reach the engine can compute that name and tag an image with it, labels and
# all, so a tag is trusted only when it is what rc_cache_entry makes: a child of the result
# (which the build then uses, without the label) whose label holds the parent image, the key,
# and a signature of those and of the result made with a key only this user (or whoever shares
# ROCKERC_CACHE_KEY with them) has.
rc_run() {
  rc_key=$1 rc_env=$2 rc_run_secrets=$3
  shift 3
  for rc_name in $rc_run_secrets; do
    eval "rc_set=\${$rc_name+x}"
    [ -n "$rc_set" ] || rc_fail "the secret $rc_name is not set: export $rc_name before running the script"
  done
  # Every host path is checked first, cached or not: whether a MOUNT may bind a path does not
  # depend on what an earlier build left.
  rc_mounts "$@"
  # The mount list as it resolves here (host paths after ~ and $VAR, volume names from the build
  # id) is part of the key: a fresh checkout elsewhere mounts other paths and must run again.
  rc_mkey=$(rc_mount_key "$@")
  rc_cache="rockerc-cache:${rc_img#sha256:}-$rc_key-$rc_mkey"
  rc_cache_label="$rc_img $rc_key $rc_mkey"
  rc_cache_key
  if [ "$rc_no_cache" = 0 ] && [ -n "$rc_sign_key" ] &&
    rc_hit=$(docker image inspect --format '{{.Parent}} {{if .Config.Labels}}{{index .Config.Labels "rockerc.cache"}}{{end}}' -- "$rc_cache" 2>/dev/null) &&
    [ -n "${rc_hit%% *}" ] && rc_hit_parent && [ "${rc_hit#* }" = "$rc_cache_label $(rc_sign "$rc_hit_img")" ]; then
    rc_img=$rc_hit_img
    rc_cached="cached, "
    printf '%s\n' "$rc_cache" >> "$rc_tmp/cache-tags"
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
  rc_rmt_run_done "$rc_rmt_ctr"
  rc_cache_entry
}

# Sets rc_hit_img, the image a cache entry is the child of, as the entry's signature has it: a
# build's --iidfile's id, which podman's inspect shows without its `sha256:`.
rc_hit_parent() {
  rc_hit_img=${rc_hit%% *}
  case $rc_podman$rc_hit_img in 1sha256:*) ;; 1*) rc_hit_img=sha256:$rc_hit_img ;; esac
}

# Records the result of a MOUNTed RUN as a cache entry: a child of it that holds the key
# (parent image, KEY, mount list) in a label, tagged with the cache name. A cache entry is an
# optimisation: when it cannot be made, the next build runs the step again.
rc_cache_entry() {
  [ -n "$rc_sign_key" ] || return 0
  printf 'FROM %s\nLABEL rockerc.cache="%s %s"\n' "$rc_img" "$rc_cache_label" "$(rc_sign "$rc_img")" > "$rc_tmp/cache.$rc_step.Dockerfile"
  # The legacy builder whatever builds the steps: the entry must be a child of the result.
  if DOCKER_BUILDKIT=0 docker build -q --force-rm --tag "$rc_cache" --file "$rc_tmp/cache.$rc_step.Dockerfile" "$rc_tmp/empty" >/dev/null 2>&1; then
    printf '%s\n' "$rc_cache" >> "$rc_tmp/cache-tags"
  fi
}

rc_run_once() {
  rc_mounts "$@"
  shift "$rc_shift"
  shift
  rc_n=$#
  rc_new_container
  rc_opts="$(rc_q run)$(rc_q --name)$(rc_q "$rc_ctr")$rc_mount_opts"
  rc_wrap='' rc_rmt_ctr=$rc_ctr rc_penv_path=''
  if [ "$rc_podman" = 1 ]; then
    rc_podman_env
    rc_opts="$rc_opts$rc_penv_opts"
  fi
  rc_rmt_send
  rc_rmt_writing
  if [ -n "$rc_links" ] || [ -n "$rc_env" ] || [ -n "$rc_run_secrets" ] || [ -n "$rc_penv_path" ]; then
    [ -f "$rc_tmp/wrapper" ] || rc_write_wrapper
    mkdir -p "$rc_tmp/run.$rc_step"
    printf '%s' "$rc_links" > "$rc_tmp/run.$rc_step/links"
    rc_arg_env > "$rc_tmp/run.$rc_step/env"
    if [ -n "$rc_penv_path" ]; then printf 'PATH=%s\n' "$rc_penv_path" >> "$rc_tmp/run.$rc_step/env"; fi
    # Secrets travel as files under /dev (a tmpfs Docker never commits); the container's USER
    # must read them, and $rc_tmp (mode 700) keeps other users of this machine out.
    for rc_name in $rc_run_secrets; do
      eval "printf '%s' \"\${$rc_name}\"" > "$rc_tmp/run.$rc_step/secret.$rc_name"
    done
    if [ "${rc_rmt_mode:-}" = remote ]; then
      rc_rmt_run_volume
    else
      rc_opts="$rc_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$(rc_csv "$rc_tmp/run.$rc_step")\",dst=/dev/.rockerc,readonly")"
      rc_opts="$rc_opts$(rc_q --mount)$(rc_q "type=bind,\"src=$(rc_csv "$rc_tmp/wrapper")\",dst=/dev/.rockerc-run,readonly")"
      rc_wrap=/dev/.rockerc-run
    fi
  fi
  # The command is the container's CMD, exactly: `docker commit` records it as the history's
  # "created by" (`/bin/sh -c npm install`, as a Dockerfile RUN has it).
  rc_opts="$rc_opts$(rc_q --entrypoint)$(rc_q "$rc_wrap")$(rc_q "$rc_img")"
  # Append the options after the command, then rotate the command's words to the end.
  eval "set -- \"\$@\" $rc_opts"
  while [ "$rc_n" -gt 0 ]; do
    set -- "$@" "$1"
    shift
    rc_n=$((rc_n - 1))
  done
  rc_run_status=0
  rc_logged docker "$@" || rc_run_status=$?
  # What the command wrote into MOUNTed folders on a remote engine, as a bind leaves it.
  case $rc_run_status in 121|122|125) ;; *) rc_rmt_bring ;; esac
  if [ "$rc_run_status" != 0 ]; then rc_rm_container; fi
}

# podman adds TERM and container=podman to a container's environment, and PATH where the
# image sets none, and its commit records them in the image (Docker adds PATH to the process
# only, the others not at all). Sets rc_penv_opts, options that leave out those the image's
# own ENV does not set, and rc_penv_path, PATH for the wrapper to export (a RUN has one, as
# under Docker) when the image sets none.
rc_podman_env() {
  rc_penv=$(docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$rc_img") || rc_penv=
  rc_penv_opts='' rc_penv_path=''
  for rc_pv in TERM container PATH; do
    case "
$rc_penv" in
      *"
$rc_pv="*) ;;
      *)
        rc_penv_opts="$rc_penv_opts$(rc_q --unsetenv)$(rc_q "$rc_pv")"
        if [ "$rc_pv" = PATH ]; then rc_penv_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; fi
        ;;
    esac
  done
}

# Sets rc_sign_key, what cache entries are signed with: ROCKERC_CACHE_KEY (a CI configuration
# may share one between its jobs), or a random key of this user's, made once (mode 600). With
# neither, nothing is cached.
rc_cache_key() {
  [ -z "${rc_sign_key+x}" ] || return 0
  rc_sign_key=${ROCKERC_CACHE_KEY:-}
  [ -z "$rc_sign_key" ] || return 0
  rc_keyfile="${XDG_CONFIG_HOME:-${HOME:-/nonexistent}/.config}/rockerc/cache-key"
  if [ ! -s "$rc_keyfile" ] && mkdir -p "${rc_keyfile%/*}" 2>/dev/null; then
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$rc_keyfile.$$" && mv "$rc_keyfile.$$" "$rc_keyfile") 2>/dev/null || :
  fi
  rc_sign_key=$(cat "$rc_keyfile" 2>/dev/null) || rc_sign_key=
}

# rc_sign RESULT: the signature of the current cache entry (rc_cache_label) and its result image.
rc_sign() {
  printf '%s\n%s\n%s\n' "$rc_sign_key" "$rc_cache_label" "$1" | sha256sum | cut -c 1-64
}

# Commits the RUN container with exactly the config a Dockerfile RUN leaves. `docker commit`
# keeps what `docker run` copied from the image, but the command would leak into Cmd (and the
# wrapper into Entrypoint), and Shell and OnBuild are not copied at all: put back the parent's
# CMD, ENTRYPOINT and ONBUILD as changes, and SHELL (which `commit --change` refuses) with a
# one-line build. A parent with neither CMD nor ENTRYPOINT needs that build too: only
# `ENTRYPOINT []` in a build clears Cmd.
rc_commit() {
  if [ "$rc_podman" = 1 ]; then
    rc_commit_podman
    return 0
  fi
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
  if [ -n "$rc_wrap" ] && [ "$rc_ep_json" = null ]; then
    # The wrapper was the ENTRYPOINT, and `docker commit` can set one but never clear one: a
    # commit of a container of the image created without one (it never runs; its layer is
    # empty, its history line blank) gives the image none, as its parent had.
    rc_new_container
    rc_docker create --name "$rc_ctr" --entrypoint '' "$rc_img" ''
    rc_img=$(docker commit "$@" "$rc_ctr") || rc_fail "docker commit failed"
    rc_rm_container_later
  fi
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

# The same with podman. Its commit (in Docker's format, which keeps Shell and OnBuild, and
# without its progress on stderr) also writes `Entrypoint: []` and `WorkingDir: /` where the
# image had none, and its run leaves the empty file it mounted /run/.containerenv on (Docker
# keeps such files in a layer it never commits). So the file is removed from the container's
# own layer first (never from the image's: the layer holds only what the container made), and
# a short build follows the commit: any instruction makes podman's build write the config as
# its builds do, and that build clears the ENTRYPOINT the run set (`ENTRYPOINT []` also clears
# Cmd, which CMD then puts back).
rc_commit_podman() {
  rc_cfg=$(docker image inspect --format '{{json .Config.Cmd}}
{{json .Config.Entrypoint}}' "$rc_img") || rc_fail "cannot inspect $rc_img"
  rc_cmd_json=$(printf '%s\n' "$rc_cfg" | sed -n 1p)
  rc_ep_json=$(printf '%s\n' "$rc_cfg" | sed -n 2p)
  rc_upper=$(docker container inspect --format '{{.GraphDriver.Data.UpperDir}}' -- "$rc_ctr" 2>/dev/null) || rc_upper=
  if [ -d "$rc_upper/run" ] && [ ! -L "$rc_upper/run" ] && [ -n "${rc_upper%%[!/]*}" ]; then
    if [ -f "$rc_upper/run/.containerenv" ] && [ ! -L "$rc_upper/run/.containerenv" ] && [ ! -s "$rc_upper/run/.containerenv" ]; then
      rm -f "$rc_upper/run/.containerenv"
    fi
  elif [ ! -d "$rc_upper" ]; then
    # A remote podman (podman --remote, a podman machine): its storage is not on this machine.
    rc_warn "step $rc_step: podman's container layer is not on this machine (a remote podman?): the empty /run/.containerenv its run made stays in the image"
  fi
  set -- --format docker --quiet
  if [ "$rc_cmd_json" != null ]; then set -- "$@" --change "CMD $rc_cmd_json"; fi
  if [ "$rc_ep_json" != null ]; then set -- "$@" --change "ENTRYPOINT $rc_ep_json"; fi
  rc_img=$(docker commit "$@" "$rc_ctr") || rc_fail "docker commit failed"
  rc_rm_container_later
  rc_fix=
  if [ "$rc_ep_json" = null ]; then
    # (podman records `--entrypoint ''` as [""]: the run always set one.)
    rc_fix="ENTRYPOINT []
"
    if [ "$rc_cmd_json" != null ]; then rc_fix="${rc_fix}CMD $rc_cmd_json
"; fi
  fi
  # shellcheck disable=SC2016 # a Dockerfile: Docker expands ${ROCKERC_FROM}
  printf 'ARG ROCKERC_FROM\nFROM ${ROCKERC_FROM}\n%sARG ROCKERC_FROM\n' "$rc_fix" > "$rc_tmp/fix.Dockerfile"
  rc_build "$rc_tmp/fix.Dockerfile" "$rc_tmp/empty" "$rc_img"
}

# A stage whose first step is not a build still owes its base image's ONBUILD triggers (Docker
# runs them at FROM): a build of a FROM-only Dockerfile runs them, when there are any.
rc_onbuild_triggers() {
  if rc_onbuild_reads_context "$rc_img"; then
    # shellcheck disable=SC2016 # a Dockerfile: Docker expands ${ROCKERC_FROM}
    printf 'ARG ROCKERC_FROM\nFROM ${ROCKERC_FROM}\n' > "$rc_tmp/onbuild.Dockerfile"
    rc_build "$rc_tmp/onbuild.Dockerfile" "$rc_context" "$rc_img"
  elif [ -n "$rc_triggers" ]; then
    # shellcheck disable=SC2016 # a Dockerfile: Docker expands ${ROCKERC_FROM}
    printf 'ARG ROCKERC_FROM\nFROM ${ROCKERC_FROM}\n' > "$rc_tmp/onbuild.Dockerfile"
    rc_build "$rc_tmp/onbuild.Dockerfile" "$rc_tmp/empty" "$rc_img"
  fi
}

# rc_onbuild_of IMAGE: IMAGE's ONBUILD triggers, one a line.
rc_onbuild_of() {
  if [ "$rc_podman" = 0 ]; then
    docker image inspect --format '{{range .Config.OnBuild}}{{println .}}{{end}}' -- "$1"
    return
  fi
  # podman's inspect does not show them. An image has triggers only where an ONBUILD made them,
  # and a Dockerfile's ONBUILD writes a history line: without one (nearly every image), none.
  # With one (they may have fired since), the config is read from the image's archive, which
  # costs a `docker save` of the image.
  rc_hist=$(docker image inspect --format '{{.Id}}{{range .History}} {{.CreatedBy}}{{end}}' -- "$1") || return 1
  case $rc_hist in
    *[Oo][Nn][Bb][Uu][Ii][Ll][Dd]*) ;;
    *) return 0 ;;
  esac
  rc_cfg_name="${rc_hist%% *}.json"
  rm -f "$rc_tmp/config.json"
  docker save -- "$1" 2>/dev/null | tar -xOf - "${rc_cfg_name#sha256:}" > "$rc_tmp/config.json" 2>/dev/null || :
  [ -s "$rc_tmp/config.json" ] || return 1
  # The strings of config.OnBuild, unescaped (JSON as Go writes it: \", \\ and \uXXXX).
  awk '{ text = text $0 "\n" }
    function str(   s, d, h) {
      s = ""
      while (i <= n) {
        d = substr(text, i, 1)
        if (d == "\"") { i++; return s }
        if (d == "\\") {
          d = substr(text, i + 1, 1)
          if (d == "u") {
            h = substr(text, i + 2, 4)
            s = s (h in hex ? hex[h] : "\\u" h)
            i += 6
            continue
          }
          s = s (d == "n" ? "\n" : d == "t" ? "\t" : d == "r" ? "\r" : d)
          i += 2
          continue
        }
        s = s d
        i++
      }
      return s
    }
    END {
      for (k = 32; k < 127; k++) hex[sprintf("%04x", k)] = sprintf("%c", k)
      n = length(text)
      i = index(text, "\"config\":{")
      if (!i) exit 1
      i += 10
      depth = 1
      while (i <= n && depth > 0) {
        c = substr(text, i, 1)
        if (c == "\"") {
          i++
          key = str()
          if (depth == 1 && key == "OnBuild" && substr(text, i, 2) == ":[") {
            i += 2
            while (i <= n && substr(text, i, 1) != "]") {
              if (substr(text, i, 1) == "\"") { i++; print str() } else i++
            }
            exit 0
          }
          continue
        }
        if (c == "{" || c == "[") depth++
        else if (c == "}" || c == "]") depth--
        i++
      }
    }' "$rc_tmp/config.json"
}

# rc_onbuild_reads_context IMAGE: sets rc_triggers to IMAGE's ONBUILD triggers, and says whether
# one of them is a COPY or ADD: it reads the build context as `docker build` sends it, all of it
# (the `*:onbuild` images' `ONBUILD COPY . /app`), so the build that fires them gets all of it,
# with the Dockerfile outside it, and all of it is an input of the no-op check.
rc_onbuild_reads_context() {
  rc_triggers=
  [ -n "$1" ] || return 1
  if ! rc_triggers=$(rc_onbuild_of "$1"); then
    if [ "$rc_podman" = 1 ]; then
      rc_fail "cannot read the ONBUILD triggers of $1: podman's \`image inspect\` does not show them, and they could not be read from \`docker save\` of it either; build FROM an image without ONBUILD, or with Docker"
    fi
    rc_fail "cannot inspect $1"
  fi
  case "
$rc_triggers" in
    *"
"[Cc][Oo][Pp][Yy][\ \	]*|*"
"[Aa][Dd][Dd][\ \	]*) ;;
    *) return 1 ;;
  esac
  : > "$rc_tmp/linked"
  return 0
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
  rc_rmt_send
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
  rc_link_times "$1" "$2"
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
      rc_link_times "$rc_xdir/$rc_i-contents" "$rc_t"
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

# ---- IMPORT: what `rsync -a SRC... DEST` left -----------------------------------------------
# Rocker ran rsync in a container of the image, the exports mounted beside it. The script works
# out the same result from what it can see: the export store on the host, and the image through
# `docker cp` of single paths (a probe reads the first entries, never a whole tree). It lays the
# result out under the absolute paths rsync wrote, in a tar that ADD extracts at `/` (Docker's
# extraction replaces a link or a file where a directory arrives and anything but a directory
# where a file arrives, as rsync does, and follows the links on the way as the kernel did for
# rsync); and where rsync failed, the build fails, naming the IMPORT's line. Nothing is ever
# written through a link that rsync would have replaced, and nothing rsync kept is deleted.

# rc_norm PATH: PATH made absolute, with `.`, `..` and repeated `/` taken out by name (as Docker
# cleans a destination); in rc_n.
rc_norm() {
  rc_n='' rc_r=$1
  while [ -n "$rc_r" ]; do
    rc_c=${rc_r%%/*}
    case $rc_r in */*) rc_r=${rc_r#*/} ;; *) rc_r= ;; esac
    case $rc_c in
      '' | .) ;;
      ..) rc_n=${rc_n%/*} ;;
      *) rc_n="$rc_n/$rc_c" ;;
    esac
  done
  if [ -z "$rc_n" ]; then rc_n=/; fi
}

# rc_store_path STORE PATH FOLLOW: the entry of the export store that PATH names, in rc_sp
# (relative; '' is the store itself). Links on the way are followed as the kernel followed them
# for Rocker's rsync (the last one too with FOLLOW 1, a `src/`), as long as they stay in the
# store: one that leads out (an absolute link, which pointed into the image Rocker's rsync ran
# in, or `..` above the store's root) is refused, and nothing is read through it on the host.
rc_store_path() {
  rc_sp='' rc_r=$2 rc_hops=0
  while [ -n "$rc_r" ]; do
    rc_c=${rc_r%%/*}
    case $rc_r in */*) rc_r=${rc_r#*/} ;; *) rc_r= ;; esac
    case $rc_c in
      '' | .) continue ;;
      ..)
        [ -n "$rc_sp" ] || rc_fail "$rc_what: the source ${2:-/} leads out of the export store (\`..\` above its root)"
        rc_sp=${rc_sp%/*}
        continue
        ;;
    esac
    if [ -L "$1$rc_sp/$rc_c" ] && { [ -n "$rc_r" ] || [ "$3" = 1 ]; }; then
      rc_hops=$((rc_hops + 1))
      [ "$rc_hops" -le 40 ] || rc_fail "$rc_what: the source ${2:-/}: too many levels of symbolic links in the export store"
      rc_t=$(readlink "$1$rc_sp/$rc_c") || rc_fail "$rc_what: cannot read the link ${rc_sp#/}/$rc_c in the export store"
      case $rc_t in
        /*) rc_fail "$rc_what: the source ${2:-/} passes through the symbolic link ${rc_sp#/}${rc_sp:+/}$rc_c -> $rc_t in the export store, which leads out of it; rockerc follows links there only as far as they stay in the store" ;;
      esac
      rc_r="$rc_t${rc_r:+/}$rc_r"
    else
      rc_sp="$rc_sp/$rc_c"
    fi
  done
  rc_sp=${rc_sp#/}
}

# rc_import_source: the host path of one IMPORT source ($rc_path, $rc_contents) in rc_hp, and
# its name in the destination in rc_sname; fails as rsync failed when it is missing or a `src/`
# that is not a directory.
rc_import_source() {
  rc_store_path "$rc_store" "$rc_path" "$rc_contents"
  rc_hp=$rc_store
  if [ -n "$rc_sp" ]; then rc_hp="$rc_store/$rc_sp"; fi
  [ -e "$rc_hp" ] || [ -L "$rc_hp" ] || rc_fail "$rc_what: ${rc_path:-/} is not in the export store (no EXPORT put it there)"
  if [ "$rc_contents" = 1 ] && { [ ! -d "$rc_hp" ] || [ -L "$rc_hp" ]; }; then
    rc_fail "$rc_what: ${rc_path:-/}/ is not a directory (rsync -a fails here)"
  fi
  rc_sname=${rc_sp##*/}
  if [ -z "$rc_sname" ]; then rc_sname=store; fi
}

# rc_probe PATH: what PATH is in the image (through the container rc_pctr, '' when there is no
# image yet), as lstat sees it, links on the way followed in the image: rc_pk is none, dir, full
# (a directory with entries), link (its target in rc_pl) or file (anything else).
rc_probe() {
  rc_pk=none rc_pl=''
  if [ "$1" = / ]; then
    rc_pk=full
    return 0
  fi
  [ -n "$rc_pctr" ] || return 0
  # `docker cp` streams the path itself first, then a directory's entries: two are enough.
  docker cp "$rc_pctr:$1" - 2>/dev/null | head -c 8192 > "$rc_tmp/probe.$rc_step.tar"
  tar -tvf "$rc_tmp/probe.$rc_step.tar" > "$rc_tmp/probe.$rc_step.list" 2>/dev/null || :
  case $(head -c 1 "$rc_tmp/probe.$rc_step.list") in
    '') ;;
    d)
      rc_pk=dir
      if [ -n "$(sed -n 2p "$rc_tmp/probe.$rc_step.list")" ]; then rc_pk=full; fi
      ;;
    l)
      rc_pk='link'
      rm -rf "$rc_tmp/probe.$rc_step.d"
      mkdir "$rc_tmp/probe.$rc_step.d"
      tar -xf "$rc_tmp/probe.$rc_step.tar" -C "$rc_tmp/probe.$rc_step.d" 2>/dev/null || :
      for rc_c in "$rc_tmp/probe.$rc_step.d"/* "$rc_tmp/probe.$rc_step.d"/.[!.]* "$rc_tmp/probe.$rc_step.d"/..?*; do
        if [ -L "$rc_c" ]; then rc_pl=$(readlink "$rc_c"); fi
      done
      rm -rf "$rc_tmp/probe.$rc_step.d"
      ;;
    *) rc_pk='file' ;;
  esac
}

# rc_image_dest PATH: where PATH leads in the image, links followed as stat follows them: rc_dp
# the path, rc_dk what is there (none, dir, full, file, or loop); rc_dlink is 1 when PATH itself
# is a link (rc_dl its target).
rc_image_dest() {
  rc_dp=$1 rc_dlink=0 rc_dl='' rc_hops=0
  while :; do
    rc_probe "$rc_dp"
    [ "$rc_pk" = link ] || break
    if [ "$rc_hops" = 0 ]; then rc_dlink=1 rc_dl=$rc_pl; fi
    rc_hops=$((rc_hops + 1))
    if [ "$rc_hops" -gt 40 ]; then
      rc_pk=loop
      break
    fi
    case $rc_pl in
      /*) rc_norm "$rc_pl" ;;
      *) rc_norm "${rc_dp%/*}/$rc_pl" ;;
    esac
    rc_dp=$rc_n
  done
  rc_dk=$rc_pk
}

# rc_stage_copy SRC DST: `cp -PRp`, links' own times included (BusyBox's cp gives a link the
# time of the copy, which would change the tar at every build and defeat the layer cache).
rc_stage_copy() {
  cp -PRp "$1" "$2" || rc_fail "cannot prepare the $rc_what"
  rc_link_times "$1" "$2"
}

# rc_link_times SRC DST: gives the links under DST (a copy of SRC) their own times in SRC, where
# `cp -p` does not (BusyBox).
rc_link_times() {
  if [ -z "${rc_gnu_cp:-}" ]; then
    if cp --version 2>/dev/null | grep -q 'GNU'; then rc_gnu_cp=1; else rc_gnu_cp=0; fi
  fi
  [ "$rc_gnu_cp" = 0 ] || return 0
  find "$2" -type l -exec sh -c 'src=$1 dst=$2; shift 2; for f; do if [ -L "$src${f#"$dst"}" ]; then touch -h -d "@$(stat -c %Y "$src${f#"$dst"}")" "$f"; fi; done' sh "$1" "$2" {} +
}

# rc_merge SRC DST: adds SRC to the staged tree as DST, keeping what rsync's file list keeps of
# two entries with one name: a directory over a non-directory, else the first one; two
# directories are merged (the first one's mode and times).
rc_merge() {
  if [ ! -e "$2" ] && [ ! -L "$2" ]; then
    rc_stage_copy "$1" "$2"
  elif [ -d "$2" ] && [ ! -L "$2" ]; then
    if [ -d "$1" ] && [ ! -L "$1" ]; then
      rc_mcount=$((rc_mcount + 1))
      set -- "$1" "$2" "$rc_tmp/mtime.$rc_step.$rc_mcount"
      touch -r "$2" "$3"
      for rc_c in "$1"/* "$1"/.[!.]* "$1"/..?*; do
        [ -e "$rc_c" ] || [ -L "$rc_c" ] || continue
        rc_merge "$rc_c" "$2/${rc_c##*/}"
      done
      touch -r "$3" "$2"
      rm -f "$3"
    fi
  elif [ -d "$1" ] && [ ! -L "$1" ]; then
    rm -f "$2"
    rc_stage_copy "$1" "$2"
  fi
}

# rc_collide IMAGEPATH STAGED: rsync -a never deletes a directory that has entries to put a
# non-directory there (it fails, code 23): neither does the build. Looks only where the image
# has a directory the staged one merges into. With rc_clear 1 (an IMPORT into a MOUNT, which
# `docker cp` writes and which never replaces a directory by a non-directory or the reverse),
# it removes in the host directory what rsync replaced there: a link or a file where a
# directory arrives, an empty directory where a non-directory does.
rc_collide() {
  rc_probe "$1"
  if [ -d "$2" ] && [ ! -L "$2" ]; then
    case $rc_pk in
      full)
        for rc_c in "$2"/* "$2"/.[!.]* "$2"/..?*; do
          [ -e "$rc_c" ] || [ -L "$rc_c" ] || continue
          rc_collide "$1/${rc_c##*/}" "$rc_c"
        done
        ;;
      link | file) if [ "$rc_clear" = 1 ]; then rc_host_remove "$1"; fi ;;
    esac
  else
    case $rc_pk in
      full) rc_fail "$rc_what: rsync -a cannot delete the directory $1, which has entries, to put a file there (it fails, code 23); neither does rockerc" ;;
      dir) if [ "$rc_clear" = 1 ]; then rc_host_remove "$1"; fi ;;
    esac
  fi
}

# rc_import_plan STORE DEST WORKDIR LINE PATH CONTENTS...: works out what `rsync -a SRC... DEST`
# leaves (SRC each PATH in the store, a `src/` when CONTENTS is 1) and lays it out in rc_stage
# under the absolute paths it writes; rc_members are the tar's members (quoted), rc_tdir the
# directory everything goes into ('' when the one source becomes DEST), rc_new 1 when rsync
# creates it. Fails where rsync failed.
rc_import_plan() {
  rc_store=$1 rc_dest=$2 rc_twd=$3 rc_what="IMPORT at $rc_rockerfile:$4"
  shift 4
  case $rc_dest in
    /*) rc_abs=$rc_dest ;;
    *)
      if [ -n "$rc_twd" ]; then rc_wd=$rc_twd; else rc_workdir; fi
      rc_abs="${rc_wd%/}/$rc_dest"
      ;;
  esac
  # A destination written as a directory (`dir/`, `.`) must be one, or is created as one.
  rc_asdir=0
  case /$rc_dest in */ | */. | */..) rc_asdir=1 ;; esac
  rc_norm "$rc_abs"
  rc_abs=$rc_n
  # More than one entry in rsync's file list (several sources, or a directory with entries)
  # makes DEST a directory; one directory cannot replace a non-directory.
  rc_multi=0 rc_onedir=0 rc_odd=1
  if [ $# -gt 2 ]; then rc_multi=1; fi
  for rc_a in "$@"; do
    if [ "$rc_odd" = 1 ]; then
      rc_path=$rc_a rc_odd=0
      continue
    fi
    rc_contents=$rc_a rc_odd=1
    rc_import_source
    if [ $# = 2 ] && [ -d "$rc_hp" ] && [ ! -L "$rc_hp" ]; then
      rc_onedir=1
      if [ -n "$(ls -A "$rc_hp")" ]; then rc_multi=1; fi
    fi
  done
  rc_image_dest "$rc_abs"
  rc_tdir='' rc_new=0
  case $rc_dk in
    dir | full) rc_tdir=$rc_dp ;;
    none)
      if [ "$rc_multi" = 1 ] || [ "$rc_asdir" = 1 ]; then
        if [ "$rc_dlink" = 1 ]; then
          rc_fail "$rc_what: $rc_abs is a symbolic link to $rc_dl, which does not exist in the image; rsync -a fails here (mkdir: File exists, code 11), and rockerc never writes through a link"
        fi
        rc_tdir=$rc_abs rc_new=1
      fi
      ;;
    loop) rc_fail "$rc_what: $rc_abs: too many levels of symbolic links in the image (rsync -a fails here)" ;;
    *)
      if [ "$rc_multi" = 1 ]; then
        rc_fail "$rc_what: $rc_abs is not a directory in the image, and more than one file goes there; rsync -a fails here (destination must be a directory, code 3)"
      elif [ "$rc_onedir" = 1 ]; then
        rc_fail "$rc_what: $rc_abs is not a directory in the image; rsync -a fails here (cannot overwrite non-directory with a directory, code 3)"
      elif [ "$rc_asdir" = 1 ]; then
        rc_fail "$rc_what: $rc_dest names a directory, and $rc_abs is not one in the image; rsync -a fails here (code 3)"
      fi
      ;;
  esac
  rc_nstage=$((rc_nstage + 1))
  rc_stage="$rc_tmp/stage.$rc_step.$rc_nstage"
  mkdir "$rc_stage"
  if [ -z "$rc_tdir" ]; then
    # One file, link or empty directory becomes DEST, replacing what is there.
    rc_path=$1 rc_contents=$2
    rc_import_source
    mkdir -p "$rc_stage${rc_abs%/*}"
    rc_stage_copy "$rc_hp" "$rc_stage$rc_abs"
    rc_members=$(rc_q ".$rc_abs")
    return 0
  fi
  rc_st="$rc_stage${rc_tdir%/}"
  mkdir -p "$rc_st"
  rc_attr='' rc_odd=1
  for rc_a in "$@"; do
    if [ "$rc_odd" = 1 ]; then
      rc_path=$rc_a rc_odd=0
      continue
    fi
    rc_contents=$rc_a rc_odd=1
    rc_import_source
    if [ "$rc_contents" = 1 ]; then
      # The first `src/` gives the destination directory its mode and times.
      if [ -z "$rc_attr" ]; then rc_attr=$rc_hp; fi
      for rc_item in "$rc_hp"/* "$rc_hp"/.[!.]* "$rc_hp"/..?*; do
        [ -e "$rc_item" ] || [ -L "$rc_item" ] || continue
        rc_merge "$rc_item" "$rc_st/${rc_item##*/}"
      done
    else
      rc_merge "$rc_hp" "$rc_st/$rc_sname"
    fi
  done
  if [ "$rc_new" = 0 ]; then
    for rc_item in "$rc_st"/* "$rc_st"/.[!.]* "$rc_st"/..?*; do
      [ -e "$rc_item" ] || [ -L "$rc_item" ] || continue
      rc_collide "${rc_tdir%/}/${rc_item##*/}" "$rc_item"
    done
  fi
  rc_members=
  if [ -n "$rc_attr" ]; then
    # Five octal digits: GNU chmod keeps a directory's setgid bit otherwise.
    chmod "00$(stat -c %a "$rc_attr")" "$rc_st"
    touch -r "$rc_attr" "$rc_st"
    rc_members=$(rc_q ".$rc_tdir")
  else
    for rc_item in "$rc_st"/* "$rc_st"/.[!.]* "$rc_st"/..?*; do
      [ -e "$rc_item" ] || [ -L "$rc_item" ] || continue
      rc_members="$rc_members$(rc_q ".${rc_tdir%/}/${rc_item##*/}")"
    done
  fi
}

# rc_import_pack TAR: the staged tree's members in TAR. Hard links become separate files (rsync
# -a has no -H; a directory keeps its time). GNU tar: owners root whoever runs the script,
# members in name order. Other tars (BusyBox): members listed in byte order, one by one; owners
# the files have (the script's user's, root where it runs as root). Either way the same bytes
# every time, so Docker's layer cache holds.
rc_import_pack() {
  find "$rc_stage" -type f -links +1 -exec sh -c 'for f; do d=${f%/*}; touch -r "$d" "$0"; cp -p "$f" "$f.rockerc-unlinked" && mv -f "$f.rockerc-unlinked" "$f"; touch -r "$0" "$d"; done' "$rc_tmp/dirtime.$rc_step" {} +
  if [ -z "${rc_gnu_tar:-}" ]; then
    if tar --version 2>/dev/null | grep -q 'GNU tar'; then rc_gnu_tar=1; else rc_gnu_tar=0; fi
  fi
  if [ "$rc_gnu_tar" = 1 ]; then
    eval "tar --numeric-owner --owner=0 --group=0 --sort=name -cf \"\$1\" -C \"\$rc_stage\" $rc_members" || rc_fail "cannot write the tar of the $rc_what"
  else
    rc_sorted=$(eval "cd \"\$rc_stage\" && find $rc_members" | LC_ALL=C sort | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/" | tr '\n' ' ')
    eval "tar --numeric-owner --no-recursion -cf \"\$1\" -C \"\$rc_stage\" $rc_sorted" || rc_fail "cannot write the tar of the $rc_what"
  fi
  rm -rf "$rc_stage"
}

# rc_import_tar STORE TAR DEST WORKDIR LINE -- PATH CONTENTS...: one IMPORT into the image: its
# plan (rc_import_plan), probed in a container of the image so far, packed in TAR for
# `ADD TAR /`.
rc_import_tar() {
  rc_itar=$2
  rc_pctr=
  if [ -n "$rc_img" ]; then
    rc_new_container
    rc_docker create --name "$rc_ctr" "$rc_img" /rockerc-import-never-runs
    rc_pctr=$rc_ctr
  fi
  rc_a1=$1 rc_a3=$3 rc_a4=$4 rc_a5=$5
  shift 6
  rc_import_plan "$rc_a1" "$rc_a3" "$rc_a4" "$rc_a5" "$@"
  rc_import_pack "$rc_itar"
  if [ -n "$rc_pctr" ]; then rc_rm_container_later; fi
}

# rc_import_mount STORE DEST LINE MOUNTSPECS... -- PATH CONTENTS...: an IMPORT into a MOUNTed
# directory writes there, as Rocker's rsync did: the same plan, probed in a container that has
# the stage's MOUNTs, and the tar extracted into it by `docker cp`, which follows the mounts.
rc_import_mount() {
  rc_istore=$1 rc_idest=$2 rc_iline=$3
  shift 3
  rc_real_binds=1
  rc_mounts "$@"
  # Where each bind's destination is on the host, for what rsync replaced there.
  rc_binds=
  while [ "$1" != -- ]; do
    case $1 in
      b | c)
        rc_host_path "$1" "$2" "$5" ''
        rc_binds="$rc_binds$3
$rc_src
"
        shift 5
        ;;
      *) shift 2 ;;
    esac
  done
  shift
  rc_rmt_send
  rc_rmt_writing
  rc_new_container
  eval "rc_docker create --name \"\$rc_ctr\" $rc_mount_opts \"\$rc_img\" /rockerc-import-never-runs"
  rc_pctr=$rc_ctr
  rc_import_plan "$rc_istore" "$rc_idest" '' "$rc_iline" "$@"
  if [ "$rc_new" = 0 ] && [ -n "$rc_tdir" ]; then
    rc_clear=1
    for rc_item in "$rc_st"/* "$rc_st"/.[!.]* "$rc_st"/..?*; do
      [ -e "$rc_item" ] || [ -L "$rc_item" ] || continue
      rc_collide "${rc_tdir%/}/${rc_item##*/}" "$rc_item"
    done
    rc_clear=0
  elif [ -z "$rc_tdir" ]; then
    # One entry becomes DEST: what is there goes, unless it is a directory (it is not: rsync
    # puts the entry inside one).
    rc_probe "$rc_abs"
    case $rc_pk in link | file) rc_host_remove "$rc_abs" ;; esac
  fi
  rc_into=/
  if [ "$rc_podman" = 1 ]; then rc_import_into_bind; fi
  rc_import_pack "$rc_tmp/import.$rc_step.tar"
  docker cp - "$rc_ctr:$rc_into" < "$rc_tmp/import.$rc_step.tar" > "$rc_log" 2>&1 || rc_fail "docker cp exited with an error"
  rm -f "$rc_tmp/import.$rc_step.tar"
  rc_rmt_bring
  rc_rm_container_later
}

# podman's cp writes through a bind mount only when it copies into the mount's own path (into
# `/` it writes the container's layer, which nobody sees): the tar is made relative to the
# MOUNT's destination that holds the IMPORT's (rc_binds), and copied there (sets rc_into).
rc_import_into_bind() {
  rc_bd=''
  while IFS= read -r rc_hd && IFS= read -r rc_hs; do
    [ -n "$rc_hd" ] || continue
    rc_norm "$rc_hd"
    case ${rc_tdir:-$rc_abs}/ in
      "$rc_n"/*) if [ "${#rc_n}" -gt "${#rc_bd}" ]; then rc_bd=$rc_n; fi ;;
    esac
  done <<ROCKERC_BINDS
$rc_binds
ROCKERC_BINDS
  case $rc_bd in '' | /) return 0 ;; esac
  if [ -z "$rc_tdir" ]; then
    [ "$rc_abs" != "$rc_bd" ] || return 0
    rc_members=$(rc_q "./${rc_abs#"$rc_bd"/}")
  elif [ -n "$rc_attr" ]; then
    if [ "${rc_tdir%/}" = "$rc_bd" ]; then rc_members=$(rc_q .); else rc_members=$(rc_q "./${rc_tdir#"$rc_bd"/}"); fi
  else
    rc_members=
    rc_rel=
    if [ "${rc_tdir%/}" != "$rc_bd" ]; then rc_rel="${rc_tdir#"$rc_bd"/}"; rc_rel="${rc_rel%/}/"; fi
    for rc_item in "$rc_st"/* "$rc_st"/.[!.]* "$rc_st"/..?*; do
      [ -e "$rc_item" ] || [ -L "$rc_item" ] || continue
      rc_members="$rc_members$(rc_q "./$rc_rel${rc_item##*/}")"
    done
  fi
  rc_stage="$rc_stage$rc_bd"
  rc_into=$rc_bd/
}

# rc_host_remove PATH: removes the entry at PATH (in the container of rc_import_mount) from the
# host directory bound there, never following a link: rsync replaced it.
rc_host_remove() {
  rc_hbest='' rc_hsrc=''
  while IFS= read -r rc_hd && IFS= read -r rc_hs; do
    rc_norm "$rc_hd"
    case $1 in
      "$rc_n"/*)
        if [ "${#rc_n}" -gt "${#rc_hbest}" ]; then rc_hbest=$rc_n rc_hsrc=$rc_hs; fi
        ;;
    esac
  done <<ROCKERC_BINDS
$rc_binds
ROCKERC_BINDS
  [ -n "$rc_hsrc" ] || rc_fail "$rc_what: rsync -a would replace $1, which is not in a host directory; \`docker cp\` cannot (a directory and a non-directory)"
  rc_h="$rc_hsrc/${1#"$rc_hbest"/}"
  if [ -d "$rc_h" ] && [ ! -L "$rc_h" ]; then rmdir "$rc_h"; else rm -f "$rc_h"; fi || rc_fail "$rc_what: cannot remove $rc_h, which rsync -a would replace"
}

# rc_tag LINE NAME PUSH: records a TAG or PUSH of the current image. Tags are applied (and
# pushes made) only after every stage has succeeded, so a failed build leaves the old images in
# place. LINE is the TAG's Rockerfile line: stages that build at the same time record their
# tags in any order, and they are applied in file order.
rc_tag() {
  printf '%s %s %s %s\n' "$1" "$3" "$rc_img" "$2" >> "$rc_tmp/tags"
}

# Applies the tags all or nothing: first what each name is now (which also shows any name
# docker refuses, before one tag has moved), then the tags; if docker still refuses one, those
# already moved go back. A name always follows `--`: docker never reads one as an option.
# What a name was is only needed to put it back when something after its tag fails (another
# tag, a push): a lone tag and no push is `docker tag` alone, whose own refusal then moved
# nothing; several names are asked in one call when all are there (a rebuild), else one by one.
rc_apply_tags() {
  rc_step=tags rc_step_where='' rc_step_what="TAG/PUSH" rc_log="$rc_tmp/log.tags"
  [ -s "$rc_tmp/tags" ] || return 0
  rc_nt=0 rc_before=0 rc_names=
  while read -r rc_line rc_p rc_id rc_name; do
    rc_nt=$((rc_nt + 1)) rc_names="$rc_names $rc_name"
    if [ "$rc_p" = 1 ] && [ "$rc_push" = 1 ]; then rc_before=1; fi
  done < "$rc_tmp/tags"
  # (sort is a process: one line is in order.)
  rc_sorted="$rc_tmp/tags"
  if [ "$rc_nt" -gt 1 ]; then
    rc_before=1 rc_sorted="$rc_tmp/tags.sorted"
    sort -n "$rc_tmp/tags" > "$rc_sorted"
  fi
  : > "$rc_tmp/tags.before"
  if [ "$rc_before" = 1 ]; then rc_tags_before; fi
  : > "$rc_tmp/tags.done"
  while read -r rc_line rc_p rc_id rc_name; do
    if [ "$rc_id $rc_name" = "${rc_tagged_by_build:-}" ]; then
      # The fused build gave it (rc_fused_build).
      :
    elif ! docker tag -- "$rc_id" "$rc_name" > "$rc_log" 2>&1; then
      if [ "$rc_before" = 0 ] && grep -q -i 'invalid reference format\|not a valid' "$rc_log"; then
        rc_die "TAG at $rc_rockerfile:$rc_line: docker refuses the name $rc_name (invalid reference format); no tag was applied"
      fi
      sed -n '1,3s/^/  /p' "$rc_log" >&2
      # (rc_untag reads names into rc_name.)
      rc_refused=$rc_name
      rc_untag
      rc_die "TAG at $rc_rockerfile:$rc_line: docker refused the name $rc_refused; every tag is where it was"
    fi
    printf '%s\n' "$rc_name" >> "$rc_tmp/tags.done"
    if [ "$rc_json" = 1 ]; then rc_json event tag name "$rc_name" image "$rc_id" line# "$rc_line"; fi
  done < "$rc_sorted"
  # The lines without their Rockerfile line (what `cut -d ' ' -f 2-` gave, without the process).
  rc_rest=
  while read -r rc_line rc_r; do
    rc_rest="$rc_rest$rc_r
"
  done < "$rc_sorted"
  printf '%s' "$rc_rest" > "$rc_tmp/tags"
  rc_pushed=
  while read -r rc_p rc_id rc_name; do
    [ "$rc_p" = 1 ] || continue
    if [ "$rc_push" = 1 ]; then
      rc_say "pushing $rc_name"
      if ! docker push -- "$rc_name" > "$rc_log" 2>&1; then
        # A failed build leaves the previous images under their names: a push is part of it.
        rc_failed=$rc_name
        rc_untag
        if [ -n "$rc_pushed" ]; then rc_note "already pushed before that (the registry keeps them):$rc_pushed"; fi
        rc_fail "cannot push $rc_failed; every local tag is back where it was"
      fi
      rc_pushed="$rc_pushed $rc_name"
      if [ "$rc_json" = 1 ]; then
        rc_digest=$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' "$rc_log" | tail -n 1)
        rc_json event push name "$rc_name" image "$rc_id" pushed# true digest "$rc_digest"
      fi
    else
      rc_say "not pushing $rc_name (pass --push to push)"
      if [ "$rc_json" = 1 ]; then rc_json event push name "$rc_name" image "$rc_id" pushed# false; fi
    fi
  done < "$rc_tmp/tags"
}

# What each name of $rc_sorted is now, in $rc_tmp/tags.before (`ID NAME`, or `- NAME` for a new
# one), before any tag moves; stops at a name docker refuses, naming its TAG line.
rc_tags_before() {
  if [ "$rc_nt" -gt 1 ]; then
    # shellcheck disable=SC2086 # image names: one word each
    if docker image inspect --format '{{.Id}}' -- $rc_names > "$rc_tmp/tags.ids" 2>/dev/null; then
      rc_k=0
      while IFS= read -r rc_old; do rc_k=$((rc_k + 1)); done < "$rc_tmp/tags.ids"
      if [ "$rc_k" = "$rc_nt" ]; then
        # The answers are in the order asked: the file's order, not the sorted one.
        while IFS= read -r rc_old <&3 && read -r rc_line rc_p rc_id rc_name; do
          printf '%s %s\n' "$rc_old" "$rc_name" >> "$rc_tmp/tags.before"
        done 3< "$rc_tmp/tags.ids" < "$rc_tmp/tags"
        return 0
      fi
    fi
  fi
  while read -r rc_line rc_p rc_id rc_name; do
    if rc_old=$(docker image inspect --format '{{.Id}}' -- "$rc_name" 2> "$rc_log"); then
      printf '%s %s\n' "$rc_old" "$rc_name" >> "$rc_tmp/tags.before"
    elif grep -q -i 'invalid reference format\|not a valid' "$rc_log"; then
      rc_die "TAG at $rc_rockerfile:$rc_line: docker refuses the name $rc_name (invalid reference format); no tag was applied"
    else
      printf -- '- %s\n' "$rc_name" >> "$rc_tmp/tags.before"
    fi
  done < "$rc_sorted"
}

# Puts the names tagged so far back where they were (a name that was new is removed again).
rc_untag() {
  while IFS= read -r rc_name; do
    while read -r rc_old rc_was; do
      [ "$rc_was" = "$rc_name" ] || continue
      if [ "$rc_old" = - ]; then
        docker image rm --no-prune -- "$rc_name" >/dev/null 2>&1 || :
      else
        docker tag -- "$rc_old" "$rc_name" >/dev/null 2>&1 || :
      fi
      break
    done < "$rc_tmp/tags.before"
  done < "$rc_tmp/tags.done"
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
  rc_rmt_send
  rc_rmt_writing
  docker "$@" || rc_warn "the ATTACH shell exited with status $?"
  rc_rmt_bring
  rc_rmt_drop_volumes
}

rc_report() {
  rc_monitor_stop
  rc_final_id=
  { IFS= read -r rc_final_id || :; } < "$rc_tmp/img/$rc_final"
  case $rc_mode in
    quiet) printf '%s\n' "$rc_final_id" 2>/dev/null ;;
    json)
      rc_secs=$(rc_elapsed "$rc_t0")
      rc_json event result image "$rc_final_id" up_to_date# false seconds# "${rc_secs%s}"
      ;;
    *)
      if [ -s "$rc_tmp/ids" ]; then rc_size_table; fi
      printf '\nbuilt in %s\n' "$(rc_elapsed "$rc_t0")"
      # What scripts around Rocker read (and `docker build` printed): the final image's id.
      printf 'Successfully built %s\n' "$rc_final_id"
      ;;
  esac
}

# rc_noop MESSAGE: the no-op path's report: MESSAGE, and the final image's id, which the
# fingerprint has just checked (the stamp lists it first).
rc_noop() {
  rc_final_id=${rc_print%% *}
  # podman's inspect shows ids without `sha256:`; a build reports them with it (its --iidfile).
  case $rc_final_id in '' | sha256:*) ;; *) rc_final_id=sha256:$rc_final_id ;; esac
  case $rc_mode in
    quiet) printf '%s\n' "$rc_final_id" 2>/dev/null ;;
    json) rc_json event result image "$rc_final_id" up_to_date# true seconds# 0 ;;
    *) rc_say "$1" && rc_say "Successfully built $rc_final_id" ;;
  esac
  exit 0
}

# The images the size table shows: each step's parent and result, and every image tagged, once
# each, in $rc_tmp/ids and as the words of rc_report_words (in the shell: five processes were a
# measurable part of a build's end).
rc_report_ids() {
  : > "$rc_tmp/ids"
  rc_report_words=
  case $rc_mode in quiet|json) return 0 ;; esac
  [ -s "$rc_tmp/steps" ] || [ -s "$rc_tmp/tags" ] || return 0
  rc_seen='
' rc_tab='	'
  if [ -f "$rc_tmp/steps" ]; then
    # STEP, PARENT, IMAGE, WHERE, tab-separated (PARENT may be empty: no IFS splitting).
    while IFS= read -r rc_l; do
      rc_l=${rc_l#*"$rc_tab"}
      rc_report_id "${rc_l%%"$rc_tab"*}"
      rc_l=${rc_l#*"$rc_tab"}
      rc_report_id "${rc_l%%"$rc_tab"*}"
    done < "$rc_tmp/steps"
  fi
  # `NAME PUSH IMAGE` (rc_apply_tags).
  while read -r rc_p rc_id rc_name; do rc_report_id "$rc_id"; done < "$rc_tmp/tags"
  printf '%s' "${rc_seen#?}" > "$rc_tmp/ids"
}

rc_report_id() {
  [ -n "$1" ] || return 0
  case $rc_seen in *"
$1
"*) return 0 ;; esac
  rc_seen="$rc_seen$1
"
  rc_report_words="$rc_report_words $1"
}

# What each step added to its parent image, and the size of every image tagged (Rocker printed
# these; users watch them). The sizes come from rc_write_stamp's inspect when it could ask for
# them, otherwise from one `docker image inspect` for all of them.
rc_size_table() {
  : >> "$rc_tmp/steps"
  if [ ! -f "$rc_tmp/sizes" ]; then
    # shellcheck disable=SC2086 # image ids: one word each
    docker image inspect --format '{{.Id}} {{.Size}}' -- $rc_report_words > "$rc_tmp/sizes" 2>/dev/null || :
  fi
  awk -F '\t' -v sizes="$rc_tmp/sizes" -v tags="$rc_tmp/tags" '
    function human(n,   u, i, s) {
      s = n < 0 ? "-" : "+"; if (n < 0) n = -n
      split("B kB MB GB TB", u, " "); i = 1
      while (n >= 1000 && i < 5) { n /= 1000; i++ }
      return sprintf(i == 1 ? "%s%d %s" : "%s%.1f %s", s, n, u[i])
    }
    # An id with or without its `sha256:` (podman leaves it out of inspect, not of --iidfile).
    function id(s) { sub(/^sha256:/, "", s); return s }
    BEGIN { while ((getline l < sizes) > 0) { split(l, f, " "); size[id(f[1])] = f[2] } }
    { if (!header++) printf "\n%-6s %12s  %s\n", "STEP", "ADDED", "WHERE"
      printf "%-6s %12s  %s\n", $1, human(size[id($3)] - size[id($2)]), $4 }
    END {
      n = 0
      while ((getline l < tags) > 0) {
        split(l, f, " ")
        if (!n++) printf "\n%-56s %10s\n", "IMAGE", "SIZE"
        printf "%-56s %10s\n", f[3], substr(human(size[id(f[2])]), 2)
      }
    }' "$rc_tmp/steps"
}

# rc_level STAGE...: builds stages that do not need each other, at most $rc_jobs_max at a time.
# Each runs in a subshell in the background; the main shell `wait`s for them (a trapped signal
# interrupts `wait` at once). A failing stage has printed its error; the others are stopped by
# the cleanup.
rc_level() {
  if [ $# -gt 1 ] && [ -z "$rc_jobs_max" ]; then
    # Asked only here, by the main shell (rc_main calls rc_level): a no-op run, or a plan built
    # in one piece, must not pay for the process.
    rc_jobs_max=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || rc_jobs_max=2
  fi
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
  # Its clients, stopped with TERM, outlive it (a `docker run` client ends when its container
  # is removed): the main shell's cleanup kills those still there after the containers are gone.
  trap 'if [ -n "$rc_jobs" ]; then kill $rc_jobs 2>/dev/null; printf "%s\n" $rc_jobs >> "$rc_tmp/strays" 2>/dev/null; fi; exit 143' TERM
  # shellcheck disable=SC2086 # a list of process ids
  trap 'if [ -n "$rc_jobs" ]; then kill $rc_jobs 2>/dev/null; fi; exit 141' PIPE
  # POSIX sh has no `wait -n`: a failing stage tells the main shell at once, whichever stage
  # it is waiting for. Not when the temporary directory is gone: the main shell has ended (or
  # was killed, and its process id may belong to another process by now).
  trap 'if [ "$?" != 0 ] && [ -d "$rc_tmp" ]; then kill -USR1 "$rc_main_pid" 2>/dev/null; fi' EXIT
  "rc_stage_$1"
  # shellcheck disable=SC2086 # a list of process ids
  if [ -n "$rc_removers" ]; then wait $rc_removers || :; fi
}

# The no-op fast path. After a successful build the script writes a stamp. It is named from the
# plan's checksum (fixed at compile time: any change to the Rockerfile or the options starts
# over), in a directory named after the build context's physical path, so that two checkouts,
# or a --context pointed elsewhere, never share one; the stamp says the build id and the context
# again. It holds how the inputs looked, the ids of the images the stages produced, and a
# fingerprint: the ids of the FROM images and of every image the build produced or tagged, and
# the environment values MOUNT sources read.
# The inputs are the paths the COPY/ADD read in the context, and its .dockerignore (after a
# build that followed a link in the context, all of the context: a link may lead anywhere in
# it). Any change to a file shows in its ctime, which nothing sets back (`tar -x`, `cp -p`,
# `rsync -a` and `git checkout` set an old mtime, not an old ctime). Where find(1) has -cnewer
# (GNU), the next run asks for anything with an mtime or ctime after the stamp, whose mtime is
# the time the build started (rc_inputs_at_start): a change made while the build ran is newer.
# Elsewhere (BusyBox) the stamp holds a checksum of every input's name, inode, size, mode, mtime
# and ctime (nanoseconds) taken when the build started, written only if it is still the same
# when the build ends, and the next run takes it again. A file added or removed changes its
# directory, an input that is gone makes find fail, and a .dockerignore that came or went is
# seen. The next run checks all that with no temporary directory and a few processes (find, or
# find, stat and cksum) and one docker call.
rc_stamp_file() {
  rc_stamp="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/rockerc/stamps$rc_context/$rc_plan_hash"
}

# rc_fingerprint IMAGE...: sets rc_print, the fingerprint of these images as they are now.
rc_fingerprint() {
  rc_ids=$(docker image inspect --format '{{.Id}}' -- "$@" 2>/dev/null) || return 1
  # shellcheck disable=SC2086 # joins the ids into one line
  set -- $rc_ids
  rc_env_inputs
  rc_print="$* $rc_envs"
}

# rc_inputs_now METHOD SCOPE: sets rc_inputs, the stamp's line about the inputs: `METHOD SCOPE
# IGNORE [CHECKSUM]`, IGNORE 1 when the context has a .dockerignore. Fails when a directory
# above a named input has become a link (Docker would read elsewhere now).
rc_inputs_now() {
  rc_di=0
  if [ -e "$rc_context/.dockerignore" ] || [ -L "$rc_context/.dockerignore" ]; then rc_di=1; fi
  rc_inputs="$1 $2 $rc_di"
  if [ "$2" = listed ] && rc_input_dirs_linked "$rc_context"; then return 1; fi
  if [ "$1" = stat ]; then
    rc_sum=$(cd "$rc_context" && rc_inputs_find "$2" "$rc_di" -exec stat -c '%n %i %s %f %y %z' {} + 2>/dev/null | sha256sum) || return 1
    rc_inputs="$rc_inputs ${rc_sum%% *}"
  fi
}

# rc_inputs_find SCOPE IGNORE EXPRESSION...: find(1) over the inputs, run in the context.
rc_inputs_find() {
  rc_scope=$1 rc_di=$2
  shift 2
  if [ "$rc_scope" = all ]; then
    find . "$@"
  elif [ "$rc_di" = 1 ]; then
    rc_find_inputs ./.dockerignore "$@"
  else
    rc_find_inputs "$@"
  fi
}

# Before any step reads the inputs: the time the build started ($rc_tmp/t0, which the stamp
# gets as its mtime), and where find(1) has no -cnewer, the inputs' checksum (rc_inputs_now),
# which must still be the same when the build ends. A stamp must say what the build read, not
# what the inputs became while it ran (an editor's save, a MOUNTed RUN that writes the context).
rc_inputs_at_start() {
  : > "$rc_tmp/t0"
  rc_stamp_method=none rc_inputs_start=
  if find "$rc_tmp/empty" -prune -cnewer "$rc_tmp/empty" >/dev/null 2>&1; then
    rc_stamp_method=newer
  elif stat -c %n "$rc_tmp/empty" >/dev/null 2>&1; then
    rc_stamp_method=stat
    if [ "$rc_reads_context" = 1 ]; then
      if rc_inputs_now stat "$rc_inputs_scope"; then rc_inputs_start=$rc_inputs; else rc_stamp_method=none; fi
    fi
  fi
}

rc_up_to_date() {
  [ "$rc_no_cache$rc_pull$rc_attach$rc_push" = 0000 ] && [ -z "$rc_cache_to$rc_cache_from" ] || return 1
  rc_stamp_file
  [ -f "$rc_stamp" ] || return 1
  { IFS= read -r rc_was_id && IFS= read -r rc_was_context && IFS= read -r rc_was_inputs &&
    IFS= read -r rc_built && IFS= read -r rc_was && rc_read_stamp_urls; } < "$rc_stamp" || return 1
  [ "$rc_was_id" = "$rc_build_id" ] && [ "$rc_was_context" = "$rc_context" ] || return 1
  # (A build that reads no context by its Rockerfile may have read it all: an ONBUILD COPY.)
  if [ "$rc_reads_context" = 1 ] || [ "$rc_was_inputs" != - ]; then
    # shellcheck disable=SC2086 # the stamp's words
    set -- $rc_was_inputs
    [ $# -ge 3 ] || return 1
    rc_inputs_now "$1" "$2" || return 1
    [ "$rc_inputs" = "$rc_was_inputs" ] || return 1
    if [ "$1" = newer ]; then
      rc_newer=$(cd "$rc_context" && rc_inputs_find "$2" "$3" \( -newer "$rc_stamp" -o -cnewer "$rc_stamp" \) -print 2>/dev/null) || return 1
      [ -z "$rc_newer" ] || return 1
    fi
  fi
  # shellcheck disable=SC2086 # image ids and names: one word each
  rc_fingerprint $rc_built $rc_fast_images || return 1
  [ "$rc_print" = "$rc_was" ] || return 1
  # Last: a request over the network for each URL an ADD downloads.
  rc_urls_unchanged
}

# The stamp's lines after the fifth: one per URL an ADD downloads (see rc_url_check).
rc_read_stamp_urls() {
  rc_stamp_urls=
  while IFS= read -r rc_l; do
    rc_stamp_urls="$rc_stamp_urls$rc_l
"
  done
}

rc_write_stamp() {
  rc_stamp_file
  # The subsets are copies: nothing in them is an input. (Only a checksum of the inputs, taken
  # where find(1) has no -cnewer, could meet them: a TMPDIR inside the context.)
  if [ "$rc_stamp_method" = stat ]; then rm -rf "$rc_tmp"/sub.*; fi
  # The final image first: the no-op path reports its id. (What `cat | tr '\n' ' '` gave: each
  # file is one line.)
  rc_built=
  for rc_f in "$rc_tmp/img/$rc_final" "$rc_tmp"/img/stage.*; do
    [ -f "$rc_f" ] || continue
    rc_l=
    { IFS= read -r rc_l || :; } < "$rc_f"
    rc_built="$rc_built$rc_l "
  done
  if [ -s "$rc_tmp/runtags" ]; then
    # Images only a per-run tag holds are gone after the cleanup: the fingerprint has those the
    # build keeps (the tagged ones, by name, are in it anyway). The final image is kept (rc_keep_final).
    cut -d ' ' -f 1 "$rc_tmp/runtags" > "$rc_tmp/runtag-ids"
    rc_built="$(cat "$rc_tmp/img/$rc_final") $(cat "$rc_tmp"/img/stage.* | grep -v -x -F -f "$rc_tmp/runtag-ids" | tr '\n' ' ')" || :
  fi
  rc_report_ids
  # One docker call for the fingerprint and the report's sizes; the first $# lines are the
  # fingerprint's images, in order. In the background: the Rockerfile's checksum meanwhile.
  # shellcheck disable=SC2086 # image ids and names: one word each
  set -- $rc_built $rc_fast_images
  # shellcheck disable=SC2086 # image ids: one word each
  docker image inspect --format '{{.Id}} {{.Size}}' -- "$@" $rc_report_words > "$rc_tmp/sizes" 2>/dev/null &
  rc_sizes_pid=$!
  rc_jobs="${rc_jobs:-} $rc_sizes_pid"
  rc_sizes_ok=1
  # A Rockerfile edited while the build ran: no stamp, so that the next run looks at it again
  # (and, as before any image was asked about, no size table).
  if ! rc_sources; then
    wait "$rc_sizes_pid" || :
    rc_unjob "$rc_sizes_pid"
    : > "$rc_tmp/ids"
    return 0
  fi
  wait "$rc_sizes_pid" || rc_sizes_ok=0
  rc_unjob "$rc_sizes_pid"
  if [ "$rc_sizes_ok" = 1 ]; then
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
  rc_inputs=-
  # A link followed in the context, or a base image's ONBUILD COPY/ADD: all of it was read.
  if [ -f "$rc_tmp/linked" ]; then rc_reads_context=1; fi
  if [ "$rc_reads_context" = 1 ]; then
    rc_scope=$rc_inputs_scope
    if [ -f "$rc_tmp/linked" ]; then rc_scope=all; fi
    case $rc_stamp_method in
      newer) rc_inputs_now newer "$rc_scope" || return 0 ;;
      stat)
        # Changed since the build started: what it read is not what is there now.
        if [ -n "$rc_inputs_start" ]; then
          rc_inputs_now stat "$rc_inputs_scope" || return 0
          [ "$rc_inputs" = "$rc_inputs_start" ] || return 0
        fi
        if [ "$rc_scope" != "$rc_inputs_scope" ] || [ -z "$rc_inputs_start" ]; then
          # A link led elsewhere in the context: all of it counts, and none of it may have
          # been written since the start.
          rc_newer=$(cd "$rc_context" && find . -newer "$rc_tmp/t0" 2>/dev/null | sed -n 1p)
          [ -z "$rc_newer" ] || return 0
          rc_inputs_now stat all || return 0
        fi
        ;;
      *) return 0 ;;
    esac
  fi
  rc_url_lines=
  if [ -n "$rc_urls" ]; then
    # What the URLs served while the build ran: without an answer from each, no stamp.
    wait "$rc_url_pid" 2>/dev/null || :
    rc_jobs=${rc_jobs% " $rc_url_pid"}
    [ -f "$rc_tmp/urls" ] || return 0
    rc_url_lines=$(cat "$rc_tmp/urls")
  fi
  case $rc_build_id$rc_print in *'
'*) return 0 ;; esac
  case $rc_context in *'
'*) return 0 ;; esac
  # A stamp is an optimisation: when it cannot be written, the next run simply builds. Its
  # mtime is the time the build started, which the next run's -newer/-cnewer compares with: an
  # input changed after that (after a step read it, say) is newer than the stamp.
  if { [ -d "${rc_stamp%/*}" ] || mkdir -p "${rc_stamp%/*}" 2>/dev/null; } &&
    printf '%s\n%s\n%s\n%s\n%s\n%s' "$rc_build_id" "$rc_context" "$rc_inputs" "$rc_built" "$rc_print" "${rc_url_lines:+$rc_url_lines
}" > "$rc_stamp.$$" 2>/dev/null; then
    if touch -r "$rc_tmp/t0" "$rc_stamp.$$" 2>/dev/null; then
      mv "$rc_stamp.$$" "$rc_stamp" 2>/dev/null || rm -f "$rc_stamp.$$"
    else
      rm -f "$rc_stamp.$$"
    fi
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

# ---- ADD <url>: whether what a URL serves has changed ----
# The no-op path is only as good as its proof that nothing changed, and an ADD'ed URL is an
# input like a file: every run asks each URL. The stamp keeps, per URL, the SHA-256 of what it
# served and the validators that came with it: a strong ETag, and a Last-Modified at least two
# seconds older than the response's Date (one from the same second as the request could be
# followed by another change in that second, which the server's whole-second comparison would
# miss). With a strong ETag a HEAD request is the whole check, as Rocker made it: the same ETag
# is unchanged, and nothing is downloaded, neither by the next run nor by the build beside
# Docker's own download (a server counting downloads sees one per build, as with Rocker). With
# a Last-Modified only, the next run asks with If-Modified-Since: 304 is unchanged; anything else
# is downloaded and its checksum compared. A URL that sends neither is not recorded: the next
# run builds, and Docker downloads it once and keeps the layer when its checksum is the same.
# With neither curl nor wget (GNU or BusyBox), nothing can be asked, and the script builds.

# Sets rc_fetch: curl, wget, or '' when there is neither.
rc_url_tool() {
  if command -v curl >/dev/null 2>&1; then
    rc_fetch=curl
  elif command -v wget >/dev/null 2>&1; then
    rc_fetch=wget
  else
    rc_fetch=
  fi
}

# rc_url_get URL DIR [HEADER...]: GETs URL (redirects followed) into DIR/body, the response
# headers into DIR/head. Returns the tool's status.
rc_url_get() {
  rc_u=$1 rc_ud=$2
  shift 2
  rm -f "$rc_ud/body" "$rc_ud/head"
  if [ "${rc_url_method:-GET}" = HEAD ]; then
    # HEAD: headers only (GNU wget's --spider asks with HEAD; BusyBox's with a GET whose body
    # it does not read).
    if [ "$rc_fetch" = curl ]; then
      curl -sS -I -L --max-redirs 10 --connect-timeout 20 -D "$rc_ud/head" -o /dev/null -- "$rc_u" 2>/dev/null
    else
      wget -q -S --spider "$rc_u" 2> "$rc_ud/head"
    fi
    return
  fi
  if [ "$rc_fetch" = curl ]; then
    rc_n=$#
    while [ "$rc_n" -gt 0 ]; do
      set -- "$@" -H "$1"
      shift
      rc_n=$((rc_n - 1))
    done
    curl -sS -L --max-redirs 10 --connect-timeout 20 -D "$rc_ud/head" -o "$rc_ud/body" "$@" -- "$rc_u" 2>/dev/null
  else
    rc_n=$#
    while [ "$rc_n" -gt 0 ]; do
      set -- "$@" --header "$1"
      shift
      rc_n=$((rc_n - 1))
    done
    # wget -S prints the headers of every response (redirects too) on stderr. (No -T: BusyBox
    # 1.35's wget crashes with it.)
    wget -q -S -O "$rc_ud/body" "$@" "$rc_u" 2> "$rc_ud/head"
  fi
}

# rc_url_answer DIR: rc_url_head's four lines (status, ETag, Last-Modified, whether that
# Last-Modified is old enough to trust) into rc_code, rc_etag, rc_lm and rc_lm_seen.
rc_url_answer() {
  {
    IFS= read -r rc_code
    IFS= read -r rc_etag
    IFS= read -r rc_lm
    IFS= read -r rc_lm_seen
  } <<ROCKERC_URL
$(rc_url_head "$1")
ROCKERC_URL
}

# rc_url_head DIR: prints, from DIR/head, the last response's status, then its strong ETag and
# its Last-Modified when they can be trusted ('-' otherwise), one per line.
rc_url_head() {
  awk '
    function epoch(s,   a, n, mon, m, d, y) {
      n = split(s, a, /[ ,:]+/)
      if (n < 7) return -1
      mon = index("JanFebMarAprMayJunJulAugSepOctNovDec", a[3])
      if (!mon) return -1
      m = (mon + 2) / 3; d = a[2] + 0; y = a[4] + 0
      if (m <= 2) { y--; m += 12 }
      return (365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + d - 719469) * 86400 + a[5] * 3600 + a[6] * 60 + a[7]
    }
    { sub(/\r$/, ""); sub(/^ +/, "") }
    /^HTTP\// { split($0, f, " "); status = f[2]; etag = lm = date = ""; next }
    {
      i = index($0, ":")
      if (!i) next
      name = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1)
      sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
      if (name == "etag") etag = v
      else if (name == "last-modified") lm = v
      else if (name == "date") date = v
    }
    END {
      if (etag == "" || etag ~ /^W\// || etag ~ /\t/) etag = "-"
      l = epoch(lm); t = epoch(date)
      seen = (lm == "" ? 0 : 1)
      if (lm == "" || lm ~ /\t/ || l < 0 || t < 0 || t - l < 2) lm = "-"
      print (status == "" ? "-" : status); print etag; print lm; print seen
    }' "$1/head" 2>/dev/null
}

# rc_url_check URL OLD DIR: asks URL whether it still serves what OLD (a stamp line: URL, SHA,
# ETAG, LAST-MODIFIED, tab-separated; '' when there is none) describes, with DIR for the
# download. Sets rc_url_line to the line that describes it now; returns 0 when it is unchanged.
rc_url_check() {
  rc_url_line='' rc_old_line=$2
  rc_old_url='' rc_old_sha=- rc_old_etag=- rc_old_lm=-
  if [ -n "$rc_old_line" ]; then
    IFS='	' read -r rc_old_url rc_old_sha rc_old_etag rc_old_lm <<ROCKERC_URL
$rc_old_line
ROCKERC_URL
  fi
  set -- "$1" "$3"
  [ "$rc_old_url" = "$1" ] || rc_old_sha=- rc_old_etag=- rc_old_lm=-
  if [ "$rc_old_etag" != - ] || [ "${rc_url_probe:-0}" = 1 ]; then
    # A strong ETag: HEAD tells. The same one is unchanged; another (or none) is a change,
    # unless a checksum was recorded to compare a download with.
    rc_url_status=0
    rc_url_method=HEAD
    rc_url_get "$@" || rc_url_status=$?
    rc_url_method=GET
    rc_url_answer "$2"
    if [ "$rc_url_status" = 0 ] && [ "$rc_code" = 200 ] && [ "$rc_etag" != - ]; then
      rc_url_line="$1	-	$rc_etag	$rc_lm"
      [ "$rc_etag" != "$rc_old_etag" ] || return 0
      [ "$rc_old_sha" != - ] && [ "${rc_url_probe:-0}" = 0 ] || return 1
    elif [ "${rc_url_probe:-0}" = 1 ] && { [ "$rc_url_status" != 0 ] || [ "$rc_code" != 200 ] || [ "$rc_lm_seen" != 1 ]; }; then
      # Recording, and no validator to check it by next time (or no answer): not recorded. (A
      # Last-Modified too young to trust is downloaded below: its checksum is the record.)
      return 1
    fi
    rc_old_etag=-
  fi
  if [ "$rc_old_lm" != - ]; then set -- "$@" "If-Modified-Since: $rc_old_lm"; fi
  rc_url_status=0
  rc_url_get "$@" || rc_url_status=$?
  rc_url_answer "$2"
  # A 304 answers only a conditional request.
  if [ "$rc_code" = 304 ] && [ $# -gt 2 ]; then
    rc_url_line=$rc_old_line
    return 0
  fi
  [ "$rc_url_status" = 0 ] && [ "$rc_code" = 200 ] && [ -f "$2/body" ] || return 1
  rc_sha=$(sha256sum < "$2/body" | cut -c 1-64) || return 1
  rc_url_line="$1	$rc_sha	$rc_etag	$rc_lm"
  [ "$rc_sha" = "$rc_old_sha" ]
}

# rc_url_old URL: sets rc_url_was, the stamp's line for URL ('' when it has none).
rc_url_old() {
  rc_url_was=
  [ -n "${rc_stamp_urls:-}" ] || return 0
  while IFS= read -r rc_l; do
    case $rc_l in "$1	"*) rc_url_was=$rc_l; return 0 ;; esac
  done <<ROCKERC_URL
$rc_stamp_urls
ROCKERC_URL
}

# Whether every URL the ADDs download serves what the stamp (rc_stamp_urls) recorded. A URL the
# script cannot ask about (written with a variable: Docker expands it) has always changed.
rc_urls_unchanged() {
  [ -n "$rc_urls" ] || return 0
  rc_url_tool
  [ -n "$rc_fetch" ] || return 1
  case $rc_urls in *'$'*) return 1 ;; esac
  rc_udir=$(mktemp -d "${TMPDIR:-/tmp}/rockerc-url.XXXXXX") || return 1
  rc_url_same=0
  while IFS= read -r rc_url; do
    [ -n "$rc_url" ] || continue
    rc_url_old "$rc_url"
    if [ -z "$rc_url_was" ] || ! rc_url_check "$rc_url" "$rc_url_was" "$rc_udir"; then
      rc_url_same=1
      break
    fi
  done <<ROCKERC_URL
$rc_urls
ROCKERC_URL
  rm -rf "$rc_udir"
  return "$rc_url_same"
}

# Run in the background while the build runs: what each URL serves now, for the stamp (written
# to $rc_tmp/urls when every URL answered; without it no stamp is written). The request is
# conditional on the last stamp's validators, so an unchanged URL is not downloaded again.
rc_urls_record() {
  rc_url_tool
  [ -n "$rc_fetch" ] || return 0
  case $rc_urls in *'$'*) return 0 ;; esac
  mkdir "$rc_tmp/url"
  : > "$rc_tmp/urls.new"
  while IFS= read -r rc_url; do
    [ -n "$rc_url" ] || continue
    rc_url_old "$rc_url"
    # HEAD first: a URL with a strong ETag is recorded without a download of its own.
    rc_url_probe=1
    rc_url_check "$rc_url" "$rc_url_was" "$rc_tmp/url" || :
    [ -n "$rc_url_line" ] || return 0
    printf '%s\n' "$rc_url_line" >> "$rc_tmp/urls.new"
  done <<ROCKERC_URL
$rc_urls
ROCKERC_URL
  rm -rf "$rc_tmp/url"
  mv "$rc_tmp/urls.new" "$rc_tmp/urls"
}

# ---- Progress while a step runs ----
# Each running step has a file in $rc_tmp/live (its start time, its progress label, its log),
# written by rc_step and emptied by rc_done. One process, started by rc_setup when it builds,
# looks at them once a second: with `--progress plain` it prints a heartbeat line for a step that
# has run another ROCKERC_HEARTBEAT seconds (30 by default), with the last line of its output; on
# a terminal (`tty`) it draws one line per running step (parallel stages each have theirs) with
# the step's Rockerfile lines, its elapsed time and its last line of output, in place. Its
# cursor rests at the top of those lines, and everyone else who writes to the terminal starts
# with "clear to the end of the screen" (rc_clr), so a finished step's line replaces them, and
# the next drawing goes below it. A build whose steps all take less than a second never sees
# either; the process costs one fork, and one `date` a second while a step runs.

# rc_progress_mode: decides rc_mode for a build (rc_parse_args set plain, quiet or json).
rc_progress_mode() {
  [ "$rc_mode" = plain ] || return 0
  rc_heartbeat=${ROCKERC_HEARTBEAT:-30}
  case $rc_heartbeat in ''|*[!0-9]*|0) rc_heartbeat=30 ;; esac
  # Streaming everything (-v) and an interactive ATTACH own the terminal: plain lines only.
  case $rc_progress in
    tty) rc_mode='tty' ;;
    auto) if [ "$rc_verbose" = 0 ] && [ "$rc_attach" = 0 ] && [ -t 1 ] && rc_ansi_ok; then rc_mode='tty'; fi ;;
  esac
  if [ "$rc_verbose" = 1 ] || [ "$rc_attach" = 1 ]; then rc_mode=plain; fi
  if [ "$rc_mode" = tty ]; then
    rc_esc=$(printf '\033')
    rc_clr="${rc_esc}[J"
    if [ -t 2 ]; then rc_clr_err=$rc_clr; fi
    rc_dim='' rc_undim=''
    if [ -z "${NO_COLOR:-}" ]; then rc_dim="${rc_esc}[2m" rc_undim="${rc_esc}[0m"; fi
    rc_cols=${COLUMNS:-}
    case $rc_cols in ''|*[!0-9]*) rc_cols=$(tput cols 2>/dev/null) || rc_cols=80 ;; esac
    case $rc_cols in ''|*[!0-9]*|?) rc_cols=80 ;; esac
  fi
}

# Whether the terminal takes "cursor up" and "clear to the end of the screen": what terminfo says
# where tput is there, the terminals known to take ANSI's otherwise.
rc_ansi_ok() {
  case ${TERM:-dumb} in dumb|unknown|'') return 1 ;; esac
  if command -v tput >/dev/null 2>&1; then
    tput cuu1 >/dev/null 2>&1 && tput ed >/dev/null 2>&1
    return
  fi
  case $TERM in
    xterm*|screen*|tmux*|vt1[0-9][0-9]*|vt2[0-9][0-9]*|linux|rxvt*|ansi*|alacritty*|foot*|kitty*|wezterm*|konsole*|st-*|cygwin|putty*) return 0 ;;
  esac
  return 1
}

# Whether the build shows live lines (plain and tty): rc_setup makes $rc_tmp/live for them.
rc_monitor_wanted() {
  case $rc_mode in plain|tty) ;; *) return 1 ;; esac
  # --cache-ls and --cache-prune run no steps.
  [ -z "${rc_cache_cmd:-}" ]
}

rc_monitor_start() {
  rc_monitor_wanted || return 0
  rc_monitor &
  rc_monitor_pid=$!
}

# Stops the monitor (it clears its lines first) and waits for it, 2 s at most: a monitor blocked
# writing to a terminal or a pipe that nobody reads does not run its TERM trap, and must not
# hang the build's end or its cleanup; it is killed instead.
rc_monitor_stop() {
  [ -n "${rc_monitor_pid:-}" ] || return 0
  kill "$rc_monitor_pid" 2>/dev/null || :
  rc_bounded_wait 2 "$rc_monitor_pid" || :
  rc_monitor_pid=
}

rc_monitor() {
  trap - EXIT
  # Ctrl-C reaches the whole process group: the main shell's cleanup stops this one.
  trap '' INT HUP
  rc_sleep_pid='' rc_drawn=0
  trap 'if [ -n "$rc_sleep_pid" ]; then kill "$rc_sleep_pid" 2>/dev/null; fi; if [ "$rc_drawn" = 1 ]; then printf "%s" "$rc_clr" 2>/dev/null; fi; exit 0' TERM
  while :; do
    # In the background and waited for: TERM interrupts `wait` at once, not `sleep`.
    sleep 1 &
    rc_sleep_pid=$!
    wait "$rc_sleep_pid" || :
    rc_sleep_pid=
    [ -d "$rc_tmp/live" ] || exit 0
    # The script was killed (SIGKILL, its cleanup never ran): nothing will stop this process,
    # which holds the script's stdout and stderr (a `$(sh build.sh)` or `rockerc build` reading
    # them would wait for ever).
    kill -0 "$rc_main_pid" 2>/dev/null || exit 0
    rc_monitor_tick
  done
}

rc_monitor_tick() {
  rc_now_s='' rc_frame='' rc_nlines=0
  for rc_f in "$rc_tmp/live"/*; do
    [ -s "$rc_f" ] || continue
    IFS='	' read -r rc_t0 rc_label rc_what rc_flog < "$rc_f" || continue
    [ -n "$rc_now_s" ] || rc_now_s=$(date +%s)
    rc_el=$((rc_now_s - ${rc_t0%%.*}))
    if [ "$rc_mode" = plain ]; then
      rc_k=${rc_f##*/} rc_hb=0
      eval "rc_hb=\${rc_hb_$rc_k:-0}"
      if [ "$rc_el" -ge $(((rc_hb + 1) * rc_heartbeat)) ]; then
        eval "rc_hb_$rc_k=$((rc_el / rc_heartbeat))"
        rc_line=$(rc_last_line "$rc_flog" | rc_fit 200)
        printf '%s %s: running for %ss%s\n' "$rc_label" "$rc_what" "$rc_el" "${rc_line:+: $rc_line}" 2>/dev/null || exit 0
      fi
    else
      # One column less than the width: a full line wraps on some terminals.
      rc_line=$(rc_last_line "$rc_flog" | rc_fit "$((rc_cols - 1))" "$rc_label ${rc_el}s" "$rc_what")
      rc_frame="$rc_frame$rc_dim$rc_line$rc_undim
"
      rc_nlines=$((rc_nlines + 1))
    fi
  done
  if [ "$rc_mode" = tty ]; then
    if [ "$rc_nlines" -gt 0 ]; then
      # Drawn below, then back to the top of the lines.
      printf '\r%s%s%s[%sA' "$rc_clr" "$rc_frame" "$rc_esc" "$rc_nlines" 2>/dev/null || exit 0
      rc_drawn=1
    elif [ "$rc_drawn" = 1 ]; then
      printf '%s' "$rc_clr" 2>/dev/null || exit 0
      rc_drawn=0
    fi
  fi
}

# rc_last_line LOG: the last line of the command's output in LOG (rc_command_output), secrets
# masked.
rc_last_line() {
  [ -s "$1" ] || return 0
  if [ -n "$rc_secrets" ]; then rc_mask < "$1"; else tail -c 4096 "$1"; fi | rc_command_output last 2>/dev/null
}

# rc_fit WIDTH [HEAD WHAT]: the line on stdin cut to WIDTH characters; with HEAD and WHAT, the
# live line `HEAD WHAT | LINE` in WIDTH: HEAD whole, then WHAT and LINE share what is left.
rc_fit() {
  awk -v w="$1" -v head="${2:-}" -v what="${3:-}" '
    function cut(s, n) { if (n < 4) return ""; return length(s) > n ? substr(s, 1, n - 3) "..." : s }
    { last = $0 }
    END {
      if (head == "") { printf "%s", cut(last, w); exit }
      rest = w - length(head) - 1
      if (last == "") { printf "%s", cut(head " " what, w); exit }
      wl = rest - 3 - length(what)
      if (wl < rest / 2) wl = int(rest / 2)
      s = head " " cut(what, rest - 3 - (length(last) < wl ? length(last) : wl))
      printf "%s", cut(s " | " last, w)
    }' 2>/dev/null
}
