//! Rocker's export store, modelled at compile time, and each IMPORT as `COPY --from` the image at
//! the EXPORT that put the files there.
//!
//! The sh backend replays EXPORTs into a directory with `rsync -a --delete-during` semantics and
//! decides at run time whether a source is a file or a directory. A Dockerfile has no store and
//! no run time: every IMPORT source must come down, when rockerc compiles, to "this path of that
//! image, copied to that destination". Three rsync rules shape the answer:
//!
//! - `EXPORT src dest` puts `src` inside `dest` when `dest` is a directory (it ends with `/`, is
//!   the store's root, has several sources, or already is one), and otherwise puts a file *as*
//!   `dest` but a directory inside it;
//! - `src/` means the contents, and replaces the destination directory as a whole;
//! - a later EXPORT to the same path replaces what an earlier one put there (`--delete-during`).
//!
//! `COPY` copies a directory's contents and a file as itself, so where the kind of a source
//! changes the result and the Rockerfile does not tell it, rockerc makes an assumption and the
//! Dockerfile checks it before copying (see [`Check`]). What `COPY` cannot say at all (a later
//! EXPORT that replaces part of an earlier one's directory: `COPY` only adds) is a compile error.

use crate::analyze::{normalize, Transfer};
use crate::diagnostic::{Code, Diagnostic};
use crate::graph::store_components;
use crate::source::Spanned;
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Dir,
    File,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dir => "a directory",
            Kind::File => "a file",
        }
    }
}

/// One EXPORT as the store model needs it.
#[derive(Clone, Debug)]
pub struct ExportInfo<'a> {
    /// The export's id (its position in `StageGraph::exports`).
    pub id: usize,
    /// (stage, item): file order.
    pub at: (usize, usize),
    pub transfer: &'a Transfer,
    /// Each source as an absolute path in the exporting image (relative ones joined to WORKDIR).
    pub sources: Vec<String>,
}

/// One IMPORT: where it is, and what it names.
#[derive(Clone, Debug)]
pub struct ImportInfo<'a> {
    pub at: (usize, usize),
    pub transfer: &'a Transfer,
}

/// One `COPY --from` an IMPORT source becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreCopy {
    /// The EXPORT whose image the files come from.
    pub export: usize,
    /// Absolute path in that image.
    pub src: String,
    /// The path the EXPORT named, `src` or a directory above it: what is below it the store has
    /// as the EXPORT copied it (a symbolic link as a link).
    pub root: String,
    /// The destination, as `COPY` takes it.
    pub dest: String,
    /// The kind rockerc assumed for `src`, which the build must check first.
    pub check: Option<Kind>,
    /// A file stored under another name than its own: copied through a scratch stage that gives
    /// it this name, so that `COPY` into an existing directory names it as rsync did.
    pub rename: Option<String>,
    /// Why the COPY has this form, for `--explain`.
    pub why: String,
}

/// A store entry one EXPORT source made.
#[derive(Clone, Debug)]
struct Placement {
    export: usize,
    /// The exporting stage.
    stage: usize,
    /// Store path of the entry.
    at: Vec<String>,
    /// What was copied there: this path of the exporting image (or its contents).
    src: String,
    contents: bool,
    /// The kind of `src` the placement depends on, and whether the sh backend would fail on the
    /// other kind (then there is nothing to check).
    assumed: Option<(Kind, bool)>,
    /// Store paths inside this entry that later EXPORTs replaced.
    holes: Vec<Vec<String>>,
}

/// What is at a store path at some point.
#[derive(Debug, PartialEq, Eq)]
enum PathState {
    Absent,
    Dir,
    File,
    Unknown,
}

fn is_prefix(prefix: &[String], path: &[String]) -> bool {
    path.len() >= prefix.len() && path[..prefix.len()] == *prefix
}

/// Whether an EXPORT/IMPORT path names a directory's contents (`dir/`, `dir/.`, `/`, `.`).
pub fn is_contents(path: &str) -> bool {
    path.ends_with('/') || path.ends_with("/.") || path == "." || normalize(path) == "/"
}

