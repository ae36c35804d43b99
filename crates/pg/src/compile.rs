//! Compiles a bound request (filter, order, page) to one PostgreSQL statement over the schema in
//! `schema.sql`.
//!
//! Every predicate mirrors the engine's reference evaluator (`userql_engine::reference`) clause
//! by clause, so the two can only differ where PostgreSQL itself would. The rules that keep them
//! identical:
//! - text is compared in the folded columns the loader filled with the engine's own `fold`, and
//!   the value is folded here the same way the reference folds it — PostgreSQL never folds;
//! - substrings and prefixes use `LIKE` with `\`, `%` and `_` escaped, so they match literally;
//! - a nullable column is always tested `col IS NOT NULL AND …`, so every predicate is TRUE or
//!   FALSE, never NULL, and `NOT` means exactly "does not match" (SQL's three-valued logic would
//!   otherwise drop users without a value from `not lastAccess(…)`);
//! - text ordering uses the "C" collation (code-point order, as Rust compares `str`), missing
//!   values last in either direction, ties by id ascending;
//! - an exact or substring lookup in a user's lists (emails, auth details, VCS names, SSH keys) is
//!   `u.row = ANY(ARRAY(subquery))`: the subquery runs once on its index, its few rows (never
//!   NULL) become an array, and the condition is an index condition on `users.row` the planner
//!   can combine with others (a bitmap OR), where a correlated `EXISTS` would scan `users`;
//!   memberships, teams and grants, whose row sets are large, are `u.row IN (subquery)`, a hashed
//!   semi-join (a large array would be searched linearly per user);
//! - PostgreSQL text cannot hold NUL, and the loader refuses directories containing it, so a
//!   value containing NUL matches no stored text: it compiles to FALSE.

use std::ops::Bound;

use userql_directory::index::{
    AccessScope, Flag, PrefixField, SortKey, TermField, TextField, TimeColumn,
};
use userql_directory::model::{Model, RoleIdx};
use userql_directory::text::{fold, fold_user_type};
use userql_engine::bound::{Expr, Pred};
use userql_engine::OrderKey;

use crate::sql::{Builder, Param, Statement};

/// The `users` column holding each flag, computed by the loader with the engine's definition.
/// [`Flag::HasOwnRole`] has no column: it is a grant lookup.
pub const FLAG_COLUMNS: [(Flag, &str); 25] = [
    (Flag::Admin, "f_admin"),
    (Flag::Guest, "f_guest"),
    (Flag::External, "f_external"),
    (Flag::TwoFactor, "f_two_factor"),
    (Flag::TwoFactorCapable, "f_two_factor_capable"),
    (Flag::RefreshToken, "f_refresh_token"),
    (Flag::PermanentToken, "f_permanent_token"),
    (Flag::ApprovedResource, "f_approved_resource"),
    (Flag::AcceptedEua, "f_accepted_eua"),
    (Flag::HasEmail, "f_has_email"),
    (Flag::VerifiedEmail, "f_verified_email"),
    (Flag::HasPublicEmail, "f_has_public_email"),
    (Flag::HasLastAccess, "f_has_last_access"),
    (Flag::HasGroup, "f_has_group"),
    (Flag::HasAuth, "f_has_auth"),
    (Flag::HasCoreAuth, "f_has_core_auth"),
    (Flag::HasSshKey, "f_has_ssh_key"),
    (Flag::HasLicense, "f_has_license"),
    (Flag::HasOriginService, "f_has_origin_service"),
    (Flag::Bot, "f_bot"),
    (Flag::Internal, "f_internal"),
    (Flag::Human, "f_human"),
    (Flag::ProjectBot, "f_project_bot"),
    (Flag::Banned, "f_banned"),
    (Flag::HasLdapAuth, "f_has_ldap_auth"),
];

/// What a compiled request asks for besides its filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Paging {
    /// Sort keys (empty = login ascending); ties by id ascending.
    pub order: Vec<OrderKey>,
    /// Rows skipped.
    pub skip: u64,
    /// Rows returned at most.
    pub top: u64,
}

