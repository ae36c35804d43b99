//! The reference evaluator: a deliberately simple linear scan, kept as the oracle.
//!
//! Test-only: built with the non-default `reference` feature (the engine's tests, the fuzzing
//! crate and the benchmarks turn it on); no library path calls it. It keeps its own definitions
//! of every flag, type list and module rule — an oracle must not share code with what it checks
//! ([`crate::rowcheck`] and the directory's `Flag::of_user`) — written to the same documented case
//! rule (`userql_directory::text`): module types compare folded, user types by `fold_user_type`.
//!
//! It answers a bound expression by looking at every user directly in the [`Model`] — no index —
//! so the indexed engine can be checked against it (proptest, fuzzing, the benchmark's "linear
//! scan" peer). Everything here is written for obviousness, not speed; the only precomputation is
//! [`Facts`], each user's groups, teams and grants derived from the model's definitions
//! ([`userql_directory::facts`]), because walking every grant for every user would be quadratic.

use std::cmp::Ordering;
use std::ops::{Bound, RangeBounds};

use userql_directory::facts::{RowFacts, Subjects};
use userql_directory::index::{
    AccessScope, Flag, PrefixField, SortKey, TermField, TextField, TimeColumn,
};
use userql_directory::model::{Model, Row, Scope, User};
use userql_directory::text::{fold, fold_user_type};

use crate::bound::{Expr, Pred};

/// GitLab's bot user types (hub-query.md `is: bot`).
pub const BOT_TYPES: &[&str] = &[
    "bot",
    "alert_bot",
    "project_bot",
    "support_bot",
    "visual_review_bot",
    "security_bot",
    "automation_bot",
    "security_policy_bot",
    "admin_bot",
    "service_account",
    "duo_code_review_bot",
];

/// Types that are not internal (hub-query.md `is: internal`).
pub const NON_INTERNAL_TYPES: &[&str] =
    &["human", "project_bot", "service_user", "service_account"];

/// Where [`matches`](fn@matches) finds a user's derived facts (groups through subgroups, teams, grants).
pub trait FactSource {
    /// The facts of `row`, if this source has them.
    fn row(&self, row: Row) -> Option<&RowFacts>;
}

/// The facts of every user, derived straight from the model's definitions
/// ([`Subjects::facts`]): linear in users + grants + memberships.
pub struct Facts {
    rows: Vec<RowFacts>,
}

impl Facts {
    /// Computes every user's facts.
    pub fn new(model: &Model) -> Facts {
        let subjects = Subjects::build(model);
        Facts {
            rows: (0..model.users.slots() as Row)
                .map(|row| subjects.facts(model, row))
                .collect(),
        }
    }
}

impl FactSource for Facts {
    fn row(&self, row: Row) -> Option<&RowFacts> {
        self.rows.get(row as usize)
    }
}

/// The facts of one user (the engine's overlay checks dirty rows one at a time).
pub struct OneRow<'a> {
    /// The row.
    pub row: Row,
    /// Its facts.
    pub facts: &'a RowFacts,
}

impl FactSource for OneRow<'_> {
    fn row(&self, row: Row) -> Option<&RowFacts> {
        (row == self.row).then_some(self.facts)
    }
}

static NO_FACTS: RowFacts = RowFacts {
    transitive_groups: Vec::new(),
    teams: Vec::new(),
    access: Vec::new(),
    own_roles: Vec::new(),
};

fn facts_of<F: FactSource + ?Sized>(facts: &F, row: Row) -> &RowFacts {
    facts.row(row).unwrap_or(&NO_FACTS)
}

/// Every row matching `expr`, in row order.
pub fn evaluate<F: FactSource + ?Sized>(model: &Model, facts: &F, expr: &Expr) -> Vec<Row> {
    model
        .users
        .iter()
        .map(|(row, _)| row)
        .filter(|&row| matches(model, facts, row, expr))
        .collect()
}

