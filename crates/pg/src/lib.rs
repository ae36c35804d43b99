//! Push-down to PostgreSQL: the same answers as the in-memory engine, from where the data is.
//!
//! A request — Hub query text with order, page and viewer — is parsed and bound by the engine
//! itself (against the catalog read back from the database: [`catalog`]), then compiled to
//! **one parameterised statement** ([`compile`], built with the typed [`sql`] builder: values are
//! always `$n` parameters, never SQL text) over the schema shipped here ([`schema`]), loaded with
//! `COPY` in one transaction ([`mod@load`]). [`Backend`] ties it together over one connection.
//! Change batches apply one transaction each, with the in-memory store's refusals
//! ([`changes`]); `access(…)` reads a materialised table kept exact by both ([`access`]).
//!
//! The contract is the engine's answer: same total, same ids in the same order. The module docs
//! of [`compile`] list how each source of divergence (case folding, `LIKE` metacharacters, NULLs,
//! collation, NUL) is closed. The Hub language is covered in full, and every other dialect through
//! the dialects' row-source seam ([`dialect`]; see docs/postgresql.md).
#![deny(missing_docs)]

pub mod access;
pub mod backend;
pub mod catalog;
pub mod changes;
pub mod cluster;
pub mod compile;
pub mod dialect;
pub mod error;
pub mod load;
pub mod respond;
pub mod schema;
pub mod sql;

pub use backend::{compile as compile_request, connect, Backend, PgPage};
pub use dialect::PgSource;
pub use error::Error;
pub use load::{load, LoadReport};
pub use schema::Schema;
pub use sql::{Param, Statement};