/// The statement for a bound filter plus paging. It returns one row: `total` (bigint, every match)
/// and `ids` (text[], the page in order).
pub fn statement(catalog: &Model, filter: &Expr, paging: &Paging) -> Statement {
    let mut b = Builder::new();
    let condition = b.capture(|b| expr(b, catalog, filter));
    b.sql("SELECT (SELECT count(*) FROM users u WHERE ");
    b.fragment_sql(&condition);
    b.sql(") AS total,\n  ARRAY(SELECT u.id FROM users u WHERE ");
    b.fragment_sql(&condition);
    b.sql("\n    ORDER BY ");
    order(&mut b, &paging.order);
    b.sql("\n    LIMIT ")
        .param(Param::BigInt(clamp(paging.top)))
        .sql(" OFFSET ")
        .param(Param::BigInt(clamp(paging.skip)))
        .sql(") AS ids");
    b.finish()
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Writes the ORDER BY list: each key, then id ascending.
pub(crate) fn order(b: &mut Builder, keys: &[OrderKey]) {
    let default = [(SortKey::Login, false)];
    let keys = if keys.is_empty() { &default[..] } else { keys };
    for &(key, descending) in keys {
        b.sql(match key {
            SortKey::Login => "u.login_f",
            SortKey::Name => "u.name_f",
            SortKey::Email => "u.email_f",
            SortKey::Id => "u.id",
            SortKey::Created => "u.created_at",
            SortKey::LastAccess => "u.last_access_at",
            SortKey::Updated => "u.updated_at",
            SortKey::Number => "u.number",
        });
        b.sql(if descending {
            " DESC NULLS LAST, "
        } else {
            " ASC NULLS LAST, "
        });
    }
    b.sql("u.id ASC");
}

pub(crate) fn expr(b: &mut Builder, catalog: &Model, e: &Expr) {
    match e {
        Expr::All => {
            b.sql("TRUE");
        }
        Expr::Nothing => {
            b.sql("FALSE");
        }
        Expr::Pred(p) => pred(b, catalog, p),
        Expr::Not(inner) => {
            b.sql("NOT (");
            expr(b, catalog, inner);
            b.sql(")");
        }
        Expr::And(items) => join(b, catalog, items, " AND ", "TRUE"),
        Expr::Or(items) => join(b, catalog, items, " OR ", "FALSE"),
    }
}

fn join(b: &mut Builder, catalog: &Model, items: &[Expr], op: &'static str, empty: &'static str) {
    if items.is_empty() {
        b.sql(empty);
        return;
    }
    b.sql("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            b.sql(op);
        }
        expr(b, catalog, item);
    }
    b.sql(")");
}

/// `LIKE` pattern text with `\`, `%` and `_` taken literally.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn text(value: impl Into<String>) -> Param {
    Param::Text(value.into())
}

fn index(i: u32) -> Param {
    Param::Int(i32::try_from(i).unwrap_or(i32::MAX))
}

/// `col IS NOT NULL AND col = $v`, or `col = $v` for a NOT NULL column.
fn equals(b: &mut Builder, column: &'static str, nullable: bool, value: Param) {
    if nullable {
        b.sql("(").sql(column).sql(" IS NOT NULL AND ");
    }
    b.sql(column).sql(" = ").param(value);
    if nullable {
        b.sql(")");
    }
}

fn like(b: &mut Builder, column: &'static str, nullable: bool, pattern: String) {
    if nullable {
        b.sql("(").sql(column).sql(" IS NOT NULL AND ");
    }
    b.sql(column).sql(" LIKE ").param(text(pattern));
    if nullable {
        b.sql(")");
    }
}

