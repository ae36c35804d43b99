//! The `userql` binary: query a user directory in Hub's language or as GitLab, Terraform
//! Enterprise or ArcGIS would (`docs/cli.md` describes every flag).
//!
//! Modules, one job each: [`args`] (the command line), [`data`] (loading a directory or the demo),
//! [`request`] (one request through `userql_dialects`, for every dialect), [`output`] (the
//! `--format`s), [`repl`] (the interactive loop), [`state`] (`--state DIR`, durable state directories) and
//! [`run`] (subcommands and exit codes).

mod args;
mod data;
mod failure;
mod output;
mod pg;
mod repl;
mod request;
mod run;
mod state;

/// The binary's allocator (feature `mimalloc`, on by default; the library crates set none):
/// answering a request allocates and frees many small buffers across threads and loading a
/// directory allocates millions of small strings (`benches/RESULTS.md`, "Allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    run::main()
}
