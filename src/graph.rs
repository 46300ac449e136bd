//! The stage graph: which stage needs which, and why.
//!
//! Nodes are stages. An edge `a -> b` means stage `b` cannot start before stage `a` has finished:
//! `b` builds FROM `a` (by name or by a TAG of `a`), COPYs `--from` it, IMPORTs something `a`
//! EXPORTed, or both touch the host (the build context, a host MOUNT) or the same MOUNT volume
//! and one of them may write it: a reader waits for the writer before it, a writer for the
//! readers and the writer before it, so every `-j` sees what file order sees. Edges only point
//! forward in the file, but the cycle check stays as a guard: a cycle would deadlock the parallel
//! scheduler.

use crate::analyze::{Base, Mount, Op, Program, Transfer};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::Span;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    From,
    CopyFrom,
    Import,
    /// Reads the host (the context, a host MOUNT) after the other stage may have written it.
    HostPath,
    /// May write the host after the other stage read it.
    HostWrite,
    /// Both use the same MOUNT volume and at least one may write it.
    Volume,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::From => "FROM",
            EdgeKind::CopyFrom => "COPY --from",
            EdgeKind::Import => "IMPORT",
            EdgeKind::HostPath => "host path",
            EdgeKind::HostWrite => "host path (write after read)",
            EdgeKind::Volume => "MOUNT volume",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Edge {
    pub kind: EdgeKind,
    /// The instruction in the dependent stage that needs the other stage.
    pub span: Span,
}

/// Something stages share that the stage graph orders access to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Resource {
    /// The host: the build context and every host MOUNT.
    Host,
    /// A MOUNT volume, by its (normalised) destination.
    Volume(String),
}

/// The last stage that may have written a resource, and the stages that read it since.
#[derive(Default)]
struct Users {
    last_writer: Option<usize>,
    readers: Vec<usize>,
}

/// An EXPORT, identified by its place in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExportRef {
    pub stage: usize,
    pub item: usize,
}

#[derive(Debug)]
pub struct StageGraph {
    pub graph: DiGraph<usize, Edge>,
    /// Every EXPORT in file order; an export's id is its position here.
    pub exports: Vec<ExportRef>,
    /// For each IMPORT `(stage, item)`: the ids of the earlier EXPORTs that can affect what it
    /// reads, in file order. The script replays exactly these into the IMPORT's view of the store.
    pub imports: BTreeMap<(usize, usize), Vec<usize>>,
}

impl StageGraph {
    fn node(&self, stage: usize) -> NodeIndex {
        NodeIndex::new(stage)
    }

    /// The stages `stage` depends on directly, ascending, without duplicates.
    pub fn deps(&self, stage: usize) -> Vec<usize> {
        let mut deps: Vec<usize> = self.graph.edges_directed(self.node(stage), Direction::Incoming).map(|e| self.graph[e.source()]).collect();
        deps.sort_unstable();
        deps.dedup();
        deps
    }

    /// Edges into `stage`, for explanations and `--emit dot`.
    pub fn edges_into(&self, stage: usize) -> Vec<(usize, &Edge)> {
        let mut v: Vec<(usize, &Edge)> =
            self.graph.edges_directed(self.node(stage), Direction::Incoming).map(|e| (self.graph[e.source()], e.weight())).collect();
        v.sort_by_key(|(s, e)| (*s, e.kind, e.span.start));
        v
    }

    /// Stages grouped by depth: every stage's dependencies are in earlier levels, so the stages of
    /// one level can build at the same time.
    pub fn levels(&self) -> Vec<Vec<usize>> {
        let n = self.graph.node_count();
        let mut depth = vec![0usize; n];
        for s in 0..n {
            depth[s] = self.deps(s).into_iter().map(|d| depth[d] + 1).max().unwrap_or(0);
        }
        let mut levels: Vec<Vec<usize>> = vec![Vec::new(); depth.iter().max().map_or(0, |d| d + 1)];
        for (s, d) in depth.into_iter().enumerate() {
            levels[d].push(s);
        }
        levels
    }
}

