//! Grant changes inside a batch ([`Txn`]): existence checks, additions and removals against
//! the transaction's grants by subject ([`Subjects`], kept current with the working model), so
//! no grant change — nor a user deletion's cascade — reads the whole grant list. A removal finds
//! the grant's position by binary search over grant sequence numbers and takes it out of one
//! leaf of the shared grant list.

use super::txn::Txn;
use super::writer::IndexOp;
use crate::error::LoadErrorKind;
use crate::load::places::{Kind, Loc};
use crate::load::resolve_grant;
use crate::model::{self, Row, Subject};
use crate::raw;

impl Txn<'_> {
    /// Whether the working model has a grant equal to `grant`: O(the subject's grants).
    pub(crate) fn has_grant(&self, grant: &model::Grant) -> bool {
        self.subjects
            .count_grants(grant.subject, grant.role, grant.scope)
            > 0
    }

    /// Adds a resolved grant (made in place in the access index, and in the own-role flag of a
    /// user it is granted to: the user's row stays clean).
    pub(crate) fn add_grant(&mut self, grant: model::Grant) {
        self.subjects_written = true;
        self.subjects.grant_added(&grant);
        self.model.grants.push(grant);
        self.ops.push(IndexOp::GrantAdded(grant));
    }

    /// Removes the first grant equal to `grant` from the model and the grants by subject
    /// (not from the indexes); false when there is none.
    fn drop_grant(&mut self, grant: model::Grant) -> bool {
        match self.subjects.grant_removed(&grant) {
            Some(at) => {
                self.subjects_written = true;
                self.model.grants.remove(at);
                true
            }
            None => false,
        }
    }

    /// Removes the first grant equal to `grant`, and from the indexes in place; false when
    /// there is none.
    fn take_grant(&mut self, grant: model::Grant) -> bool {
        let taken = self.drop_grant(grant);
        if taken {
            self.ops.push(IndexOp::GrantRemoved(grant));
        }
        taken
    }

    /// Removes one grant equal to `raw_grant` (an error if there is none).
    pub(crate) fn remove_grant(&mut self, index: usize, raw_grant: &raw::Grant) {
        let Some(grant) = resolve_grant(&mut self.checker, &self.tables, index, raw_grant) else {
            return;
        };
        if !self.take_grant(grant) {
            self.checker.error(
                Loc {
                    kind: Kind::Grant,
                    index,
                    id: &raw_grant.role,
                },
                None,
                LoadErrorKind::NotFound {
                    what: "grant",
                    id: describe_grant(raw_grant),
                },
            );
        }
    }

    /// Removes every grant made to user `row` (a deletion's cascade), in model order, from the
    /// model and the grants by subject: O(the user's grants).
    ///
    /// Not from the indexes: a grant to a user sets only that user's bits (its role's holders
    /// at the scope and their aggregations, its own-role sets and flag), and the deleted row
    /// is a hole, dirty until a whole rebuild drops it from every index: every indexed answer
    /// already leaves it out (`(base ∖ dirty)`, a delta level's rows lose it), as it leaves
    /// out its stale bits in the group and team member sets. Removing them in place was 56 %
    /// of a deletion's instructions (callgrind, `benches/RESULTS.md` "room13").
    pub(crate) fn remove_grants_of_user(&mut self, row: Row) {
        for grant in self.subjects.grants_of_user(row) {
            debug_assert_eq!(grant.subject, Subject::User(row));
            self.drop_grant(grant);
        }
    }
}

/// A grant as a "not found" message names it.
fn describe_grant(grant: &raw::Grant) -> String {
    let mut parts = vec![format!("role {}", grant.role)];
    for (key, value) in [
        ("user", &grant.user),
        ("group", &grant.group),
        ("team", &grant.team),
        ("project", &grant.project),
        ("organization", &grant.organization),
    ] {
        if let Some(value) = value {
            parts.push(format!("{key} {value}"));
        }
    }
    parts.join(", ")
}
