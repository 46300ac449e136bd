//! Arguments of Rocker's own instructions: MOUNT specs and EXPORT/IMPORT transfers.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Span, Spanned};
use crate::syntax::Keyword;

/// One MOUNT argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mount {
    /// `src:dest[:options]`: a host path. `src` is kept raw; `~` and `$VAR` in it are expanded by
    /// the script when it runs, and a relative path is relative to the build context.
    Bind { src: Spanned<String>, dest: Spanned<String>, options: Vec<String> },
    /// `/dest`: a named volume that persists between builds of the same Rockerfile.
    Volume { dest: Spanned<String> },
}

impl Mount {
    pub fn dest(&self) -> &Spanned<String> {
        match self {
            Mount::Bind { dest, .. } | Mount::Volume { dest } => dest,
        }
    }

    /// The argument as written; it is part of a MOUNTed RUN's cache key, as in Rocker.
    pub fn spec(&self) -> String {
        match self {
            Mount::Bind { src, dest, options } if options.is_empty() => format!("{}:{}", src.value, dest.value),
            Mount::Bind { src, dest, options } => format!("{}:{}:{}", src.value, dest.value, options.join(",")),
            Mount::Volume { dest } => dest.value.clone(),
        }
    }

    pub fn read_only(&self) -> bool {
        matches!(self, Mount::Bind { options, .. } if options.iter().any(|o| o == "ro"))
    }
}

/// Mount options Docker's `-v` accepts after the destination.
const MOUNT_OPTIONS: [&str; 11] = ["ro", "rw", "z", "Z", "shared", "rshared", "slave", "rslave", "private", "rprivate", "delegated"];

pub fn mounts(args: &[Spanned<String>], errors: &mut Vec<Diagnostic>) -> Option<Vec<Mount>> {
    let before = errors.len();
    let mut out = Vec::new();
    for arg in args {
        let s = arg.value.as_str();
        if let Some(c) = s.chars().find(|c| *c == '\n' || *c == '\0') {
            errors.push(Diagnostic::error(Code::BadMount, format!("MOUNT argument contains {c:?}")).at(arg.span, "paths in MOUNT must be on one line"));
            continue;
        }
        let mount = match s.split_once(':') {
            Some((src, rest)) => {
                let (dest, opts) = rest.split_once(':').unwrap_or((rest, ""));
                if src.is_empty() {
                    errors.push(
                        Diagnostic::error(Code::BadMount, "MOUNT source is empty")
                            .at(arg.span, "expected `source:/destination`")
                            .help("for a volume that persists between builds, write just the destination: `MOUNT /root/.cache`"),
                    );
                    continue;
                }
                // Point at the part when the argument is written out verbatim (not JSON-escaped).
                let verbatim = arg.value.len() == arg.span.len();
                let options: Vec<String> = opts.split(',').filter(|o| !o.is_empty()).map(str::to_string).collect();
                if let Some(bad) = options.iter().find(|o| !MOUNT_OPTIONS.contains(&o.as_str())) {
                    let opts_at = src.len() + 1 + dest.len() + 1;
                    let span = match (verbatim, s[opts_at..].find(bad.as_str())) {
                        (true, Some(at)) => Span::new(arg.span.start + opts_at + at, arg.span.start + opts_at + at + bad.len()),
                        _ => arg.span,
                    };
                    let label = match crate::diagnostic::suggest(bad, MOUNT_OPTIONS) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "not a mount option".to_string(),
                    };
                    errors.push(
                        Diagnostic::error(Code::BadMount, format!("unknown MOUNT option `{bad}`"))
                            .at(span, label)
                            .help(format!("options after the destination are {}", MOUNT_OPTIONS.join(", "))),
                    );
                    continue;
                }
                let off = arg.span.start + src.len() + 1;
                let (src_span, dest_span) =
                    if verbatim { (Span::new(arg.span.start, arg.span.start + src.len()), Span::new(off, off + dest.len())) } else { (arg.span, arg.span) };
                Mount::Bind { src: Spanned::new(src.to_string(), src_span), dest: Spanned::new(dest.to_string(), dest_span), options }
            }
            None => Mount::Volume { dest: arg.clone() },
        };
        let dest = mount.dest();
        if !dest.value.starts_with('/') {
            let what = if matches!(mount, Mount::Volume { .. }) { "volume" } else { "MOUNT" };
            errors.push(
                Diagnostic::error(Code::BadMount, format!("{what} destination `{}` is not an absolute path", dest.value))
                    .at(dest.span, "mount destinations must start with `/`")
                    .help(if matches!(mount, Mount::Volume { .. }) {
                        format!(
                            "write `MOUNT /{}` for a volume kept between builds, or `MOUNT {}:/path/in/container` for the host path `{}`",
                            dest.value.trim_start_matches("./"),
                            dest.value,
                            dest.value
                        )
                    } else {
                        format!("write the destination as an absolute path inside the container: `/{}`", dest.value.trim_start_matches("./"))
                    }),
            );
            continue;
        }
        if normalize(&dest.value) == "/" || normalize(&dest.value).starts_with("/dev/.rockerc") {
            errors.push(Diagnostic::error(Code::BadMount, format!("cannot MOUNT over `{}`", dest.value)).at(dest.span, ""));
            continue;
        }
        out.push(mount);
    }
    (errors.len() == before).then_some(out)
}