pub fn build(program: &Program) -> Result<StageGraph, Diagnostics> {
    let mut graph = DiGraph::new();
    for stage in &program.stages {
        graph.add_node(stage.index);
    }
    let mut errors = Vec::new();
    let mut exports: Vec<ExportRef> = Vec::new();
    let mut imports = BTreeMap::new();
    // Where each EXPORT so far places things in the store, so an IMPORT finds the EXPORTs that
    // reach its sources without looking at every one (a fan-in of thousands was quadratic).
    let mut placements = StoreTrie::default();
    // Who touched each shared resource: the host (one resource: the context and every host
    // MOUNT, whose paths are only known when the script runs) and each MOUNT volume (by its
    // destination, which names it). Keeping the last writer and the readers since it is enough
    // for file order, and the edges stay linear in the file: each reader adds one edge and is
    // waited for by one writer.
    let mut resources: BTreeMap<Resource, Users> = BTreeMap::new();

    let add = |graph: &mut DiGraph<usize, Edge>, from: usize, to: usize, kind: EdgeKind, span: Span| {
        if from != to {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), Edge { kind, span });
        }
    };

    for stage in &program.stages {
        let me = stage.index;
        match &stage.from.base {
            Base::Stage(s) | Base::Tagged { stage: s, .. } => add(&mut graph, *s, me, EdgeKind::From, stage.from.span),
            _ => {}
        }
        let mut mounts: Vec<&Mount> = Vec::new();
        // What this stage does to each resource: (may write, the first instruction touching it).
        let mut touches: BTreeMap<Resource, (bool, Span)> = BTreeMap::new();
        let mut touch = |r: Resource, write: bool, span: Span| {
            let t = touches.entry(r).or_insert((write, span));
            t.0 |= write;
        };
        for (i, item) in stage.items.iter().enumerate() {
            match &item.op {
                Op::Docker(op) => {
                    if let Some((_, Base::Stage(s) | Base::Tagged { stage: s, .. })) = op.copy_from.as_deref() {
                        add(&mut graph, *s, me, EdgeKind::CopyFrom, item.span);
                    }
                    if op.uses_context {
                        touch(Resource::Host, false, item.span);
                    }
                }
                Op::Mount(ms) => {
                    for m in ms.iter() {
                        // A later MOUNT of the same destination replaces the earlier one.
                        mounts.retain(|old| crate::analyze::normalize(&old.dest().value) != crate::analyze::normalize(&m.dest().value));
                        mounts.push(m);
                    }
                    if ms.iter().any(|m| matches!(m, Mount::Bind { .. })) {
                        touch(Resource::Host, false, item.span);
                    }
                }
                // Whatever runs under the MOUNTs may write them (a RUN, an ATTACH, an IMPORT into
                // one); an EXPORT reads through them.
                Op::Run(_) | Op::Attach(_) | Op::Import(_) | Op::Export(_) => {
                    let writes = !matches!(item.op, Op::Export(_));
                    for m in &mounts {
                        match m {
                            Mount::Bind { .. } => touch(Resource::Host, writes && !m.read_only(), item.span),
                            Mount::Volume { dest } => touch(Resource::Volume(crate::analyze::normalize(&dest.value)), writes, item.span),
                        }
                    }
                }
                _ => {}
            }
            if let Op::Export(_) = &item.op {
                let e = ExportRef { stage: me, item: i };
                for p in export_paths(program, e) {
                    placements.insert(&p, exports.len());
                }
                exports.push(e);
            }
            if let Op::Import(t) = &item.op {
                {
                    if exports.is_empty() {
                        errors.push(
                            Diagnostic::error(Code::ImportBeforeExport, "IMPORT before any EXPORT")
                                .at(item.span, "nothing has been EXPORTed at this point of the file")
                                .help("EXPORT the files from an earlier stage: `EXPORT /path/in/builder`"),
                        );
                        continue;
                    }
                    let mut relevant: Vec<usize> = Vec::new();
                    for src in &t.sources {
                        let found = placements.reaching(&store_components(&src.value));
                        if found.is_empty() {
                            let mut placed: Vec<String> = Vec::new();
                            for p in exports.iter().flat_map(|e| export_paths(program, *e)) {
                                if !p.is_empty() && !placed.contains(&p) {
                                    placed.push(p);
                                }
                            }
                            errors.push(import_not_exported(&src.value, src.span, &placed));
                        }
                        relevant.extend(found);
                    }
                    relevant.sort_unstable();
                    relevant.dedup();
                    for &e in &relevant {
                        add(&mut graph, exports[e].stage, me, EdgeKind::Import, item.span);
                    }
                    imports.insert((me, i), relevant);
                }
            }
        }
        for (resource, (writes, span)) in touches {
            let users = resources.entry(resource.clone()).or_default();
            let kind_after_write = if resource == Resource::Host { EdgeKind::HostPath } else { EdgeKind::Volume };
            if let Some(w) = users.last_writer {
                add(&mut graph, w, me, kind_after_write, span);
            }
            if writes {
                let kind_after_read = if resource == Resource::Host { EdgeKind::HostWrite } else { EdgeKind::Volume };
                for r in std::mem::take(&mut users.readers) {
                    add(&mut graph, r, me, kind_after_read, span);
                }
                users.last_writer = Some(me);
            } else {
                users.readers.push(me);
            }
        }
    }

    if let Err(cycle) = toposort(&graph, None) {
        let stage = &program.stages[graph[cycle.node_id()]];
        errors.push(
            Diagnostic::error(Code::StageCycle, format!("{} depends on itself", stage.label())).at(stage.from.span, "this stage is part of a dependency cycle"),
        );
    }
    if errors.is_empty() {
        Ok(StageGraph { graph, exports, imports })
    } else {
        Err(Diagnostics(errors))
    }
}

