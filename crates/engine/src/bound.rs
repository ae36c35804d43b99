//! The bound expression: a query after binding, with typed values and resolved references.
//!
//! Everything here is checked: entity references are indices into the directory, values are folded
//! for the index they will hit, instants are half-open millisecond bounds. Evaluation (the planner,
//! the executor and the reference evaluator) never needs the query text again.

use std::ops::Bound;

use userql_directory::index::{AccessScope, Flag, PrefixField, TermField, TextField, TimeColumn};
use userql_directory::model::{GroupIdx, Millis, OrgIdx, RoleIdx, ServiceIdx, State, TeamIdx};

/// A bound boolean expression over users.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// Every user (the empty query).
    All,
    /// No user (e.g. a permission that no role contains).
    Nothing,
    /// A single predicate.
    Pred(Pred),
    /// Users not matching the operand. A user without a value for a field does not match a
    /// predicate on that field, so `not has: x` / `not login: y` *does* match such users.
    Not(Box<Expr>),
    /// Users matching every operand.
    And(Vec<Expr>),
    /// Users matching any operand.
    Or(Vec<Expr>),
}

/// A predicate that one index answers (and that [`crate::reference`] can check row by row).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pred {
    /// Exact term (value already folded per the field's rule, except exact fields).
    Term(TermField, String),
    /// Folded prefix.
    Prefix(PrefixField, String),
    /// Folded substring.
    Substring(TextField, String),
    /// Time column within bounds; users without a value never match.
    Time(TimeColumn, Bound<Millis>, Bound<Millis>),
    /// `number` within bounds.
    Number(Bound<u64>, Bound<u64>),
    /// A flag bitmap.
    Flag(Flag),
    /// An account state.
    State(State),
    /// Direct members of a group.
    GroupDirect(GroupIdx),
    /// Members of a group or any of its subgroups.
    GroupTransitive(GroupIdx),
    /// Members of a team.
    Team(TeamIdx),
    /// Members of an organization.
    Organization(OrgIdx),
    /// Enterprise users of a top-level group.
    EnterpriseGroup(GroupIdx),
    /// Holds the role by a grant made to the user itself.
    OwnRole(RoleIdx),
    /// Holds one of `roles` (any role when `None`) in `scope`.
    Access {
        /// Where.
        scope: AccessScope,
        /// Which roles (sorted, deduplicated); `None` = any role.
        roles: Option<Vec<RoleIdx>>,
    },
    /// Holds some role in at least one project: a project grant, a grant to an organization that
    /// owns a project, or a global grant while any project exists (GitLab `without_projects` is
    /// the negation).
    InAnyProject,
    /// Imported from the service.
    OriginService(ServiceIdx),
    /// Holds a license for the service.
    License(ServiceIdx),
    /// One auth detail with this module (folded, when given) and this uid (folded, when given).
    Identity {
        /// Auth module type, folded.
        provider: Option<String>,
        /// External uid, folded.
        uid: Option<String>,
    },
}

impl Expr {
    /// Builds an `Or`, collapsing the trivial cases.
    pub fn or(mut operands: Vec<Expr>) -> Expr {
        match operands.len() {
            0 => Expr::Nothing,
            1 => operands.pop().unwrap_or(Expr::Nothing),
            _ => Expr::Or(operands),
        }
    }

    /// Builds an `And`, collapsing the trivial cases.
    pub fn and(mut operands: Vec<Expr>) -> Expr {
        match operands.len() {
            0 => Expr::All,
            1 => operands.pop().unwrap_or(Expr::All),
            _ => Expr::And(operands),
        }
    }

    /// Negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(operand: Expr) -> Expr {
        Expr::Not(Box::new(operand))
    }
}
