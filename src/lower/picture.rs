//! Program + stage graph -> a [`Picture`]: what `--emit dot` draws, decided here so that the
//! printer (`emit::dot`) only lays it out.
//!
//! An IMPORT's edges come from the EXPORTs that provide what it reads, as the export store model
//! ([`super::store`], through the BuildKit lowering that resolves every IMPORT against it) has
//! them; where that model cannot (a Rockerfile only the sh backend builds), from every EXPORT that
//! may reach it, as the stage graph has them (the set the sh backend's script replays).

use super::{lines_of, one_line_name, summarize, Lines};
use crate::analyze::{Base, DockerOp, Mount, Op, Program};
use crate::graph::{EdgeKind, StageGraph};
use crate::source::{SourceFile, SourceMap};

/// The stage graph as a picture: one box per stage, its rows, and the edges between them.
#[derive(Clone, Debug)]
pub struct Picture {
    /// The Rockerfile's name, on one line.
    pub source_name: String,
    pub stages: Vec<PictureStage>,
    /// Each IMPORT -> the EXPORTs it reads from, in IMPORT order.
    pub imports: Vec<(ItemAt, Vec<ItemAt>)>,
    /// Stage order the graph imposes beyond FROM, COPY --from and IMPORT: `(from, to, why)`.
    pub orders: Vec<(usize, usize, Order)>,
}

/// An instruction: `(stage, item)`, both 0-based.
pub type ItemAt = (usize, usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// One stage writes a host path another reads.
    HostPath,
    /// One stage reads a host path another writes afterwards.
    HostWrite,
    /// Two stages share a MOUNT volume.
    Volume,
}

#[derive(Clone, Debug)]
pub struct PictureStage {
    pub index: usize,
    pub label: String,
    pub lines: Lines,
    /// The FROM's first line number and text.
    pub from_line: usize,
    pub from_text: String,
    pub base: Image,
    pub rows: Vec<Row>,
}

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Image {
    External(String),
    Stage(usize),
    /// The image a TAG or PUSH at `(stage, item)` names.
    Tag {
        stage: usize,
        item: usize,
    },
    Scratch,
}

/// One instruction of a stage.
#[derive(Clone, Debug)]
pub struct Row {
    pub item: usize,
    pub line: usize,
    /// The instruction on one line.
    pub summary: String,
    pub kind: RowKind,
}

#[derive(Clone, Debug)]
pub enum RowKind {
    /// An instruction counted, not drawn: the keyword.
    Plain(&'static str),
    CopyFrom(Image),
    Mount(Vec<MountSource>),
    Export,
    Import,
    Tag {
        name: String,
        push: bool,
    },
    Attach,
}

#[derive(Clone, Debug)]
pub enum MountSource {
    Volume(String),
    Host { src: String, read_only: bool },
}

fn image(base: &Base) -> Image {
    match base {
        Base::External(name) => Image::External(name.clone()),
        Base::Stage(s) => Image::Stage(*s),
        Base::Tagged { stage, item, .. } => Image::Tag { stage: *stage, item: *item },
        Base::Scratch => Image::Scratch,
    }
}

pub fn picture(program: &Program, graph: &StageGraph, file: &SourceFile, map: &SourceMap) -> Picture {
    // The store model resolves IMPORTs only for a Rockerfile the BuildKit lowering accepts; its
    // errors are that backend's to report, so the picture falls back to the graph's set. The
    // build id only names caches, which the picture does not show.
    let resolved = super::buildkit::plan(program, graph, file, map, "", &[]).ok().map(|ms| ms.import_exports);
    let providers = resolved.as_ref().unwrap_or(&graph.imports);
    let imports = providers
        .iter()
        .map(|(at, exports)| {
            (
                *at,
                exports
                    .iter()
                    .map(|&e| {
                        let x = graph.exports[e];
                        (x.stage, x.item)
                    })
                    .collect(),
            )
        })
        .collect();
    let mut orders = Vec::new();
    for stage in &program.stages {
        for (from, edge) in graph.edges_into(stage.index) {
            let why = match edge.kind {
                EdgeKind::HostPath => Order::HostPath,
                EdgeKind::HostWrite => Order::HostWrite,
                EdgeKind::Volume => Order::Volume,
                _ => continue,
            };
            orders.push((from, stage.index, why));
        }
    }
    let line = |span| lines_of(file, map, span).first;
    let stages = program
        .stages
        .iter()
        .map(|stage| PictureStage {
            index: stage.index,
            label: stage.label(),
            lines: lines_of(file, map, stage.span),
            from_line: line(stage.from.span),
            from_text: stage.from.text.lines().next().unwrap_or_default().trim().to_string(),
            base: image(&stage.from.base),
            rows: stage
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let kind = match &item.op {
                        Op::Docker(DockerOp { copy_from: Some(from), .. }) => RowKind::CopyFrom(image(&from.1)),
                        Op::Docker(_) | Op::Run(_) => RowKind::Plain(item.keyword.as_str()),
                        Op::Mount(ms) => RowKind::Mount(
                            ms.iter()
                                .map(|m| match m {
                                    Mount::Volume { dest } => MountSource::Volume(dest.value.clone()),
                                    Mount::Bind { src, .. } => MountSource::Host { src: src.value.clone(), read_only: m.read_only() },
                                })
                                .collect(),
                        ),
                        Op::Export(_) => RowKind::Export,
                        Op::Import(_) => RowKind::Import,
                        Op::Tag(name) => RowKind::Tag { name: name.to_string(), push: false },
                        Op::Push(name) => RowKind::Tag { name: name.to_string(), push: true },
                        Op::Attach(_) => RowKind::Attach,
                    };
                    Row { item: i, line: line(item.span), summary: summarize(item), kind }
                })
                .collect(),
        })
        .collect();
    Picture { source_name: one_line_name(&file.name), stages, imports, orders }
}
