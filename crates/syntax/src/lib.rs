//! The Hub query language: AST with spans, parsers, canonical printer and typed errors (issue 2).
#![deny(missing_docs)]

pub mod ast;
