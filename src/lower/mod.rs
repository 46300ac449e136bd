//! Program + stage graph -> a build plan, one lowering per backend; `emit` only prints plans.
//!
//! - [`sh`]: the sh backend's [`BuildPlan`], steps of generated Dockerfiles and script actions
//!   for Docker's legacy builder;
//! - [`buildkit`]: the BuildKit backend's [`MultiStage`], one multi-stage Dockerfile and the
//!   targets its script builds;
//! - [`store`]: Rocker's export store modelled at compile time, which the BuildKit lowering
//!   turns IMPORTs into `COPY --from` with and the stage graph picture draws its IMPORT edges from;
//! - [`fuse`]: when the sh backend's steps can be one BuildKit build of the BuildKit lowering's
//!   Dockerfile (the script does that under BuildKit);
//! - [`picture`]: the stage graph as `--emit dot` draws it.
//!
//! Every line number a lowering writes is a line of the Rockerfile the user wrote ([`lines_of`]).

pub mod buildkit;
mod cksum;
pub mod fuse;
mod picture;
mod plan;
mod sh;
pub mod store;

pub use buildkit::{summarize, DLine, DStage, How, MultiStage, Role, Secret, Target, TargetKind};
pub use cksum::{cksum, volume_name};
pub use fuse::{fuse, Fusion, Vertex};
pub use picture::{picture, Image, MountSource, Order, Picture, PictureStage, Row, RowKind};
pub use plan::*;
pub use sh::lower;

use crate::analyze::{Op, Program};
use crate::source::{SourceFile, SourceMap, Span};

pub use crate::source::Lines;

/// 1-based Rockerfile lines of a span of the rendered text: the one way every lowering gets a
/// line number (through the source map, then the file's line table).
pub fn lines_of(file: &SourceFile, map: &SourceMap, span: Span) -> Lines {
    file.lines_of(map.span_to_original(span))
}

/// A file name fit for a one-line comment: control characters are escaped (`\n`).
pub fn one_line_name(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// `ROCKERC_STAGE_1` for alias `rockerc-stage-1`.
pub fn build_arg_name(alias: &str) -> String {
    alias.to_uppercase().replace(['-', '.'], "_")
}

/// Every MOUNT of a host path, in the order written: what the script's header lists and
/// `--allow-mount` is about.
pub fn host_mounts(program: &Program, file: &SourceFile, map: &SourceMap) -> Vec<HostMount> {
    let mut out = Vec::new();
    for item in program.stages.iter().flat_map(|s| &s.items) {
        let Op::Mount(ms) = &item.op else { continue };
        for m in ms {
            if let Mount::Bind { src, dest, .. } = m {
                out.push(HostMount {
                    src: src.value.clone(),
                    dest: dest.value.clone(),
                    read_only: m.read_only(),
                    lines: lines_of(file, map, item.span),
                    src_at: src.span.start,
                });
            }
        }
    }
    out
}

/// A JSON string literal (for the exec-form lines rockerc writes itself).
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// What the plans say about paths, for the printers (which see no analyzer types).
pub use crate::analyze::{in_context_path, normalize, Mount};
