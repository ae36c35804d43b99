//! Row-level checks: whether one user satisfies a bound predicate, read from the user's record.
//!
//! Three production paths check rows one by one instead of reading an index: the executor's
//! residual checks and identity verification ([`crate::execute`]), the overlay, which re-checks
//! the rows changed since the indexes were built ([`crate::overlay`]), and the dialects that read
//! a record directly. They all use this module, and this module uses the directory's own
//! definitions: [`Flag::of_user`](userql_directory::index::Flag::of_user) for every
//! `is:`/`has:` fact (the definition the index precomputes), [`fold`] / [`fold_user_type`] /
//! [`folds_to`] for the one case rule ([`userql_directory::text`]), the index's own service
//! resolver. So a row answers the same whether it is clean (answered by the index) or dirty
//! (checked here).
//!
//! The reference evaluator (`crate::reference`, built only with the `reference` feature for
//! tests and fuzzing) deliberately shares none of this: an oracle must not share code with what
//! it checks.

use std::ops::{Bound, RangeBounds};

use userql_directory::facts::RowFacts;
use userql_directory::index::{
    AccessScope, Indexes, PrefixField, TermField, TextField, TimeColumn,
};
use userql_directory::model::{Model, Row, Scope, User};
use userql_directory::text::{fold, fold_user_type, folds_to};

use crate::bound::{Expr, Pred};

/// Whether user `row` matches `expr`. `facts` are the row's derived facts (groups through
/// subgroups, teams, grants); they may be empty when `expr` needs none ([`needs_facts`]).
pub fn matches(model: &Model, index: &Indexes, facts: &RowFacts, row: Row, expr: &Expr) -> bool {
    match expr {
        Expr::All => true,
        Expr::Nothing => false,
        Expr::Pred(p) => pred_matches(model, index, facts, row, p),
        Expr::Not(e) => !matches(model, index, facts, row, e),
        Expr::And(es) => es.iter().all(|e| matches(model, index, facts, row, e)),
        Expr::Or(es) => es.iter().any(|e| matches(model, index, facts, row, e)),
    }
}

/// Whether checking `expr` on a row needs the row's derived facts, which cost a little to
/// compute per row.
pub fn needs_facts(expr: &Expr) -> bool {
    match expr {
        Expr::All | Expr::Nothing => false,
        Expr::Not(e) => needs_facts(e),
        Expr::And(es) | Expr::Or(es) => es.iter().any(needs_facts),
        Expr::Pred(p) => row_facts_pred(p),
    }
}

/// Whether `expr` needs no derived fact but the row's groups through subgroups (its record and
/// `in:` conditions): checked with [`RowFacts`] that hold only those, it answers exactly.
pub fn needs_only_groups(expr: &Expr) -> bool {
    match expr {
        Expr::All | Expr::Nothing => true,
        Expr::Not(e) => needs_only_groups(e),
        Expr::And(es) | Expr::Or(es) => es.iter().all(needs_only_groups),
        Expr::Pred(p) => matches!(p, Pred::GroupTransitive(_)) || !row_facts_pred(p),
    }
}

/// Predicates answered from derived facts rather than the user's own record.
fn row_facts_pred(pred: &Pred) -> bool {
    matches!(
        pred,
        Pred::GroupTransitive(_)
            | Pred::Team(_)
            | Pred::OwnRole(_)
            | Pred::Access { .. }
            | Pred::InAnyProject
            | Pred::Flag(userql_directory::index::Flag::HasOwnRole)
    )
}

/// Whether user `row` satisfies one predicate.
pub fn pred_matches(
    model: &Model,
    index: &Indexes,
    facts: &RowFacts,
    row: Row,
    pred: &Pred,
) -> bool {
    if let Some(answer) = row_local(model, index, row, pred) {
        return answer;
    }
    // A deleted user (a hole, still named by indexes built before the deletion) matches
    // nothing; the overlay re-checks it as a dirty row anyway.
    let Some(user) = model.users.get(row as usize) else {
        return false;
    };
    match pred {
        Pred::Flag(flag) => flag.of_user(
            user,
            !facts.own_roles.is_empty(),
            model.users.last_access(row as usize),
        ),
        Pred::GroupTransitive(g) => facts.transitive_groups.contains(g),
        Pred::Team(t) => facts.teams.contains(t),
        Pred::OwnRole(r) => facts.own_roles.contains(r),
        Pred::Access { scope, roles } => facts.access.iter().any(|(role, granted)| {
            roles.as_ref().is_none_or(|rs| rs.contains(role)) && covers(model, *granted, *scope)
        }),
        Pred::InAnyProject => facts.access.iter().any(|(_, granted)| match granted {
            Scope::Project(_) => true,
            Scope::Organization(o) => model.projects.iter().any(|p| p.organization == Some(*o)),
            Scope::Global => !model.projects.is_empty(),
        }),
        // Every other predicate is row-local (answered above).
        _ => false,
    }
}

