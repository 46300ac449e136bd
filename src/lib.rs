//! rockerc compiles Rockerfiles into plain Dockerfiles and a POSIX sh script that builds them
//! with nothing but the docker CLI.
//!
//! The pipeline, one module per stage, data flowing one way:
//! [`template`] -> [`syntax`] -> [`analyze`] -> [`graph`] -> [`lower`] -> [`emit`].
//! [`compile`] drives it; [`cli`] is the command line around it.

pub mod analyze;
pub mod cli;
pub mod diagnostic;
pub mod emit;
pub mod golang;
pub mod graph;
pub mod lower;
pub mod shell;
pub mod source;
pub mod syntax;
pub mod template;

use diagnostic::{Diagnostic, Diagnostics};
use emit::{Emitted, Layout};
use source::{SourceFile, SourceMap};
use template::{Rendered, TemplateOptions};

#[derive(Clone, Debug)]
pub struct Options {
    pub template: TemplateOptions,
    /// The build context relative to where the script will live.
    pub context: String,
    /// `--build-arg K=V`.
    pub build_args: Vec<(String, String)>,
    pub layout: Layout,
    /// `--id`: the default build id the script names MOUNT volumes with.
    pub build_id: Option<String>,
    /// The build context on this machine, for lints only (never written into the output).
    pub context_dir: Option<std::path::PathBuf>,
    /// `--allow-mount PATH`: host paths outside the context the script's MOUNTs may bind (absolute).
    pub allow_mounts: Vec<String>,
    /// What the script checks before it builds: that its context holds the Rockerfile it was
    /// compiled from, unchanged (`None`: nothing, as for a Rockerfile read from a pipe).
    pub sources: Option<emit::Sources>,
    /// The Rockerfile's path, when it has one: INCLUDE paths are relative to its folder. `None`
    /// takes the file's name for its path when that names a file.
    pub rockerfile_path: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            template: TemplateOptions::default(),
            context: ".".into(),
            build_args: Vec::new(),
            layout: Layout::Single,
            build_id: None,
            context_dir: None,
            allow_mounts: Vec::new(),
            sources: None,
            rockerfile_path: None,
        }
    }
}

/// A successful compile.
#[derive(Debug)]
pub struct Compiled {
    pub output: Emitted,
    pub warnings: Vec<Diagnostic>,
    pub map: SourceMap,
    /// One line per MOUNT of a host path: what it binds, read-only or writable, and whether it
    /// needs `--allow-mount` (as the script's header says).
    pub host_mounts: Vec<String>,
}

/// A failed compile: diagnostics, and the map their spans need to reach the original file.
#[derive(Debug)]
pub struct Failure {
    pub diagnostics: Vec<Diagnostic>,
    pub map: SourceMap,
}

impl Failure {
    /// All diagnostics as rustc-style text.
    pub fn render(&self, file: &SourceFile, color: bool) -> String {
        self.diagnostics.iter().map(|d| d.render(file, &self.map, color)).collect::<Vec<_>>().join("\n")
    }
}

/// Renders templates; the rendered text is what the later stages see. INCLUDE is not resolved
/// (see [`render_included`]).
pub fn render(file: &SourceFile, options: &TemplateOptions) -> Result<Rendered, Failure> {
    template::render(file, options).map_err(|d| Failure { diagnostics: d.0, map: SourceMap::identity() })
}

/// Renders templates and splices in what INCLUDE names, each fragment rendered with the same
/// variables ([`syntax::include`]): the text the parser sees, and a map that knows which
/// fragment every line came from.
pub fn render_included(file: &SourceFile, options: &Options) -> Result<Rendered, Failure> {
    render_with_includes(file, options).map(|(rendered, ..)| rendered)
}

