//! Reading the fragments INCLUDE names (`syntax::include` splices them): where a path leads, what
//! a build may read, and rendering each with the Rockerfile's variables.
//!
//! A path is relative to the file that includes it (Rocker 0.2: to the Rockerfile's folder). It
//! must lead into the build context, as a COPY source must, or under a path the user allowed
//! with `--allow-mount` (the same consent a MOUNT of a host path needs): a Rockerfile from an
//! unreviewed pull request must not splice in `~/.ssh/config` or `/etc/shadow` and show it in an
//! error. Links are followed, and the physical path is what is checked.

// `Diagnostic` is the project's one error type, returned by value by design (as in `syntax`).
#![allow(clippy::result_large_err)]

use super::{render_with_vars, TemplateOptions, Vars};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{binary_reason, SourceFile};
use crate::syntax::include::Loaded;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where fragments may come from.
pub struct FragmentRoots {
    /// The build context, physically.
    pub context: PathBuf,
    /// The folder a path in the Rockerfile is relative to (when the Rockerfile has no path: a pipe).
    pub rockerfile_dir: PathBuf,
    /// `--allow-mount` paths (absolute).
    pub allowed: Vec<PathBuf>,
}

/// The largest fragment read (a Rockerfile fragment is a few kilobytes).
const MAX_FRAGMENT_BYTES: u64 = 4 << 20;

/// Reads, checks and renders the fragment `written` included from the file `from` (a physical
/// path; `None` for a Rockerfile without one).
pub fn load(roots: &FragmentRoots, options: &TemplateOptions, vars: &Vars, from: Option<&PathBuf>, written: &str) -> Result<Loaded, Diagnostic> {
    let base = from.and_then(|f| f.parent()).unwrap_or(&roots.rockerfile_dir);
    let wanted = base.join(expand_home(written));
    let key = match wanted.canonicalize() {
        Ok(p) => p,
        Err(e) => {
            let reason = if e.kind() == std::io::ErrorKind::NotFound { "no such file".to_string() } else { e.to_string() };
            return Err(Diagnostic::error(Code::IncludeUnreadable, format!("cannot read the INCLUDEd file `{written}`: {reason}"))
                .note(format!("looked for {}", wanted.display()))
                .help("an INCLUDE path is relative to the file that includes it"));
        }
    };
    let inside = key.starts_with(&roots.context);
    if !inside && !roots.allowed.iter().any(|a| key.starts_with(a)) {
        let dir = key.parent().unwrap_or(&key);
        return Err(Diagnostic::error(Code::IncludeOutsideContext, format!("INCLUDE `{written}` leads outside the build context"))
            .note(format!("it is {}; the context is {}", key.display(), roots.context.display()))
            .help(format!("move the fragment into the context, or allow its folder as for a MOUNT of a host path: `--allow-mount {}`", dir.display())));
    }
    let meta = std::fs::metadata(&key).map_err(|e| Diagnostic::error(Code::IncludeUnreadable, format!("cannot read the INCLUDEd file `{written}`: {e}")))?;
    if !meta.is_file() {
        return Err(
            Diagnostic::error(Code::IncludeUnreadable, format!("the INCLUDEd path `{written}` is not a file")).help("INCLUDE names one file of instructions")
        );
    }
    if meta.len() > MAX_FRAGMENT_BYTES {
        return Err(Diagnostic::error(Code::IncludeUnreadable, format!("the INCLUDEd file `{written}` is larger than {} MiB", MAX_FRAGMENT_BYTES >> 20)));
    }
    let bytes = std::fs::read(&key).map_err(|e| Diagnostic::error(Code::IncludeUnreadable, format!("cannot read the INCLUDEd file `{written}`: {e}")))?;
    if let Some(why) = binary_reason(&bytes) {
        return Err(Diagnostic::error(Code::IncludeUnreadable, format!("the INCLUDEd file `{written}` is not text: {why}")));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(Code::IncludeUnreadable, format!("the INCLUDEd file `{written}` is not UTF-8 (byte {})", e.utf8_error().valid_up_to()))
    })?;
    // Names as the output shows them: relative to the context, the same on every machine.
    let name = match key.strip_prefix(&roots.context) {
        Ok(rel) if inside => rel.display().to_string(),
        _ => key.display().to_string(),
    };
    let file = Arc::new(SourceFile::new(name, text));
    let rendered = render_with_vars(&file, options, vars).map_err(|d| d.0.into_iter().filter(|d| d.is_error()).collect());
    Ok(Loaded { key, file, rendered })
}

/// `~/x` as the shell would read it (Rocker 0.2's INCLUDE did not, but a path that starts with
/// `~` is meant so).
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}