fn pred(b: &mut Builder, catalog: &Model, p: &Pred) {
    if pred_text(p).is_some_and(|t| t.contains('\0')) {
        b.sql("FALSE");
        return;
    }
    match p {
        Pred::Term(field, value) => term(b, *field, value),
        Pred::Prefix(field, prefix) => {
            let pattern = format!("{}%", escape_like(prefix));
            match field {
                PrefixField::Login => like(b, "u.login_f", false, pattern),
                PrefixField::Name => like(b, "u.name_f", true, pattern),
            }
        }
        Pred::Substring(field, needle) => {
            let pattern = format!("%{}%", escape_like(needle));
            match field {
                TextField::Login => like(b, "u.login_f", false, pattern),
                TextField::Name => like(b, "u.name_f", true, pattern),
                TextField::PrimaryEmail => like(b, "u.email_f", true, pattern),
                TextField::PublicEmail => like(b, "u.public_email_f", true, pattern),
                TextField::SecondaryEmail => {
                    b.sql(
                        "u.row = ANY(ARRAY(SELECT e.row FROM user_emails e WHERE e.email_f LIKE ",
                    )
                    .param(text(pattern))
                    .sql("))");
                }
            }
        }
        Pred::Time(column, lo, hi) => {
            let (name, nullable) = match column {
                TimeColumn::Created => ("u.created_at", false),
                TimeColumn::LastAccess => ("u.last_access_at", true),
                TimeColumn::Updated => ("u.updated_at", false),
            };
            range(b, name, nullable, *lo, *hi);
        }
        Pred::Number(lo, hi) => number(b, *lo, *hi),
        Pred::Flag(Flag::HasOwnRole) => {
            b.sql("u.row IN (SELECT g.user_row FROM grants g WHERE g.user_row IS NOT NULL)");
        }
        Pred::Flag(flag) => {
            let column = FLAG_COLUMNS
                .iter()
                .find(|(f, _)| f == flag)
                .map_or("FALSE", |(_, c)| c);
            b.sql("u.").sql(column);
        }
        Pred::State(state) => equals(b, "u.state", false, text(state.as_str())),
        Pred::GroupDirect(g) => {
            b.sql("u.row IN (SELECT m.row FROM memberships m WHERE m.grp = ")
                .param(index(g.0))
                .sql(")");
        }
        Pred::GroupTransitive(g) => {
            b.sql("u.row IN (SELECT m.row FROM group_closure c JOIN memberships m ON m.grp = c.descendant WHERE c.ancestor = ")
                .param(index(g.0))
                .sql(")");
        }
        Pred::Team(t) => {
            b.sql("u.row IN (SELECT tm.row FROM team_members tm WHERE tm.team = ")
                .param(index(t.0))
                .sql(")");
        }
        Pred::Organization(o) => {
            b.sql("u.row IN (SELECT uo.row FROM user_organizations uo WHERE uo.organization = ")
                .param(index(o.0))
                .sql(")");
        }
        Pred::EnterpriseGroup(g) => equals(b, "u.enterprise_group", true, index(g.0)),
        Pred::OwnRole(r) => {
            b.sql("u.row IN (SELECT g.user_row FROM grants g WHERE g.user_row IS NOT NULL AND g.role = ")
                .param(index(r.0))
                .sql(")");
        }
        Pred::Access { scope, roles } => access(b, catalog, *scope, roles.as_deref()),
        Pred::InAnyProject => in_any_project(b, catalog),
        Pred::OriginService(s) => equals(b, "u.origin_service", true, index(s.0)),
        Pred::License(s) => {
            b.sql("u.row IN (SELECT l.row FROM user_licenses l WHERE l.service = ")
                .param(index(s.0))
                .sql(")");
        }
        Pred::Identity { provider, uid } => {
            b.sql("u.row IN (SELECT a.row FROM auth_details a WHERE TRUE");
            if let Some(provider) = provider {
                b.sql(" AND a.module_f = ").param(text(provider.as_str()));
            }
            if let Some(uid) = uid {
                b.sql(" AND a.uid_f = ").param(text(uid.as_str()));
            }
            b.sql(")");
        }
    }
}

