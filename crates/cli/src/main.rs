//! The `userql` binary: query a user directory in Hub's language or as GitLab, Terraform
//! Enterprise or ArcGIS would (`spec/cli.md` is the contract).
//!
//! Modules, one job each: [`args`] (the command line), [`data`] (loading a directory or the demo),
//! [`request`] (one request through `userql_dialects`, for every dialect), [`output`] (the
//! `--format`s), [`repl`] (the interactive loop) and [`run`] (subcommands and exit codes).

mod args;
mod data;
mod output;
mod pg;
mod repl;
mod request;
mod run;

fn main() -> std::process::ExitCode {
    run::main()
}