/// Whether one user matches `expr`.
pub fn matches<F: FactSource + ?Sized>(model: &Model, facts: &F, row: Row, expr: &Expr) -> bool {
    match expr {
        Expr::All => true,
        Expr::Nothing => false,
        Expr::Pred(p) => pred_matches(model, facts, row, p),
        Expr::Not(e) => !matches(model, facts, row, e),
        Expr::And(es) => es.iter().all(|e| matches(model, facts, row, e)),
        Expr::Or(es) => es.iter().any(|e| matches(model, facts, row, e)),
    }
}

/// Whether an auth module type is `wanted` under the case rule.
fn module_is(module: &str, wanted: &str) -> bool {
    fold(module) == wanted
}

/// Whether a user type is one of `types` (written in GitLab's spelling) under the case rule.
fn type_in(user_type: &str, types: &[&str]) -> bool {
    let user_type = fold_user_type(user_type);
    types.iter().any(|t| fold_user_type(t) == user_type)
}

fn eq_folded(a: &str, b: &str) -> bool {
    fold(a) == fold(b)
}

fn opt_eq_folded(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| eq_folded(a, b))
}

/// The text a [`TextField`] searches, folded (none when the user has no value).
pub fn text_values(user: &User, field: TextField) -> Vec<String> {
    match field {
        TextField::Login => vec![fold(&user.login)],
        TextField::Name => user.name.iter().map(|n| fold(n)).collect(),
        TextField::PrimaryEmail => user.email.iter().map(|n| fold(n)).collect(),
        TextField::SecondaryEmail => user.emails.iter().map(|n| fold(n)).collect(),
        TextField::PublicEmail => user.public_email.iter().map(|n| fold(n)).collect(),
    }
}

/// Whether a user holds (role, scope) access covering the requested scope.
pub fn scope_covers(model: &Model, granted: Scope, wanted: AccessScope) -> bool {
    match wanted {
        AccessScope::Any => true,
        AccessScope::Project(p) => match granted {
            Scope::Global => true,
            Scope::Project(q) => q == p,
            Scope::Organization(o) => model.projects[p.index()].organization == Some(o),
        },
        AccessScope::Organization(o) => match granted {
            Scope::Global => true,
            Scope::Organization(q) => q == o,
            Scope::Project(_) => false,
        },
    }
}

fn in_bounds<T: PartialOrd>(value: T, lo: Bound<T>, hi: Bound<T>) -> bool {
    (lo, hi).contains(&value)
}

/// Whether the flag holds for a user, from the definitions in hub-query.md.
pub fn flag_holds<F: FactSource + ?Sized>(model: &Model, facts: &F, row: Row, flag: Flag) -> bool {
    let u = &model.users[row as usize];
    match flag {
        Flag::Admin => u.admin,
        Flag::Guest => u.guest,
        Flag::External => u.external,
        Flag::TwoFactor => u.two_factor,
        Flag::TwoFactorCapable => u.two_factor_capable,
        Flag::RefreshToken => u.refresh_token,
        Flag::PermanentToken => u.permanent_token,
        Flag::ApprovedResource => u.approved_resource,
        Flag::AcceptedEua => u.accepted_eua,
        Flag::HasEmail => u.email.is_some(),
        Flag::VerifiedEmail => u.email.is_some() && u.email_verified,
        Flag::HasPublicEmail => u.public_email.is_some(),
        Flag::HasLastAccess => model.users.last_access(row as usize).is_some(),
        Flag::HasOwnRole => !facts_of(facts, row).own_roles.is_empty(),
        Flag::HasGroup => !u.groups.is_empty(),
        Flag::HasAuth => !u.auth.is_empty(),
        Flag::HasCoreAuth => u.auth.iter().any(|a| module_is(a.module, "core")),
        Flag::HasSshKey => !u.ssh_keys.is_empty(),
        Flag::HasLicense => !u.licenses.is_empty(),
        Flag::HasOriginService => u.origin_service.is_some(),
        Flag::Bot => type_in(&u.user_type, BOT_TYPES),
        Flag::Internal => !type_in(&u.user_type, NON_INTERNAL_TYPES),
        Flag::Human => type_in(&u.user_type, &["human"]),
        Flag::ProjectBot => type_in(&u.user_type, &["project_bot"]),
        Flag::Banned => u.ban.is_some(),
        Flag::HasLdapAuth => u.auth.iter().any(|a| fold(a.module).starts_with("ldap")),
    }
}

