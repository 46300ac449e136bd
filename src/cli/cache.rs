//! `rockerc cache ls|prune [--id ID] [--older-than DAYS]`: the MOUNT volumes a build id keeps on
//! the engine. The work is the runtime's (`sh build.sh --cache-ls` / `--cache-prune` run the same
//! functions), so the volume names and the use records are read exactly as builds write them.

use crate::emit::{runtime, sh_quote};
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// List MOUNT volumes: name, size, last use, MOUNT path (and, without --id, the build id)
    Ls(CacheArgs),
    /// Remove MOUNT volumes (with --older-than, only those not used for DAYS days)
    Prune {
        #[command(flatten)]
        args: CacheArgs,
        /// Only volumes whose last use is at least DAYS days ago
        #[arg(long = "older-than", value_name = "DAYS")]
        older_than: Option<u32>,
    },
}

#[derive(Args, Debug)]
pub struct CacheArgs {
    /// The build id (as given to `--id`, or the default: the context's absolute path, `:`, the
    /// Rockerfile's name) [default: every rockerc volume on the engine]
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
}

pub fn run(command: &CacheCommand) -> i32 {
    let (what, args, older_than) = match command {
        CacheCommand::Ls(args) => ("ls", args, None),
        CacheCommand::Prune { args, older_than } => ("prune", args, *older_than),
    };
    let Ok(shell) = which::which("sh") else {
        eprintln!("rockerc: error: no `sh` on PATH");
        return 1;
    };
    // One block like every script rockerc writes (emit::sh::READ_WHOLE says why): the runtime,
    // and its command for a cache without a plan (rc_cache_alone).
    let script = format!(
        "{{\nset -eu\n{}\nrc_cache_alone {} {} {what} {}\n}}\n",
        runtime(),
        sh_quote(args.id.as_deref().unwrap_or("")),
        u8::from(args.id.is_none()),
        sh_quote(&older_than.map(|d| d.to_string()).unwrap_or_default())
    );
    let file = match tempfile::Builder::new().prefix("rockerc-cache-").suffix(".sh").tempfile() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rockerc: error: cannot create a temporary file: {}", super::io_reason(&e));
            return 1;
        }
    };
    if let Err(e) = std::fs::write(file.path(), script) {
        eprintln!("rockerc: error: cannot write {}: {}", file.path().display(), super::io_reason(&e));
        return 1;
    }
    match std::process::Command::new(shell).arg(file.path()).status() {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => {
            eprintln!("rockerc: error: cannot run sh: {}", super::io_reason(&e));
            1
        }
    }
}