/// [`render_included`], and the names of the template variables that are set (what REQUIRE
/// checks).
#[allow(clippy::type_complexity)]
fn render_with_includes(
    file: &SourceFile,
    options: &Options,
) -> Result<(Rendered, std::collections::BTreeSet<String>, std::collections::BTreeMap<String, String>), Failure> {
    let _watch = template::memory::watch();
    let vars = template::load_vars(&options.template).map_err(|d| Failure { diagnostics: d.0, map: SourceMap::identity() })?;
    let rendered = template::render_with_vars(file, &options.template, &vars).map_err(|d| Failure { diagnostics: d.0, map: SourceMap::identity() })?;
    let path = options.rockerfile_path.clone().or_else(|| Some(std::path::PathBuf::from(&file.name)).filter(|p| p.is_file()));
    let key = path.as_ref().and_then(|p| p.canonicalize().ok());
    let physical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let rockerfile_dir = key.as_ref().and_then(|k| k.parent()).map(std::path::Path::to_path_buf).unwrap_or_else(|| physical(std::path::Path::new(".")));
    let roots = template::fragment::FragmentRoots {
        context: options.context_dir.as_deref().map(physical).unwrap_or_else(|| rockerfile_dir.clone()),
        rockerfile_dir,
        allowed: options.allow_mounts.iter().map(std::path::PathBuf::from).collect(),
    };
    // `Diagnostic` is the one error type, returned by value by design (see `syntax`).
    #[allow(clippy::result_large_err)]
    let mut load = |from: Option<&std::path::PathBuf>, written: &str| template::fragment::load(&roots, &options.template, &vars, from, written);
    let rendered = syntax::include::splice(file, key, rendered, &mut load).map_err(|f| Failure { diagnostics: f.diagnostics, map: f.map })?;
    let set = vars.values.keys().chain(&options.template.secrets).cloned().collect();
    let values = vars.values.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect();
    Ok((rendered, set, values))
}

/// The fragments a compile read, as `(name, cksum)` for the script's sources: a fragment edited
/// after the compile makes the script stop and say how to compile again, and the no-op check
/// sees it.
fn fragment_sources(map: &SourceMap, sources: Option<&emit::Sources>) -> Option<emit::Sources> {
    let mut sources = sources?.clone();
    for fragment in map.fragments() {
        let bytes = fragment.text.as_bytes();
        let entry = (fragment.name.clone(), format!("{} {}", emit::buildkit::cksum(bytes), bytes.len()));
        if !sources.files.contains(&entry) {
            sources.files.push(entry);
        }
    }
    Some(sources)
}

/// Rockerfile in, script and Dockerfiles out.
pub fn compile(file: &SourceFile, options: &Options) -> Result<Compiled, Failure> {
    compile_to(file, options, emit::Backend::Sh, false)
}