/// An IMPORT source no EXPORT can provide. The usual mistake is to IMPORT the path the file had
/// in the builder: EXPORT keeps only its last component, as rsync does.
fn import_not_exported(source: &str, span: Span, placed: &[String]) -> Diagnostic {
    let wanted = store_components(source);
    // The store entry the source ends with (`/a/b/c` when `c` or `b/c` is in the store).
    let suffix = (1..wanted.len()).map(|i| wanted[i..].join("/")).find(|tail| placed.iter().any(|p| p == tail || tail.starts_with(&format!("{p}/"))));
    let shown: Vec<String> = placed.iter().map(|p| format!("`{p}`")).collect();
    let label = match &suffix {
        Some(tail) => format!("did you mean `{tail}`?"),
        None => "no EXPORT before this line puts anything at this path of the export store".to_string(),
    };
    let d = Diagnostic::error(Code::ImportNotExported, format!("IMPORT `{source}`: no EXPORT before this line puts anything there"))
        .at(span, label)
        .note(format!("the export store holds: {}", shown.join(", ")));
    let rule = "EXPORT keeps only the last component of the path it copies, as rsync does: `EXPORT /a/b/c` puts `c` in the store";
    match &suffix {
        Some(tail) => d.help(format!("{rule}; IMPORT names it as it is in the store: `{tail}`")),
        None => d.help(format!("{rule}, and `IMPORT c` reads it")),
    }
}

fn transfer_of(program: &Program, e: ExportRef) -> &Transfer {
    match &program.stages[e.stage].items[e.item].op {
        Op::Export(t) => t,
        _ => unreachable!("export refs point at EXPORTs"),
    }
}

/// Store-relative components of a path (`/a/b/` -> `["a", "b"]`).
pub fn store_components(path: &str) -> Vec<String> {
    crate::analyze::normalize(path).split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect()
}

