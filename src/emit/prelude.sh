# -----------------------------------------------------------------------------------------------
# rockerc prelude: the functions both backends' runtimes share (the sh backend's runtime and the
# BuildKit backend's script carry this text as it is): messages, quoting for eval and for CSV,
# time, the environment a MOUNT reads, and the secrets' mask.
# -----------------------------------------------------------------------------------------------

# rc_die and rc_warn: rc_clr_err (clear the live lines first) and rc_json (an event as well) are
# the sh runtime's progress settings; unset, as in the BuildKit script, a message is a plain line.
rc_die() {
  printf '%srockerc: error: %s\n' "${rc_clr_err:-}" "$*" >&2
  if [ "${rc_json:-0}" = 1 ]; then rc_json event error message "$*"; fi
  exit 1
}

rc_warn() {
  printf '%srockerc: warning: %s\n' "${rc_clr_err:-}" "$*" >&2
  if [ "${rc_json:-0}" = 1 ]; then rc_json event warning message "$*"; fi
}

rc_usage_error() {
  printf 'rockerc: %s\n' "$1" >&2
  rc_usage >&2
  exit 2
}

# `--mount` and `--output` values are CSV lists: inside a quoted field a quote is written twice.
rc_csv() {
  case $1 in
    *'"'*) printf '%s' "$1" | sed 's/"/""/g' ;;
    *) printf '%s' "$1" ;;
  esac
}

# Quotes one word for eval: 'it'\''s'. (The x keeps the word's trailing newlines, which the
# command substitution would strip.)
rc_q() {
  case $1 in
    *\'*)
      rc_qw=$(printf '%sx' "$1" | sed "s/'/'\\\\''/g")
      printf "'%s' " "${rc_qw%x}"
      ;;
    *) printf "'%s' " "$1" ;;
  esac
}

# Seconds since the epoch, with a fraction where date(1) has %N.
# rc_awk_lines ARGS...: awk over a stream that must be read a line at a time, as it comes (a
# build's output): Debian's mawk fills its whole buffer from a pipe first unless told otherwise,
# which held every line back until the build ended.
rc_awk_lines() {
  if [ -z "${rc_mawk:-}" ]; then rc_awk_which; fi
  if [ "$rc_mawk" = 1 ]; then awk -W interactive "$@"; else awk "$@"; fi
}

# Sets rc_mawk (1 for mawk). Asked once, by the main shell where it can (the subshells of a
# pipeline that streams a build's output inherit the answer instead of asking again).
rc_awk_which() {
  rc_mawk=0
  case $(awk -W version 2>/dev/null) in mawk*) rc_mawk=1 ;; esac
}

rc_now() {
  rc_t=$(date +%s.%N 2>/dev/null) || rc_t=
  case $rc_t in
    *N*|'') date +%s ;;
    *) printf '%s\n' "$rc_t" ;;
  esac
}

# rc_elapsed T0: the time since T0 (rc_now), in tenths of a second ("12.3s"), computed by the
# shell in microseconds: one process (date) rather than two.
rc_elapsed() {
  rc_usecs "$(rc_now)"
  rc_e=$rc_us
  rc_usecs "$1"
  rc_e=$((rc_e - rc_us)) rc_sgn=
  if [ "$rc_e" -lt 0 ]; then rc_e=$((-rc_e)) rc_sgn=-; fi
  rc_e=$(((rc_e + 50000) / 100000))
  printf '%s%d.%ds' "$rc_sgn" $((rc_e / 10)) $((rc_e % 10))
}

# rc_usecs T: sets rc_us, T (rc_now's seconds, with or without a fraction) in microseconds.
rc_usecs() {
  rc_s=${1%%.*} rc_f=${1#*.}
  if [ "$rc_f" = "$1" ]; then rc_f=; fi
  case $rc_s in '' | *[!0-9]*) rc_s=0 ;; esac
  rc_f=${rc_f}000000
  rc_f=${rc_f%"${rc_f#??????}"}
  case $rc_f in *[!0-9]*) rc_f=000000 ;; esac
  # (A 1 before the digits: a leading 0 would make them octal.)
  rc_us=$((rc_s * 1000000 + 1$rc_f - 1000000))
}

# rc_need_var NAME WHERE: a MOUNT source reads $NAME when the script runs; say so if it is unset.
rc_need_var() {
  eval "rc_set=\${$1+x}"
  [ -n "$rc_set" ] || rc_die "MOUNT at $2 uses \$$1, which is not set in the environment"
}

# Copies its input, with the value of every --secret replaced by ***: a RUN may print what it
# was given, and the script shows that output. The input is masked as a whole, not a line at a
# time, so a value with newlines (a PEM key, a file that ends in a newline) is found too; each
# line of such a value is also masked on its own (a RUN may print only part of it, or `tail`
# may cut it). awk reads the values from ENVIRON, so nothing in them is taken as an escape or a
# pattern, and compares bytes (LC_ALL=C), whatever the bytes are. A value with blanks is also
# masked as an unquoted `echo $TOKEN` prints it (words joined by one blank), and word by word
# (words of 4 bytes or more: a shorter one would mask common text, and tells little).
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
        # The value as a shell hands it on ($(cat file) drops trailing newlines), so that the
        # line end after it stays.
        sub(/[\r\n]+$/, "", v)
        forms(v)
        if (index(v, "\n") == 0) continue
        m = split(v, lines, "\n")
        for (j = 1; j <= m; j++) {
          l = lines[j]
          sub(/\r$/, "", l)
          sub(/^[ \t]+/, "", l)
          sub(/[ \t]+$/, "", l)
          if (length(l) >= 4) forms(l)
        }
      }
      # Longest first: the whole value before the lines it holds.
      for (a = 2; a <= np; a++)
        for (b = a; b > 1 && length(pats[b]) > length(pats[b - 1]); b--) {
          t = pats[b]; pats[b] = pats[b - 1]; pats[b - 1] = t
        }
    }
    { text = text $0 "\n" }
    END {
      for (k = 1; k <= np; k++) {
        s = pats[k]
        out = ""
        while ((i = index(text, s)) > 0) {
          out = out substr(text, 1, i - 1) "***"
          text = substr(text, i + length(s))
        }
        text = out text
      }
      printf "%s", text
    }'
}
