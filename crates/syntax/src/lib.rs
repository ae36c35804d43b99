//! The Hub query language: AST with spans, parsers, canonical printer and typed errors (issue 2).
//!
//! [`parse_query`] turns query text into an [`ast::Query`] (logical tree, spans kept, Hub's
//! juxtaposition rule applied); `Display` on the AST prints the canonical form, which parses back to
//! an equal tree. [`catalogue`] lists every key, tuple and closed value; [`options`] parses the other
//! request parameters (`orderBy`, `fields`, `$skip`, `$top`). The grammar is in [`parser`]'s docs and
//! `grammar/hub.ebnf`.
#![deny(missing_docs)]

pub mod ast;
pub mod catalogue;
mod error;
pub mod lenient;
mod lexeme;
pub mod options;
pub mod parser;
mod printer;

#[cfg(feature = "arbitrary-ast")]
pub mod arbitrary;

pub use error::{render_caret, Error, ErrorKind, Expected};
pub use options::*;
pub use parser::{parse_query, parse_query_with, Limits};
pub use printer::is_bare_safe;