/// The text a predicate compares, if any (to catch NUL, which no stored text holds).
fn pred_text(p: &Pred) -> Option<&str> {
    match p {
        Pred::Term(_, v) | Pred::Prefix(_, v) | Pred::Substring(_, v) => Some(v),
        Pred::Identity { provider, uid } => match (provider, uid) {
            (Some(p), _) if p.contains('\0') => Some(p),
            (_, Some(u)) => Some(u),
            _ => None,
        },
        _ => None,
    }
}

fn term(b: &mut Builder, field: TermField, value: &str) {
    let folded = || text(fold(value));
    let auth = |b: &mut Builder, column: &'static str, v: Param| {
        b.sql("u.row = ANY(ARRAY(SELECT a.row FROM auth_details a WHERE ")
            .sql(column)
            .sql(" = ")
            .param(v)
            .sql("))");
    };
    // Module values are shared by many users: a hashed semi-join, not an array.
    let module = |b: &mut Builder, v: Param| {
        b.sql("u.row IN (SELECT a.row FROM auth_details a WHERE a.module_f = ")
            .param(v)
            .sql(")");
    };
    match field {
        TermField::Id => equals(b, "u.id", false, text(value)),
        TermField::Login => equals(b, "u.login_f", false, folded()),
        TermField::Name => equals(b, "u.name_f", true, folded()),
        TermField::PrimaryEmail => equals(b, "u.email_f", true, folded()),
        TermField::PublicEmail => equals(b, "u.public_email_f", true, folded()),
        TermField::Email => {
            b.sql("(");
            equals(b, "u.email_f", true, folded());
            b.sql(" OR u.row = ANY(ARRAY(SELECT e.row FROM user_emails e WHERE e.email_f = ")
                .param(folded())
                .sql(")))");
        }
        TermField::AuthModule => {
            let v = b.bind(folded());
            b.sql("u.row IN (SELECT a.row FROM auth_details a WHERE a.module_f = ")
                .placeholder(v)
                .sql(" OR a.module_name_f = ")
                .placeholder(v)
                .sql(")");
        }
        TermField::AuthModuleType => module(b, folded()),
        TermField::AuthLogin => auth(b, "a.login_f", folded()),
        TermField::AuthName => auth(b, "a.name_f", folded()),
        TermField::AuthEmail => auth(b, "a.email_f", folded()),
        TermField::AuthUid => auth(b, "a.uid", text(value)),
        TermField::GoogleId => {
            b.sql("u.row = ANY(ARRAY(SELECT a.row FROM auth_details a WHERE a.module = 'google' AND a.uid = ")
                .param(text(value))
                .sql("))");
        }
        TermField::OpenId => {
            b.sql("u.row = ANY(ARRAY(SELECT a.row FROM auth_details a WHERE a.module = 'openid' AND a.uid = ")
                .param(text(value))
                .sql("))");
        }
        TermField::VcsUserName => {
            b.sql("u.row = ANY(ARRAY(SELECT v.row FROM vcs_user_names v WHERE v.name_f = ")
                .param(folded())
                .sql("))");
        }
        TermField::SshKey => {
            let v = b.bind(text(value));
            b.sql("u.row = ANY(ARRAY(SELECT k.row FROM ssh_keys k WHERE (k.key = ")
                .placeholder(v)
                .sql(" OR k.blob = ")
                .placeholder(v)
                .sql(" OR k.fingerprint = ")
                .placeholder(v)
                .sql(")))");
        }
        TermField::BanStatus => equals(b, "u.ban_status_f", true, folded()),
        TermField::UserType => equals(b, "u.user_type_f", false, text(fold_user_type(value))),
        // The reference evaluator matches nobody on these (the binder uses dedicated predicates).
        TermField::OriginService => {
            b.sql("FALSE");
        }
    }
}

