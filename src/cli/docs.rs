//! `rockerc completions SHELL` and `rockerc man`: both generated from the clap definition, so
//! they cannot fall behind the flags.

use super::Cli;
use clap::CommandFactory;
use clap_mangen::Man;
use std::io::Write;

pub fn completions(shell: clap_complete::Shell) -> i32 {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut Cli::command(), "rockerc", &mut out);
    i32::from(out.flush().is_err())
}

/// One page, rockerc(1), with a section for each subcommand: `rockerc build`'s flags are what
/// Rocker users look up, and one page is what `man rockerc` finds.
pub fn man() -> i32 {
    let mut roff = Vec::new();
    let rendered = render(&mut roff);
    // Each section clap_mangen renders on its own starts with the same two-line preamble; once
    // is enough.
    let text = String::from_utf8_lossy(&roff);
    let mut page = String::new();
    let mut preamble: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq") {
            if preamble.contains(&line) {
                continue;
            }
            preamble.push(line);
        }
        // clap_mangen points at a page per subcommand (`rockerc-build(1)`); here they are
        // sections of this page.
        if let Some(sub) = line.strip_prefix("rockerc\\-").and_then(|l| l.strip_suffix("(1)")) {
            page.push_str(&format!("\\fBrockerc {sub}\\fR (section ROCKERC {} below)\n", sub.to_uppercase()));
            continue;
        }
        page.push_str(line);
        page.push('\n');
    }
    let mut out = std::io::stdout().lock();
    i32::from(rendered.and_then(|_| out.write_all(page.as_bytes())).and_then(|_| out.flush()).is_err())
}

fn render(out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut cmd = Cli::command();
    // Gives each subcommand its full name (`rockerc build`) for its synopsis.
    cmd.build();
    let page = Man::new(cmd.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    page.render_subcommands_section(out)?;
    for sub in cmd.get_subcommands() {
        let name = sub.get_bin_name().unwrap_or(sub.get_name()).to_uppercase();
        let sub_page = Man::new(sub.clone());
        writeln!(out, ".SH \"{name}\"")?;
        let mut text = Vec::new();
        sub_page.render_description_section(&mut text)?;
        text.extend_from_slice(b".PP\n");
        sub_page.render_synopsis_section(&mut text)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            // Its option sections are headed by the subcommand: `ROCKERC BUILD: OPTIONS`.
            sub_page.render_options_section(&mut text)?;
        }
        for line in String::from_utf8_lossy(&text).lines() {
            match line.strip_prefix(".SH ") {
                Some("DESCRIPTION" | "SYNOPSIS") => {}
                Some(heading) => writeln!(out, ".SH \"{name}: {}\"", heading.trim_matches('"'))?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    page.render_extra_section(out)?;
    page.render_version_section(out)
}
