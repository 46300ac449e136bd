//! BuildKit's s-expression dump of the parser layer: the format of the conformance `result`
//! files, one line per instruction.
//!
//! ```text
//! (copy ["--from=build"] "a" "/b")
//! (env "name" "value" "=")
//! (onbuild (run "echo" "test"))
//! ```
//!
//! The keyword is lower-cased, flags come as a bracketed list, and every node is quoted with Go's
//! `strconv.Quote`. BuildKit drops the arguments of instructions it does not know and prints
//! `(foo "")`; Rocker's instructions are rockerc's own, so they print their real nodes.

use super::ast::{Args, Ast, Instruction, Keyword};
use crate::golang;

/// The whole tree, each instruction on its own line (every line ends with `\n`).
pub fn dump(ast: &Ast) -> String {
    let mut out = String::new();
    for instruction in &ast.instructions {
        out.push('(');
        instruction_into(&mut out, instruction);
        out.push_str(")\n");
    }
    out
}

/// One instruction without the outer parentheses, as BuildKit's `Node.Dump` prints it.
pub fn dump_instruction(instruction: &Instruction) -> String {
    let mut out = String::new();
    instruction_into(&mut out, instruction);
    out
}

fn instruction_into(out: &mut String, instruction: &Instruction) {
    out.push_str(&golang::to_lower(&instruction.keyword.value));
    if !instruction.flags.is_empty() {
        out.push_str(" [");
        for (i, flag) in instruction.flags.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            golang::quote_into(out, flag.as_str());
        }
        out.push(']');
    }
    if instruction.kind == Keyword::Unknown {
        out.push_str(" \"\"");
        return;
    }
    args_into(out, &instruction.args);
}

fn args_into(out: &mut String, args: &Args) {
    let node = |out: &mut String, s: &str| {
        out.push(' ');
        golang::quote_into(out, s);
    };
    match args {
        Args::None => {}
        Args::Json(values) | Args::List(values) | Args::Words(values) => {
            for v in values {
                node(out, &v.value);
            }
        }
        Args::String(s) => node(out, &s.value),
        Args::Pairs(pairs) => {
            for p in pairs {
                node(out, &p.key.value);
                node(out, &p.value.value);
                node(out, if p.equals { "=" } else { "" });
            }
        }
        Args::Healthcheck { kind, command } => {
            node(out, &kind.value);
            args_into(out, command);
        }
        Args::Onbuild(trigger) => {
            out.push_str(" (");
            instruction_into(out, trigger);
            out.push(')');
        }
    }
}