/// Where one EXPORT may place things in the store, as store paths (`""` is the whole store).
fn export_paths(program: &Program, e: ExportRef) -> Vec<String> {
    let t = transfer_of(program, e);
    let dest = store_components(t.dest_str()).join("/");
    let dest_is_dir = t.sources.len() > 1 || t.dest_str().ends_with('/') || dest.is_empty();
    let mut out = Vec::new();
    for src in &t.sources {
        let contents = src.value.ends_with('/') || store_components(&src.value).is_empty();
        let name = store_components(&src.value).pop().unwrap_or_default();
        let join = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { format!("{a}/{b}") };
        if contents {
            out.push(dest.clone());
        } else {
            out.push(join(&dest, &name));
            if !dest_is_dir {
                // A single file EXPORTed to a path that is not a directory takes that name.
                out.push(dest.clone());
            }
        }
    }
    out
}

/// The store paths EXPORTs place things at, as a tree of path components, each node with the
/// EXPORTs (by id) placed exactly there.
///
/// An EXPORT can affect what an IMPORT reads at `source` when one path lies inside the other (or
/// is it): the EXPORTs on the way down to `source` and those anywhere below it. A placement
/// beside the source (`a/s0` for `a/s1`) cannot change it: the store never follows a link, and
/// the parents of a placement that reaches the source are themselves placements that reach it.
/// An IMPORT replays only these EXPORTs and waits only for their stages, so a file whose every
/// stage EXPORTs into one directory stays linear.
#[derive(Default)]
struct StoreTrie {
    /// Node 0 is the store's root; nodes are created on demand.
    nodes: Vec<TrieNode>,
    children: std::collections::HashMap<(usize, String), usize>,
}

#[derive(Default)]
struct TrieNode {
    exports: Vec<usize>,
    children: Vec<usize>,
}

impl StoreTrie {
    fn insert(&mut self, path: &str, export: usize) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut node = 0;
        for c in path.split('/').filter(|c| !c.is_empty()) {
            node = match self.children.get(&(node, c.to_string())) {
                Some(&n) => n,
                None => {
                    let n = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[node].children.push(n);
                    self.children.insert((node, c.to_string()), n);
                    n
                }
            };
        }
        if self.nodes[node].exports.last() != Some(&export) {
            self.nodes[node].exports.push(export);
        }
    }

    /// The EXPORTs that can affect what is read at `wanted`, ascending, without duplicates.
    fn reaching(&self, wanted: &[String]) -> Vec<usize> {
        let mut found = Vec::new();
        if self.nodes.is_empty() {
            return found;
        }
        let mut node = 0;
        found.extend(&self.nodes[0].exports);
        for c in wanted {
            match self.children.get(&(node, c.clone())) {
                Some(&n) => {
                    node = n;
                    found.extend(&self.nodes[n].exports);
                }
                None => {
                    found.sort_unstable();
                    found.dedup();
                    return found;
                }
            }
        }
        // Everything placed inside `wanted`.
        let mut stack: Vec<usize> = self.nodes[node].children.clone();
        while let Some(n) = stack.pop() {
            found.extend(&self.nodes[n].exports);
            stack.extend(&self.nodes[n].children);
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(p: &str) -> Vec<String> {
        store_components(p)
    }

    #[test]
    fn an_import_reaches_the_exports_above_at_and_inside_its_source_only() {
        let mut t = StoreTrie::default();
        assert!(t.reaching(&comps("a")).is_empty());
        t.insert("", 0); // EXPORT /x/ /: the whole store
        t.insert("a/s0", 1);
        t.insert("a/s1", 2);
        t.insert("a", 3);
        t.insert("a/s1/deep/er", 4);
        t.insert("b", 5);
        assert_eq!(t.reaching(&comps("a/s1")), vec![0, 2, 3, 4]);
        assert_eq!(t.reaching(&comps("a")), vec![0, 1, 2, 3, 4]);
        assert_eq!(t.reaching(&comps("a/s1/deep")), vec![0, 2, 3, 4]);
        assert_eq!(t.reaching(&comps("c/d")), vec![0]);
        assert_eq!(t.reaching(&comps("/")), vec![0, 1, 2, 3, 4, 5]);
    }
}
