//! Changes to a live directory (`userql-changes/1`): the format, a streaming reader of changes
//! files, and their application to the [`crate::Store`] ([`crate::Store::apply_changes`]).

mod apply;
mod error;
mod format;
mod reader;

pub use error::{ChangeError, ChangeErrors, ChangeProblem};
pub use format::{Batch, Change, EntityKind, Membership, Object, Target, FORMAT};
pub use reader::{read_changes, ChangeReader, LocatedBatch, MAX_LINE};

#[cfg(test)]
pub(crate) use apply::apply_changes;
