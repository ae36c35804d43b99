//! Bind, plan, execute and explain Hub queries over a directory snapshot (issue 4).
#![deny(missing_docs)]