fn shown(path: &[String]) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        path.join("/")
    }
}

/// `base` joined with `rest`: `("/out", ["a", "b"])` -> `/out/a/b`, `("tools/", ["x"])` -> `tools/x`.
pub fn join(base: &str, rest: &[String]) -> String {
    let mut out = base.to_string();
    for part in rest {
        if !out.is_empty() && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(part);
    }
    out
}

fn basename(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// The export store as EXPORTs in file order leave it: the live placements, in a tree of store
/// path components. A tree, not a list: a file of thousands of EXPORTs and IMPORTs asks it once
/// per IMPORT, and each question looks only at the paths on the way to the source and inside it.
pub struct Store {
    nodes: Vec<Node>,
    /// The order placements were made in (later ones win).
    seq: usize,
    /// For each store path some IMPORT names or lies inside: the last IMPORT that does.
    imported: HashMap<Vec<String>, (usize, usize)>,
    /// (stage, normalised source) of every `src/` EXPORT so far.
    contents_sources: HashSet<(usize, String)>,
    /// The first EXPORT whose placement rockerc could not work out: every later IMPORT fails.
    broken: Option<String>,
}

#[derive(Default)]
struct Node {
    children: HashMap<String, usize>,
    /// Placements exactly at this path, in order.
    here: Vec<(usize, Placement)>,
    /// Live placements at this path and below.
    count: usize,
}

impl Store {
    /// An empty store; `imports` are all the file's IMPORTs.
    pub fn new(imports: &[ImportInfo]) -> Store {
        let mut imported: HashMap<Vec<String>, (usize, usize)> = HashMap::new();
        for i in imports {
            for s in &i.transfer.sources {
                let path = store_components(&s.value);
                for n in 0..=path.len() {
                    let last = imported.entry(path[..n].to_vec()).or_insert(i.at);
                    *last = (*last).max(i.at);
                }
            }
        }
        Store { nodes: vec![Node::default()], seq: 0, imported, contents_sources: HashSet::new(), broken: None }
    }

    /// The nodes from the root down to `path` (as far as they exist).
    fn trail(&self, path: &[String]) -> Vec<usize> {
        let mut out = vec![0];
        let mut node = 0;
        for c in path {
            match self.nodes[node].children.get(c) {
                Some(&n) => {
                    node = n;
                    out.push(n);
                }
                None => break,
            }
        }
        out
    }

    fn state(&self, path: &[String]) -> PathState {
        if path.is_empty() {
            return PathState::Dir;
        }
        let trail = self.trail(path);
        if trail.len() == path.len() + 1 {
            let node = &self.nodes[trail[path.len()]];
            if node.count > node.here.len() {
                return PathState::Dir;
            }
            if let Some((_, p)) = node.here.last() {
                return match (p.contents, p.assumed) {
                    (true, _) => PathState::Dir,
                    (false, Some((Kind::Dir, _))) => PathState::Dir,
                    (false, Some((Kind::File, _))) => PathState::File,
                    (false, None) => PathState::Unknown,
                };
            }
        }
        if trail.iter().take(path.len()).any(|&n| !self.nodes[n].here.is_empty()) {
            return PathState::Unknown;
        }
        PathState::Absent
    }

    /// Removes what a new entry at `at` replaces; entries above it get a hole there.
    fn replace(&mut self, at: &[String]) {
        let trail = self.trail(at);
        for &n in trail.iter().take(at.len()) {
            for (_, p) in &mut self.nodes[n].here {
                p.holes.push(at.to_vec());
            }
        }
        if trail.len() == at.len() + 1 {
            let node = trail[at.len()];
            let removed = self.nodes[node].count;
            self.nodes[node].here.clear();
            self.nodes[node].children.clear();
            for &n in &trail {
                self.nodes[n].count -= removed;
            }
        }
    }

    fn place(&mut self, p: Placement) {
        let mut node = 0;
        self.nodes[0].count += 1;
        for c in &p.at {
            node = match self.nodes[node].children.get(c) {
                Some(&n) => n,
                None => {
                    let n = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[node].children.insert(c.clone(), n);
                    n
                }
            };
            self.nodes[node].count += 1;
        }
        self.seq += 1;
        self.nodes[node].here.push((self.seq, p));
    }

    /// Whether an IMPORT after `after` names `path` or something inside it: then the sh backend
    /// only succeeds if an EXPORT made `path` a directory.
    fn imported_inside(&self, after: (usize, usize), path: &[String]) -> bool {
        self.imported.get(path).is_some_and(|&last| last > after)
    }

    /// Applies one EXPORT (EXPORTs come in file order). Where its placement depends on something
    /// rockerc cannot know, every later IMPORT fails.
    pub fn export(&mut self, e: &ExportInfo) {
        if self.broken.is_none() {
            if let Err(why) = self.try_export(e) {
                self.broken = Some(why);
            }
        }
    }

    fn try_export(&mut self, e: &ExportInfo) -> Result<(), String> {
        let t = e.transfer;
        let dest = store_components(t.dest_str());
        let as_dir = t.sources.len() > 1 || t.dest_str().ends_with('/') || dest.is_empty();
        let mut cleared = false;
        for (src, abs) in t.sources.iter().zip(&e.sources) {
            if is_contents(&src.value) {
                self.contents_sources.insert((e.at.0, normalize(abs)));
                // rsync's `src/`: the destination directory becomes the contents (once per EXPORT).
                if !cleared {
                    self.replace(&dest);
                    cleared = true;
                }
                self.place(Placement { export: e.id, stage: e.at.0, at: dest.clone(), src: abs.clone(), contents: true, assumed: None, holes: Vec::new() });
                continue;
            }
            let name = basename(abs).to_string();
            let inside: Vec<String> = dest.iter().cloned().chain(std::iter::once(name)).collect();
            let (at, assumed) = if as_dir {
                (inside, None)
            } else {
                match self.state(&dest) {
                    PathState::Dir => (inside, None),
                    PathState::Unknown => {
                        return Err(format!(
                            "whether `EXPORT {}` puts its source inside `{}` or replaces it depends on whether `{}` in the export store is a directory, which rockerc cannot know when it compiles",
                            one_line(t),
                            shown(&dest),
                            shown(&dest)
                        ))
                    }
                    // A directory always goes inside; a file takes the destination's name.
                    PathState::Absent | PathState::File if self.imported_inside(e.at, &inside) => (inside, Some((Kind::Dir, true))),
                    PathState::Absent | PathState::File => (dest.clone(), Some((Kind::File, false))),
                }
            };
            self.replace(&at);
            self.place(Placement { export: e.id, stage: e.at.0, at, src: abs.clone(), contents: false, assumed, holes: Vec::new() });
        }
        Ok(())
    }

    /// Whether the exporting stage of `export` also EXPORTs `src` as `src/` somewhere: it was a
    /// directory then, so rockerc takes it for one (and checks).
    fn exported_as_contents(&self, stage: usize, src: &str) -> bool {
        self.contents_sources.contains(&(stage, normalize(src)))
    }
}

fn one_line(t: &Transfer) -> String {
    let mut words: Vec<&str> = t.sources.iter().map(|s| s.value.as_str()).collect();
    if let Some(d) = &t.dest {
        words.push(&d.value);
    }
    words.join(" ")
}

/// The COPYs for the sources of an IMPORT, into `dest` (a directory when `dest_is_dir`), from
/// the store as the EXPORTs before the IMPORT left it.
pub fn resolve_import(store: &Store, sources: &[Spanned<String>], dest: &str, dest_is_dir: bool) -> Result<Vec<StoreCopy>, Vec<Diagnostic>> {
    if let Some(why) = &store.broken {
        return Err(vec![Diagnostic::error(Code::BuildkitStore, "this IMPORT cannot be written as COPY --from")
            .at(sources.first().map(|s| s.span).unwrap_or_default(), "reads what that EXPORT placed")
            .note(why.clone())
            .help("write the EXPORT's destination with a trailing `/` (the store keeps the name), or build with the sh backend (`--emit sh`), which decides when it runs")]);
    }
    let mut copies = Vec::new();
    let mut errors = Vec::new();
    for src in sources {
        match resolve_source(store, &src.value, dest, dest_is_dir) {
            Ok(c) => copies.extend(c),
            Err(why) => errors.push(
                Diagnostic::error(Code::BuildkitStore, format!("IMPORT `{}` cannot be written as COPY --from", src.value)).at(src.span, "").note(why).help(
                    "build this Rockerfile with the sh backend (`--emit sh`, the default), which replays the export store with rsync's rules when it runs",
                ),
            ),
        }
    }
    if errors.is_empty() {
        Ok(copies)
    } else {
        Err(errors)
    }
}

fn resolve_source(store: &Store, source: &str, dest: &str, dest_is_dir: bool) -> Result<Vec<StoreCopy>, String> {
    let path = store_components(source);
    let contents = is_contents(source);
    let trail = store.trail(&path);
    // The last placement at the source or above it, and those made after it inside the source.
    let base: Option<&(usize, Placement)> = trail.iter().filter_map(|&n| store.nodes[n].here.last()).max_by_key(|(seq, _)| *seq);
    let after = base.map_or(0, |(seq, _)| *seq);
    let mut later: Vec<&(usize, Placement)> = Vec::new();
    if trail.len() == path.len() + 1 {
        let mut stack: Vec<usize> = store.nodes[trail[path.len()]].children.values().copied().collect();
        while let Some(n) = stack.pop() {
            later.extend(store.nodes[n].here.iter().filter(|(seq, _)| *seq > after));
            stack.extend(store.nodes[n].children.values().copied());
        }
    }
    later.sort_by_key(|(seq, _)| *seq);
    let later_inside: Vec<&Placement> = later.into_iter().map(|(_, p)| p).collect();
    let base = base.map(|(_, p)| p);
    let name = path.last().cloned().unwrap_or_default();
    // Where the entry itself goes: the destination (contents), or inside it under its name.
    let entry_dest = |rest: &[String]| -> String {
        if contents {
            if rest.is_empty() {
                dest.to_string()
            } else {
                join(dest, rest)
            }
        } else {
            let mut all = vec![name.clone()];
            all.extend(rest.iter().cloned());
            join(dest, &all)
        }
    };
    let Some(b) = base else {
        if later_inside.is_empty() {
            return Err(format!("no EXPORT before this line puts anything at `{}` of the export store", shown(&path)));
        }
        // The store made the directory itself (mkdir -p); each entry inside it is copied to its own path.
        let why = format!(
            "no EXPORT stored `{}` itself: the store made it a directory for the entries EXPORTs put inside it, and each is copied to its own place",
            shown(&path)
        );
        return Ok(later_inside
            .iter()
            .map(|p| StoreCopy {
                export: p.export,
                src: p.src.clone(),
                root: p.src.clone(),
                dest: entry_dest(&p.at[path.len()..]),
                check: p.assumed.filter(|(_, strong)| !strong).map(|(k, _)| k),
                rename: None,
                why: why.clone(),
            })
            .collect());
    };
    if !later_inside.is_empty() || b.holes.iter().any(|h| is_prefix(&path, h)) {
        return Err(format!(
            "a later EXPORT replaced part of what an earlier one put at `{}` (rsync deleted the old files there); COPY can only add files",
            shown(&b.at)
        ));
    }
    let rest = &path[b.at.len()..];
    let src = join(&b.src, rest);
    let copy = |dest: String, check: Option<Kind>, rename: Option<String>, why: String| StoreCopy {
        export: b.export,
        src: src.clone(),
        root: b.src.clone(),
        dest,
        check,
        rename,
        why,
    };
    // The entry's kind, when the placement tells it: (kind, whether the sh backend fails otherwise).
    let known: Option<(Kind, bool)> = if !rest.is_empty() {
        None
    } else if b.contents {
        Some((Kind::Dir, true))
    } else {
        b.assumed
    };
    let placement_check = if rest.is_empty() { None } else { b.assumed.filter(|(_, strong)| !strong).map(|(k, _)| k) };
    if placement_check == Some(Kind::File) {
        return Err(format!("`{}` lies inside what rockerc takes for a file at `{}`", shown(&path), shown(&b.at)));
    }
    if contents {
        // `src/`: the sh backend fails unless it is a directory; COPY copies a directory's contents.
        let why = format!("`{source}` ends with `/`: rsync copies the directory's contents into `{dest}`, and so does COPY of a directory");
        return Ok(vec![copy(dest.to_string(), None, None, why)]);
    }
    let inside = entry_dest(&[]);
    match known {
        Some((Kind::Dir, true)) => {
            let why = format!("`{}` is a directory in the store, so rsync puts it inside `{dest}` under its name; COPY of a directory copies its contents, so the COPY names `{inside}`", shown(&path));
            return Ok(vec![copy(inside, None, None, why)]);
        }
        // Into a directory, COPY gives rsync's result for both kinds: `dest/name` is the file, or
        // the directory's contents.
        _ if dest_is_dir => {
            let why = format!("`{dest}` is a directory (a trailing `/` or several sources), so the entry goes inside it under its name, file or directory: COPY to `{inside}` does the same for both");
            return Ok(vec![copy(inside, known.filter(|(_, strong)| !strong).map(|(k, _)| k), None, why)]);
        }
        _ => {}
    }
    // A single source into a path that may not be a directory: a directory goes inside it, a file
    // becomes it (or goes inside it when it is an existing directory, which COPY does too).
    let (kind, check, reason) = match known {
        Some((k, true)) => (k, None, "the Rockerfile says so".to_string()),
        Some((k, false)) => (k, Some(k), "the EXPORT that stored it only works so".to_string()),
        None if store.exported_as_contents(b.stage, &src) => (Kind::Dir, Some(Kind::Dir), format!("an EXPORT of `{src}/` in the same stage copied it as one")),
        None => (Kind::File, Some(Kind::File), "nothing says otherwise".to_string()),
    };
    let checked = if check.is_some() { " (a check stage stops the build if it is not)" } else { "" };
    let what = format!("rockerc takes `{src}` for {} because {reason}{checked}", kind.as_str());
    Ok(vec![match kind {
        Kind::Dir => copy(inside.clone(), check, None, format!("{what}: rsync puts a directory inside `{dest}`, so the COPY names `{inside}`")),
        Kind::File if basename(&src) == name => copy(
            dest.to_string(),
            check,
            None,
            format!("{what}: rsync makes a file `{dest}`, or puts it inside `{dest}` if that is a directory, and so does COPY"),
        ),
        Kind::File => copy(
            dest.to_string(),
            check,
            Some(name.clone()),
            format!("{what}, stored as `{name}`: it is copied through a scratch stage that names it so, then as a file to `{dest}`"),
        ),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn sp(s: &str) -> Spanned<String> {
        Spanned::new(s.to_string(), Span::default())
    }

    fn transfer(words: &[&str]) -> Transfer {
        let mut args: Vec<Spanned<String>> = words.iter().map(|w| sp(w)).collect();
        let dest = if args.len() > 1 { args.pop() } else { None };
        Transfer { sources: args, dest }
    }

    /// EXPORTs of stage 0 (items 0..), one IMPORT in stage 1; returns the COPYs as
    /// `export:src -> dest [check] [rename]`.
    fn copies(exports: &[&[&str]], import: &[&str]) -> Result<Vec<String>, String> {
        let ts: Vec<Transfer> = exports.iter().map(|w| transfer(w)).collect();
        let it = transfer(import);
        let infos: Vec<ExportInfo> = ts
            .iter()
            .enumerate()
            .map(|(i, t)| ExportInfo { id: i, at: (0, i), transfer: t, sources: t.sources.iter().map(|s| normalize(&s.value)).collect() })
            .collect();
        let imports = vec![ImportInfo { at: (1, 0), transfer: &it }];
        let dest_is_dir = it.sources.len() > 1 || it.dest_str().ends_with('/');
        let mut store = Store::new(&imports);
        for e in &infos {
            store.export(e);
        }
        resolve_import(&store, &it.sources, it.dest_str(), dest_is_dir)
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let mut s = format!("{}:{} -> {}", c.export, c.src, c.dest);
                        if let Some(k) = c.check {
                            s.push_str(&format!(" [check {}]", k.as_str()));
                        }
                        if let Some(r) = &c.rename {
                            s.push_str(&format!(" [as {r}]"));
                        }
                        s
                    })
                    .collect()
            })
            .map_err(|d| d.iter().map(|d| format!("{} {:?}", d.message, d.notes)).collect::<Vec<_>>().join("; "))
    }

    #[test]
    fn a_file_into_a_directory_needs_no_assumption() {
        assert_eq!(copies(&[&["/out/hello"]], &["hello", "/bin/"]).unwrap(), ["0:/out/hello -> /bin/hello"]);
    }

    #[test]
    fn the_trailing_slash_table_of_rockers_readme() {
        let exports: &[&[&str]] = &[&["/src"], &["/src", "/app"], &["/src/", "/flat"], &["/tool"]];
        // EXPORT /src /app put it at app/src (an IMPORT names app/src/); the slash takes its contents.
        assert_eq!(copies(exports, &["app/src/", "/contents"]).unwrap(), ["1:/src -> /contents"]);
        // EXPORT /src/ /flat stored the contents as `flat`, which nests under /nested/.
        assert_eq!(copies(exports, &["flat", "/nested/"]).unwrap(), ["2:/src -> /nested/flat"]);
        // `src` into a path that may not exist: a directory (EXPORT /src/ says it was one) goes inside.
        assert_eq!(copies(exports, &["src", "/as-is"]).unwrap(), ["0:/src -> /as-is/src [check a directory]"]);
        // `tool` nothing says: taken for a file, and checked.
        assert_eq!(copies(exports, &["tool", "/bin/renamed-tool"]).unwrap(), ["3:/tool -> /bin/renamed-tool [check a file]"]);
    }

    #[test]
    fn a_later_export_replaces_an_earlier_one() {
        assert_eq!(copies(&[&["/a", "/x/"], &["/b/a", "/x/"]], &["x/a", "/t/"]).unwrap(), ["1:/b/a -> /t/a"]);
        // A contents export clears its destination first.
        assert_eq!(copies(&[&["/a", "/x/"], &["/b/", "/x"]], &["x", "/t/"]).unwrap(), ["1:/b -> /t/x"]);
    }

    #[test]
    fn a_directory_the_store_made_is_copied_entry_by_entry() {
        assert_eq!(copies(&[&["/a", "/lib/"], &["/b", "/lib/"]], &["lib", "/usr/"]).unwrap(), ["0:/a -> /usr/lib/a", "1:/b -> /usr/lib/b"]);
    }

    #[test]
    fn a_renamed_file_keeps_its_store_name() {
        assert_eq!(copies(&[&["/out/tool", "/bin/t"]], &["bin/t", "/usr/local/bin"]).unwrap(), ["0:/out/tool -> /usr/local/bin [check a file] [as t]"]);
        // Something inside it is named: it was a directory, placed inside `bin/t`.
        assert_eq!(copies(&[&["/out/tool", "/bin/t"]], &["bin/t/tool/x", "/y"]).unwrap(), ["0:/out/tool/x -> /y [check a file]"]);
    }

    #[test]
    fn what_copy_cannot_say_is_an_error() {
        // A later EXPORT into a directory an earlier one stored: rsync replaced `d/sub`, COPY would merge.
        let err = copies(&[&["/d", "/"], &["/other/sub", "/d/"]], &["d", "/t/"]).unwrap_err();
        assert!(err.contains("COPY can only add files"), "{err}");
        let err = copies(&[&["/a", "/x/"]], &["nothing", "/t/"]).unwrap_err();
        assert!(err.contains("no EXPORT before this line"), "{err}");
    }
}