/// Rockerfile in, the output of `backend` out; with `explain`, that output annotated for a
/// learner (Markdown) instead. Every backend sees the same checks up to the build plan, so a
/// Rockerfile one backend rejects the others reject too; the BuildKit backend adds its own.
///
/// The BuildKit backend names MOUNT caches at compile time from `options.build_id`; without one
/// it uses the context's absolute path (`options.context` taken from the current directory) and
/// the Rockerfile's name, as the sh backend's script does when it runs.
pub fn compile_to(file: &SourceFile, options: &Options, backend: emit::Backend, explain: bool) -> Result<Compiled, Failure> {
    let (rendered, set_vars, set_values) = render_with_includes(file, options)?;
    let sources = fragment_sources(&rendered.map, options.sources.as_ref());
    // Template warnings point into the original file; the others are mapped through `map`.
    let template_warnings: Vec<Diagnostic> = rendered.warnings.into_iter().map(Diagnostic::in_original).collect();
    let map = rendered.map.clone();
    let text = rendered.text.as_str();
    // An error where a template printed a missing value is reported as that value.
    let missing = rendered.missing;
    let fail = |d: Diagnostics, map: &SourceMap| Failure { diagnostics: template::missing::blame(d.0, &missing, text), map: map.clone() };

    let parsed = syntax::parse(text).map_err(|d| fail(d.into(), &map))?;
    let mut warnings = template_warnings;
    warnings.extend(parsed.warnings);
    let analyze_options = analyze::Options {
        build_args: options.build_args.clone(),
        context_dir: options.context_dir.clone(),
        allow_mounts: options.allow_mounts.clone(),
        template_vars: Some(set_vars),
        template_values: set_values,
    };
    // The program owns what it needs of the syntax tree: the analysis consumes the tree as it
    // builds the program, so the two are never both whole in memory.
    let program = analyze::analyze_owned(parsed.ast, text, &analyze_options).map_err(|d| fail(d, &map))?;
    warnings.extend(program.warnings.iter().cloned());
    let graph = graph::build(&program).map_err(|d| fail(d, &map))?;
    // After the graph, so that a Rockerfile with errors of both kinds reports the graph's first.
    analyze::check_steps(&program, &options.template.secrets).map_err(|d| fail(d, &map))?;
    // The name as the output's comments show it (control characters escaped).
    let source_name = lower::one_line_name(&file.name);
    let host_mounts = lower::host_mounts(&program, file, &map).iter().map(|m| emit::host_mount_line(&source_name, m, &options.allow_mounts)).collect();
    let text = |script: String| emit::Emitted::text(script, Vec::new());
    // Only the lowering of the backend asked for runs.
    let sh_plan = || {
        let lower_options = lower::LowerOptions { build_args: options.build_args.clone(), secrets: options.template.secrets.clone() };
        lower::lower(&program, &graph, file, &map, &lower_options)
    };
    let output = match backend {
        emit::Backend::Sh if explain => text(emit::explain_sh(&sh_plan(), file)),
        emit::Backend::Sh => {
            let mut plan = sh_plan();
            // Under BuildKit the script builds the BuildKit lowering's Dockerfile in one build
            // where that gives the same images (no MOUNT uses the build id it names caches from).
            if lower::fuse::may_fuse(&program, &options.template.secrets) {
                let ms = lower::buildkit::plan_fused(&program, &graph, file, &map, &options.template.secrets).ok();
                let summaries = lower::fuse::summaries(&program, file, &map);
                plan.fusion = lower::fuse(&program, &plan, ms, &options.template.secrets, &summaries);
            }
            emit::sh(plan, options.layout, &options.context, options.build_id.as_deref(), &options.allow_mounts, sources.as_ref())
        }
        emit::Backend::Dot => text(emit::dot(&lower::picture(&program, &graph, file, &map))),
        emit::Backend::Buildkit => {
            let build_id = options.build_id.clone().unwrap_or_else(|| default_build_id(&options.context, &source_name));
            let ms = lower::buildkit::plan(&program, &graph, file, &map, &build_id, &options.template.secrets).map_err(|d| fail(d, &map))?;
            if explain {
                text(emit::explain_buildkit(&ms, file))
            } else {
                let bk = emit::buildkit::BuildkitOptions {
                    layout: options.layout,
                    context: &options.context,
                    build_id: &build_id,
                    build_args: &options.build_args,
                    allow_mounts: &options.allow_mounts,
                    sources: sources.as_ref(),
                };
                emit::buildkit::buildkit(&ms, &bk)
            }
        }
    };
    // Missing values that caused no error: `RUN echo <no value>` is valid shell, and wrong.
    let mut all = template::missing::warnings(&missing, &rendered.text);
    all.extend(warnings);
    Ok(Compiled { output, warnings: all, map, host_mounts })
}

/// The build id the sh backend's script uses without `--id`: the context's physical absolute
/// path, a colon, and the Rockerfile's name.
pub fn default_build_id(context: &str, rockerfile: &str) -> String {
    let dir = std::fs::canonicalize(context).map(|p| p.display().to_string()).unwrap_or_else(|_| context.to_string());
    format!("{dir}:{rockerfile}")
}
