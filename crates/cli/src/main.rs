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

/// mimalloc instead of the system allocator: answering a request allocates and frees many small
/// buffers across threads (a worker builds the body, an async worker frees it), and glibc's
/// malloc spent about a quarter of `userql serve`'s request handling in `malloc`/`free`
/// (`benches/RESULTS.md`, issue 16).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    run::main()
}