/// Answers the predicates that need nothing but the user's own record (`None` for the others:
/// the `has: ownRole` flag, group closure, teams, grants). The executor uses this for residual
/// checks on few candidates and to verify identity candidates.
pub fn row_local(model: &Model, index: &Indexes, row: Row, pred: &Pred) -> Option<bool> {
    let Some(user) = model.users.get(row as usize) else {
        return Some(false); // a hole: see `pred_matches`
    };
    Some(match pred {
        Pred::Term(field, value) => term(index, user, *field, value),
        Pred::Prefix(PrefixField::Login, p) => fold(&user.login).starts_with(p.as_str()),
        Pred::Prefix(PrefixField::Name, p) => user
            .name
            .as_ref()
            .is_some_and(|n| fold(n).starts_with(p.as_str())),
        Pred::Substring(field, needle) => {
            texts(user, *field).any(|text| fold(text).contains(needle.as_str()))
        }
        Pred::Time(column, lo, hi) => {
            let value = match column {
                TimeColumn::Created => Some(user.created_at),
                TimeColumn::LastAccess => model.users.last_access(row as usize),
                TimeColumn::Updated => Some(user.updated_or_created()),
            };
            value.is_some_and(|v| within(v, *lo, *hi))
        }
        Pred::Number(lo, hi) => within(user.number, *lo, *hi),
        Pred::State(state) => user.state == *state,
        Pred::GroupDirect(g) => user.groups.iter().any(|m| m.group == *g),
        Pred::Organization(o) => user.organizations.contains(o),
        Pred::EnterpriseGroup(g) => user.enterprise_group == Some(*g),
        Pred::OriginService(s) => user.origin_service == Some(*s),
        Pred::License(s) => user.licenses.contains(s),
        Pred::Identity { provider, uid } => user.auth.iter().any(|a| {
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

/// The values a [`TextField`] searches (unfolded).
fn texts(user: &User, field: TextField) -> Box<dyn Iterator<Item = &str> + '_> {
    match field {
        TextField::Login => Box::new(std::iter::once(&*user.login)),
        TextField::Name => Box::new(user.name.as_deref().into_iter()),
        TextField::PrimaryEmail => Box::new(user.email.as_deref().into_iter()),
        TextField::SecondaryEmail => Box::new(user.emails.iter().map(String::as_str)),
        TextField::PublicEmail => Box::new(user.public_email.as_deref().into_iter()),
    }
}

/// An exact term on the record, per the case rule of [`TermField`]'s documentation.
fn term(index: &Indexes, user: &User, field: TermField, value: &str) -> bool {
    let folded = || fold(value);
    let same = |text: &str| fold(text) == folded();
    let same_opt = |text: Option<&str>| text.is_some_and(same);
    let uid_of = |module: &str| {
        user.auth
            .iter()
            .any(|a| folds_to(a.module, module) && a.uid == Some(value))
    };
    match field {
        TermField::Id => &*user.id == value,
        TermField::Login => same(&user.login),
        TermField::Email => same_opt(user.email.as_deref()) || user.emails.iter().any(|e| same(e)),
        TermField::PrimaryEmail => same_opt(user.email.as_deref()),
        TermField::PublicEmail => same_opt(user.public_email.as_deref()),
        TermField::Name => same_opt(user.name.as_deref()),
        TermField::AuthModule => user
            .auth
            .iter()
            .any(|a| same(a.module) || same_opt(a.module_name)),
        TermField::AuthModuleType => user.auth.iter().any(|a| same(a.module)),
        TermField::AuthLogin => user.auth.iter().any(|a| same_opt(a.login)),
        TermField::AuthName => user.auth.iter().any(|a| same_opt(a.name)),
        TermField::AuthEmail => user.auth.iter().any(|a| same_opt(a.email)),
        TermField::AuthUid => user.auth.iter().any(|a| a.uid == Some(value)),
        TermField::GoogleId => uid_of("google"),
        TermField::OpenId => uid_of("openid"),
        TermField::VcsUserName => user.vcs_user_names.iter().any(|v| same(v)),
        TermField::SshKey => user.ssh_keys.iter().any(|k| {
            k.key == value
                || k.key.split_whitespace().nth(1) == Some(value)
                || k.fingerprint == Some(value)
        }),
        TermField::OriginService => user
            .origin_service
            .is_some_and(|s| index.resolve_service(value).contains(&s)),
        TermField::BanStatus => user
            .ban
            .as_ref()
            .is_some_and(|b| same_opt(b.status.as_deref())),
        TermField::UserType => fold_user_type(&user.user_type) == fold_user_type(value),
    }
}

/// Whether a grant at scope `granted` covers the requested scope.
fn covers(model: &Model, granted: Scope, wanted: AccessScope) -> bool {
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

fn within<T: PartialOrd>(value: T, lo: Bound<T>, hi: Bound<T>) -> bool {
    (lo, hi).contains(&value)
}