/// EXPORT/IMPORT arguments: `src...` and an optional destination (`/` when there is one argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub sources: Vec<Spanned<String>>,
    pub dest: Option<Spanned<String>>,
}

impl Transfer {
    /// The destination as rsync receives it; `/` (the export store's root, or the image's root)
    /// when none was written.
    pub fn dest_str(&self) -> &str {
        self.dest.as_ref().map_or("/", |d| d.value.as_str())
    }
}

pub fn transfer(kind: Keyword, mut args: Vec<Spanned<String>>, errors: &mut Vec<Diagnostic>) -> Option<Transfer> {
    let name = kind.as_str();
    let dest = if args.len() > 1 { args.pop() } else { None };
    let before = errors.len();
    for arg in args.iter().chain(dest.iter()) {
        if let Some(c) = arg.value.chars().find(|c| c.is_control()) {
            errors.push(
                Diagnostic::error(Code::BadPath, format!("{name} path contains {c:?}")).at(arg.span, "paths must be on one line, without control characters"),
            );
        }
        if arg.value.is_empty() {
            errors.push(Diagnostic::error(Code::BadPath, format!("{name} path is empty")).at(arg.span, ""));
        }
    }
    // Store paths are rooted at the export store: `..` must not climb out of it.
    let store_paths: Vec<&Spanned<String>> = match kind {
        Keyword::Export => dest.iter().collect(),
        _ => args.iter().collect(),
    };
    for p in store_paths {
        if escapes_root(&p.value) {
            let role = if kind == Keyword::Export { "destination" } else { "source" };
            errors.push(
                Diagnostic::error(Code::BadPath, format!("{name} {role} `{}` leaves the export store", p.value))
                    .at(p.span, "`..` may not climb above the store's root"),
            );
        }
    }
    (errors.len() == before).then_some(Transfer { sources: args, dest })
}

/// `path.Clean`-style normalisation of an absolute or relative path (keeps a leading `/`).
pub fn normalize(path: &str) -> String {
    let abs = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Whether a MOUNT source is written relative to the context and does not climb out of it.
pub fn in_context_path(src: &str) -> bool {
    !(src.starts_with('/') || src.starts_with('~') || src.starts_with('$')) && {
        let n = normalize(src);
        n != ".." && !n.starts_with("../")
    }
}

fn escapes_root(path: &str) -> bool {
    let mut depth = 0i32;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(s: &str) -> Spanned<String> {
        Spanned::new(s.to_string(), Span::new(0, s.len()))
    }

    #[test]
    fn mount_forms() {
        let mut errors = Vec::new();
        let m = mounts(&[sp(".:/context"), sp("/root/.cache"), sp("~/.ssh/id_rsa:/root/.ssh/id_rsa:ro")], &mut errors).unwrap();
        assert_eq!(m[0], Mount::Bind { src: sp("."), dest: Spanned::new("/context".into(), Span::new(2, 10)), options: vec![] });
        assert_eq!(m[1], Mount::Volume { dest: sp("/root/.cache") });
        assert!(m[2].read_only());
        assert_eq!(m[2].spec(), "~/.ssh/id_rsa:/root/.ssh/id_rsa:ro");
    }

    #[test]
    fn mount_errors_are_specific() {
        let mut errors = Vec::new();
        assert!(mounts(&[sp("cache")], &mut errors).is_none());
        assert_eq!(errors[0].message, "volume destination `cache` is not an absolute path");
        errors.clear();
        assert!(mounts(&[sp("a:/b:rx")], &mut errors).is_none());
        assert_eq!(errors[0].message, "unknown MOUNT option `rx`");
        errors.clear();
        assert!(mounts(&[sp(":/b")], &mut errors).is_none());
        assert_eq!(errors[0].message, "MOUNT source is empty");
    }

    #[test]
    fn transfer_splits_destination_and_guards_the_store() {
        let mut errors = Vec::new();
        let t = transfer(Keyword::Export, vec![sp("/a"), sp("/b"), sp("/out")], &mut errors).unwrap();
        assert_eq!(t.sources.len(), 2);
        assert_eq!(t.dest_str(), "/out");
        assert_eq!(transfer(Keyword::Import, vec![sp("x")], &mut errors).unwrap().dest_str(), "/");
        assert!(transfer(Keyword::Export, vec![sp("/a"), sp("../../etc")], &mut errors).is_none());
        assert!(errors[0].message.contains("leaves the export store"));
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize("/a/./b/../c/"), "/a/c");
        assert_eq!(normalize("a/../.."), "..");
        assert_eq!(normalize("/.."), "/");
        assert_eq!(normalize("./"), ".");
    }
}