/// `lo ≤/< col ≤/< hi`; users without a value never match.
fn range(b: &mut Builder, column: &'static str, nullable: bool, lo: Bound<i64>, hi: Bound<i64>) {
    if nullable {
        b.sql("(").sql(column).sql(" IS NOT NULL");
    } else {
        b.sql("(TRUE");
    }
    for (bound, inclusive, exclusive) in [(lo, " >= ", " > "), (hi, " <= ", " < ")] {
        match bound {
            Bound::Included(v) => {
                b.sql(" AND ")
                    .sql(column)
                    .sql(inclusive)
                    .param(Param::BigInt(v));
            }
            Bound::Excluded(v) => {
                b.sql(" AND ")
                    .sql(column)
                    .sql(exclusive)
                    .param(Param::BigInt(v));
            }
            Bound::Unbounded => {}
        }
    }
    b.sql(")");
}

/// `number` bounds: numbers are stored as bigint (the loader refuses larger ones), so bounds past
/// `i64::MAX` are decided here.
fn number(b: &mut Builder, lo: Bound<u64>, hi: Bound<u64>) {
    let max = i64::MAX as u64;
    let lo = match lo {
        Bound::Included(v) if v > max => None,
        Bound::Excluded(v) if v >= max => None,
        Bound::Included(v) => Some(Bound::Included(v as i64)),
        Bound::Excluded(v) => Some(Bound::Excluded(v as i64)),
        Bound::Unbounded => Some(Bound::Unbounded),
    };
    let hi = match hi {
        Bound::Included(v) if v >= max => Bound::Unbounded,
        Bound::Excluded(v) if v > max => Bound::Unbounded,
        Bound::Included(v) => Bound::Included(v as i64),
        Bound::Excluded(v) => Bound::Excluded(v as i64),
        Bound::Unbounded => Bound::Unbounded,
    };
    match lo {
        None => {
            b.sql("FALSE");
        }
        Some(lo) => range(b, "u.number", false, lo, hi),
    }
}

/// `access(…)`: the user is among the holders of one of `roles` (any role when `None`) through a
/// grant whose scope covers `scope` (a global grant covers everything; an organization grant
/// covers the organization and its projects). Holders come from the materialised `access` table
/// (see [`crate::access`]), indexed by role and by scope.
fn access(b: &mut Builder, catalog: &Model, scope: AccessScope, roles: Option<&[RoleIdx]>) {
    b.sql("u.row IN (SELECT h.row FROM access h WHERE TRUE");
    if let Some(roles) = roles {
        b.sql(" AND h.role = ANY(")
            .param(Param::IntArray(roles.iter().map(|r| r.0 as i32).collect()))
            .sql(")");
    }
    match scope {
        AccessScope::Any => {}
        AccessScope::Project(p) => {
            b.sql(" AND (h.project = ").param(index(p.0));
            if let Some(o) = catalog.projects.get(p.index()).and_then(|p| p.organization) {
                b.sql(" OR h.organization = ").param(index(o.0));
            }
            b.sql(" OR (h.project IS NULL AND h.organization IS NULL))");
        }
        AccessScope::Organization(o) => {
            b.sql(" AND (h.organization = ")
                .param(index(o.0))
                .sql(" OR (h.project IS NULL AND h.organization IS NULL))");
        }
    }
    b.sql(")");
}

/// Some role in at least one project: a project grant, an organization grant where the
/// organization owns a project, or a global grant while any project exists.
fn in_any_project(b: &mut Builder, catalog: &Model) {
    if catalog.projects.is_empty() {
        b.sql("FALSE");
        return;
    }
    let mut owning: Vec<i32> = catalog
        .projects
        .iter()
        .filter_map(|p| p.organization.map(|o| o.0 as i32))
        .collect();
    owning.sort_unstable();
    owning.dedup();
    b.sql(
        "u.row IN (SELECT h.row FROM access h WHERE h.project IS NOT NULL OR h.organization = ANY(",
    )
    .param(Param::IntArray(owning))
    .sql(") OR (h.project IS NULL AND h.organization IS NULL))");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