fn ssh_matches(user: &User, value: &str) -> bool {
    user.ssh_keys.iter().any(|k| {
        k.key == value
            || k.key.split_whitespace().nth(1) == Some(value)
            || k.fingerprint == Some(value)
    })
}

fn term_matches(user: &User, row: Row, field: TermField, value: &str) -> bool {
    let _ = row;
    match field {
        TermField::Id => &*user.id == value,
        TermField::Login => eq_folded(&user.login, value),
        TermField::Email => {
            opt_eq_folded(user.email.as_deref(), value)
                || user.emails.iter().any(|e| eq_folded(e, value))
        }
        TermField::PrimaryEmail => opt_eq_folded(user.email.as_deref(), value),
        TermField::PublicEmail => opt_eq_folded(user.public_email.as_deref(), value),
        TermField::Name => opt_eq_folded(user.name.as_deref(), value),
        TermField::AuthModule => user
            .auth
            .iter()
            .any(|a| eq_folded(a.module, value) || opt_eq_folded(a.module_name, value)),
        TermField::AuthModuleType => user.auth.iter().any(|a| eq_folded(a.module, value)),
        TermField::AuthLogin => user.auth.iter().any(|a| opt_eq_folded(a.login, value)),
        TermField::AuthName => user.auth.iter().any(|a| opt_eq_folded(a.name, value)),
        TermField::AuthEmail => user.auth.iter().any(|a| opt_eq_folded(a.email, value)),
        TermField::AuthUid => user.auth.iter().any(|a| a.uid == Some(value)),
        TermField::GoogleId => user
            .auth
            .iter()
            .any(|a| module_is(a.module, "google") && a.uid == Some(value)),
        TermField::OpenId => user
            .auth
            .iter()
            .any(|a| module_is(a.module, "openid") && a.uid == Some(value)),
        TermField::VcsUserName => user.vcs_user_names.iter().any(|v| eq_folded(v, value)),
        TermField::SshKey => ssh_matches(user, value),
        TermField::BanStatus => user
            .ban
            .as_ref()
            .is_some_and(|b| opt_eq_folded(b.status.as_deref(), value)),
        TermField::UserType => fold_user_type(&user.user_type) == fold_user_type(value),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Whether one user satisfies one predicate.
pub fn pred_matches<F: FactSource + ?Sized>(
    model: &Model,
    facts: &F,
    row: Row,
    pred: &Pred,
) -> bool {
    if let Some(answer) = row_local_matches(model, row, pred) {
        return answer;
    }
    let u = &model.users[row as usize];
    match pred {
        Pred::Flag(flag) => flag_holds(model, facts, row, *flag),
        Pred::GroupTransitive(g) => facts_of(facts, row).transitive_groups.contains(g),
        Pred::Team(t) => facts_of(facts, row).teams.contains(t),
        Pred::OwnRole(r) => facts_of(facts, row).own_roles.contains(r),
        Pred::Access { scope, roles } => {
            facts_of(facts, row).access.iter().any(|(role, granted)| {
                roles.as_ref().is_none_or(|rs| rs.contains(role))
                    && scope_covers(model, *granted, *scope)
            })
        }
        Pred::InAnyProject => {
            facts_of(facts, row)
                .access
                .iter()
                .any(|(_, granted)| match granted {
                    Scope::Project(_) => true,
                    Scope::Organization(o) => {
                        model.projects.iter().any(|p| p.organization == Some(*o))
                    }
                    Scope::Global => !model.projects.is_empty(),
                })
        }
        _ => {
            let _ = u;
            false
        }
    }
}

/// Answers the predicates that need nothing but the user's own record (`None` for the others:
/// group closure, teams, grants). The executor uses this for residual checks on few candidates.
pub fn row_local_matches(model: &Model, row: Row, pred: &Pred) -> Option<bool> {
    let u = &model.users[row as usize];
    Some(match pred {
        Pred::Term(field, value) => term_matches(u, row, *field, value),
        Pred::Prefix(PrefixField::Login, p) => fold(&u.login).starts_with(p.as_str()),
        Pred::Prefix(PrefixField::Name, p) => u
            .name
            .as_ref()
            .is_some_and(|n| fold(n).starts_with(p.as_str())),
        Pred::Substring(field, needle) => text_values(u, *field)
            .iter()
            .any(|t| t.contains(needle.as_str())),
        Pred::Time(column, lo, hi) => {
            let value = match column {
                TimeColumn::Created => Some(u.created_at),
                TimeColumn::LastAccess => model.users.last_access(row as usize),
                TimeColumn::Updated => Some(u.updated_or_created()),
            };
            value.is_some_and(|v| in_bounds(v, *lo, *hi))
        }
        Pred::Number(lo, hi) => in_bounds(u.number, *lo, *hi),
        Pred::State(state) => u.state == *state,
        Pred::GroupDirect(g) => u.groups.iter().any(|m| m.group == *g),
        Pred::Organization(o) => u.organizations.contains(o),
        Pred::EnterpriseGroup(g) => u.enterprise_group == Some(*g),
        Pred::OriginService(s) => u.origin_service == Some(*s),
        Pred::License(s) => u.licenses.contains(s),
        Pred::Identity { provider, uid } => u.auth.iter().any(|a| {
            provider.as_ref().is_none_or(|p| fold(a.module) == *p)
                && uid
                    .as_ref()
                    .is_none_or(|id| a.uid.as_ref().is_some_and(|x| fold(x) == *id))
        }),
        Pred::Flag(_)
        | Pred::GroupTransitive(_)
        | Pred::Team(_)
        | Pred::OwnRole(_)
        | Pred::Access { .. }
        | Pred::InAnyProject => return None,
    })
}

/// Compares two users by one sort key, ascending; `None` (no value) sorts last in either
/// direction, so it is handled by the caller.
fn key_value(model: &Model, row: Row, user: &User, key: SortKey) -> Option<KeyValue> {
    match key {
        SortKey::Login => Some(KeyValue::Text(fold(&user.login))),
        SortKey::Name => user.name.as_ref().map(|n| KeyValue::Text(fold(n))),
        SortKey::Email => user.email.as_ref().map(|n| KeyValue::Text(fold(n))),
        SortKey::Id => Some(KeyValue::Text(user.id.to_string())),
        SortKey::Created => Some(KeyValue::Int(user.created_at)),
        SortKey::LastAccess => model.users.last_access(row as usize).map(KeyValue::Int),
        SortKey::Updated => Some(KeyValue::Int(user.updated_or_created())),
        SortKey::Number => i64::try_from(user.number).ok().map(KeyValue::Int),
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyValue {
    Int(i64),
    Text(String),
}

/// Compares two users by `keys` (each ascending or descending); users without a value for a key
/// come after all others for that key; remaining ties by id ascending.
pub fn compare_rows(model: &Model, a: Row, b: Row, keys: &[(SortKey, bool)]) -> Ordering {
    let ua = &model.users[a as usize];
    let ub = &model.users[b as usize];
    for &(key, descending) in keys {
        let ordering = match (key_value(model, a, ua, key), key_value(model, b, ub, key)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) if descending => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    ua.id.cmp(&ub.id)
}

/// Sorts rows by `keys` (see [`compare_rows`]).
pub fn sort_rows(model: &Model, rows: &mut [Row], keys: &[(SortKey, bool)]) {
    rows.sort_by(|&a, &b| compare_rows(model, a, b, keys));
}
