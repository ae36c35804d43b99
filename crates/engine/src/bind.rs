//! The binder: AST + directory → [`bound::Expr`](crate::bound::Expr).
//!
//! Binding resolves every key (the parser already normalised aliases), types every value
//! (instants, ranges, booleans, enumerations), resolves entity references against the directory
//! (id, then key, then name; several matches at the winning level are OR-ed), and enforces the
//! viewer's visibility rules. Every mistake becomes an [`Error`] with the span of the offending
//! key or value.

use std::ops::Bound;

use userql_directory::index::{
    AccessScope, Flag, Indexes, PrefixField, TermField, TextField, TimeColumn,
};
use userql_directory::model::{Millis, Model, RoleIdx, State};
use userql_directory::text::{fold, fold_user_type};
use userql_syntax::ast::{self, Atom, ExprKind, ValueKind};
use userql_syntax::catalogue::{self, KeyKind, TupleKind};

use crate::bound::{Expr, Pred};
use crate::error::{Error, ErrorKind};
use crate::instant::{parse_period, Period};

/// Everything binding needs besides the query.
pub struct BindContext<'a> {
    /// The directory.
    pub model: &'a Model,
    /// Its indexes (entity resolution).
    pub index: &'a Indexes,
    /// Whether the viewer is an administrator (may filter on private attributes).
    pub admin: bool,
    /// The clock for relative instants.
    pub now: Millis,
    /// Unknown entities match nothing instead of failing.
    pub lenient: bool,
}

/// Binds a parsed query.
pub fn bind(query: &ast::Query, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    match &query.expr {
        None => Ok(Expr::All),
        Some(expr) => bind_expr(expr, ctx),
    }
}

/// Iterative over `And`/`Or` chains would not buy anything: the parser bounds the depth.
fn bind_expr(expr: &ast::Expr, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    match &expr.kind {
        ExprKind::Or(items) => Ok(Expr::Or(
            items
                .iter()
                .map(|e| bind_expr(e, ctx))
                .collect::<Result<_, _>>()?,
        )),
        ExprKind::And(items) => Ok(Expr::And(
            items
                .iter()
                .map(|e| bind_expr(e, ctx))
                .collect::<Result<_, _>>()?,
        )),
        ExprKind::Not(inner) => Ok(Expr::not(bind_expr(inner, ctx)?)),
        ExprKind::Text(text) | ExprKind::Phrase(text) => Ok(bind_text(text, ctx)),
        ExprKind::Field(field) => bind_field(field, ctx),
        ExprKind::Tuple(tuple) => bind_tuple(tuple, ctx),
    }
}

/// Free text: a substring of the login, full name or emails (admin) / public email (others).
fn bind_text(text: &str, ctx: &BindContext<'_>) -> Expr {
    let needle = fold(text);
    let fields: &[TextField] = if ctx.admin {
        &[
            TextField::Login,
            TextField::Name,
            TextField::PrimaryEmail,
            TextField::SecondaryEmail,
        ]
    } else {
        &[TextField::Login, TextField::Name, TextField::PublicEmail]
    };
    Expr::or(
        fields
            .iter()
            .map(|f| Expr::Pred(Pred::Substring(*f, needle.clone())))
            .collect(),
    )
}

fn err(span: &std::ops::Range<usize>, kind: ErrorKind) -> Error {
    Error::new(span.clone(), kind)
}

fn forbid_private(key: &ast::Name, ctx: &BindContext<'_>) -> Result<(), Error> {
    if !ctx.admin && catalogue::is_private_key(&key.normalized) {
        return Err(err(
            &key.span,
            ErrorKind::Forbidden {
                key: key.normalized.clone(),
            },
        ));
    }
    Ok(())
}

fn bind_field(field: &ast::Field, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    forbid_private(&field.key, ctx)?;
    let values = field
        .values
        .iter()
        .map(|v| bind_value(&field.key, v, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Expr::or(values))
}

/// The single atom of a value, or the right error for a range.
fn single<'v>(key: &ast::Name, value: &'v ast::Value) -> Result<&'v Atom, Error> {
    match &value.kind {
        ValueKind::Single(atom) => Ok(atom),
        ValueKind::Range(..) => Err(err(
            &value.span,
            ErrorKind::RangeNotAllowed {
                key: key.normalized.clone(),
            },
        )),
    }
}

fn term(field: TermField, atom: &Atom) -> Expr {
    Expr::Pred(Pred::Term(field, atom.text.clone()))
}

fn bind_value(key: &ast::Name, value: &ast::Value, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    // The catalogue says what the key means; an unknown one is reported on its value.
    let Some(info) = catalogue::field_info(&key.normalized) else {
        let atom = single(key, value)?;
        return Err(err(
            &key.span,
            ErrorKind::BadValue {
                key: key.normalized.clone(),
                value: atom.text.clone(),
                expected: "a key that can be used as a field".into(),
            },
        ));
    };
    // Ranges are allowed for some kinds only: the others ask for their single atom.
    let atom = || single(key, value);
    let expr = match info.kind {
        KeyKind::Created => time_value(key, value, TimeColumn::Created, ctx)?,
        KeyKind::LastAccess => time_value(key, value, TimeColumn::LastAccess, ctx)?,
        KeyKind::Number => number_value(key, value)?,
        KeyKind::Id => term(TermField::Id, atom()?),
        KeyKind::Login => term(TermField::Login, atom()?),
        KeyKind::LoginStartsWith => {
            Expr::Pred(Pred::Prefix(PrefixField::Login, fold(&atom()?.text)))
        }
        KeyKind::Name => term(TermField::Name, atom()?),
        KeyKind::NameStartsWith => {
            let prefix = fold(&atom()?.text);
            Expr::or(vec![
                Expr::Pred(Pred::Prefix(PrefixField::Name, prefix.clone())),
                Expr::Pred(Pred::Prefix(PrefixField::Login, prefix)),
            ])
        }
        KeyKind::Email => term(TermField::Email, atom()?),
        KeyKind::LoginContains => {
            Expr::Pred(Pred::Substring(TextField::Login, fold(&atom()?.text)))
        }
        KeyKind::NameContains => Expr::Pred(Pred::Substring(TextField::Name, fold(&atom()?.text))),
        KeyKind::EmailContains => Expr::Pred(Pred::Substring(
            TextField::PrimaryEmail,
            fold(&atom()?.text),
        )),
        KeyKind::PublicEmail => term(TermField::PublicEmail, atom()?),
        KeyKind::After => {
            let period = period_of(key, atom()?, ctx)?;
            Expr::Pred(Pred::Time(
                TimeColumn::Created,
                Bound::Included(period.end),
                Bound::Unbounded,
            ))
        }
        KeyKind::Before => {
            let period = period_of(key, atom()?, ctx)?;
            Expr::Pred(Pred::Time(
                TimeColumn::Created,
                Bound::Unbounded,
                Bound::Excluded(period.start),
            ))
        }
        KeyKind::VcsUserName => term(TermField::VcsUserName, atom()?),
        KeyKind::OwnRole => resolve_any(
            atom()?,
            "role",
            ctx,
            |r| ctx.index.resolve_role(r),
            role_names,
            Pred::OwnRole,
        )?,
        KeyKind::Group => resolve_any(
            atom()?,
            "group",
            ctx,
            |r| ctx.index.resolve_group(r),
            group_names,
            Pred::GroupDirect,
        )?,
        KeyKind::In => bind_in(atom()?, ctx)?,
        KeyKind::Team => resolve_any(
            atom()?,
            "team",
            ctx,
            |r| ctx.index.resolve_team(r),
            team_names,
            Pred::Team,
        )?,
        KeyKind::Organization => resolve_any(
            atom()?,
            "organization",
            ctx,
            |r| ctx.index.resolve_organization(r),
            org_names,
            Pred::Organization,
        )?,
        KeyKind::EnterpriseGroup => resolve_any(
            atom()?,
            "group",
            ctx,
            |r| ctx.index.resolve_group(r),
            group_names,
            Pred::EnterpriseGroup,
        )?,
        KeyKind::AuthModule => term(TermField::AuthModule, atom()?),
        KeyKind::AuthLogin => term(TermField::AuthLogin, atom()?),
        KeyKind::AuthName => term(TermField::AuthName, atom()?),
        KeyKind::AuthEmail => term(TermField::AuthEmail, atom()?),
        KeyKind::GoogleId => term(TermField::GoogleId, atom()?),
        KeyKind::OpenId => term(TermField::OpenId, atom()?),
        KeyKind::OriginService => resolve_any(
            atom()?,
            "service",
            ctx,
            |r| ctx.index.resolve_service(r),
            service_names,
            Pred::OriginService,
        )?,
        KeyKind::HasLicense => resolve_any(
            atom()?,
            "service",
            ctx,
            |r| ctx.index.resolve_service(r),
            service_names,
            Pred::License,
        )?,
        KeyKind::SshPublicKey => term(TermField::SshKey, atom()?),
        KeyKind::BanStatus => term(TermField::BanStatus, atom()?),
        KeyKind::Type => Expr::Pred(Pred::Term(
            TermField::UserType,
            fold_user_type(&atom()?.text),
        )),
        KeyKind::Is => bind_is(key, atom()?, ctx)?,
        KeyKind::Has => bind_has(key, atom()?, ctx)?,
        KeyKind::State => {
            let folded = fold(&atom()?.text);
            match State::parse(&folded) {
                Some(state) => Expr::Pred(Pred::State(state)),
                None => {
                    let names: Vec<&str> = State::ALL.iter().map(|s| s.as_str()).collect();
                    return Err(err(
                        &atom()?.span,
                        ErrorKind::UnknownValue {
                            key: "state".into(),
                            value: atom()?.text.clone(),
                            expected: names.join(", "),
                            suggestion: catalogue::suggest(&atom()?.text, &names)
                                .map(str::to_string),
                        },
                    ));
                }
            }
        }
    };
    Ok(expr)
}

fn bind_in(atom: &Atom, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    // `in:` resolves among groups and teams together (the index's one resolver decides the level).
    let (groups, teams) = ctx.index.resolve_group_or_team(&atom.text);
    let preds: Vec<Pred> = groups
        .into_iter()
        .map(Pred::GroupTransitive)
        .chain(teams.into_iter().map(Pred::Team))
        .collect();
    if preds.is_empty() {
        if ctx.lenient {
            return Ok(Expr::Nothing);
        }
        let mut names = group_names(ctx);
        names.extend(team_names(ctx));
        return Err(unknown_entity(atom, "group or team", &names));
    }
    Ok(Expr::or(preds.into_iter().map(Expr::Pred).collect()))
}

fn names_of<T: Clone>(
    items: &userql_directory::shared::Chunked<T>,
    name: impl Fn(&T) -> &str,
) -> Vec<String> {
    items.iter().map(|i| name(i).to_string()).collect()
}

fn role_names(ctx: &BindContext<'_>) -> Vec<String> {
    names_of(&ctx.model.roles, |r| &r.name)
}
fn permission_names(ctx: &BindContext<'_>) -> Vec<String> {
    names_of(&ctx.model.permissions, |p| &p.name)
}
fn group_names(ctx: &BindContext<'_>) -> Vec<String> {
    names_of(&ctx.model.groups, |g| &g.name)
}
fn team_names(ctx: &BindContext<'_>) -> Vec<String> {
    names_of(&ctx.model.teams, |t| &t.name)
}
fn org_names(ctx: &BindContext<'_>) -> Vec<String> {
    names_of(&ctx.model.organizations, |o| &o.name)
}
fn project_names(ctx: &BindContext<'_>) -> Vec<String> {
    let mut names = names_of(&ctx.model.projects, |p| &p.name);
    names.extend(ctx.model.projects.iter().filter_map(|p| p.key.clone()));
    names
}
fn service_names(ctx: &BindContext<'_>) -> Vec<String> {
    names_of(&ctx.model.services, |s| &s.name)
}

/// Up to three known names closest to `written` (edit distance on folded text).
pub fn nearest(written: &str, known: &[String]) -> Vec<String> {
    let target = fold(written);
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .map(|k| (edit_distance(&target, &fold(k)), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(2))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, k)| k.clone()).collect()
}

/// The catalogue's edit distance over the first 256 chars of each name (entity names come from
/// the directory, so their length is not bounded by the catalogue).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(256).collect();
    let b: Vec<char> = b.chars().take(256).collect();
    catalogue::edit_distance(&a, &b)
}

fn unknown_entity(atom: &Atom, entity: &'static str, known: &[String]) -> Error {
    err(
        &atom.span,
        ErrorKind::UnknownEntity {
            entity,
            name: atom.text.clone(),
            suggestions: nearest(&atom.text, known),
        },
    )
}

/// Resolves an entity reference and ORs one predicate per match (an unknown reference is an
/// error with suggestions, or matches nothing in lenient mode).
fn resolve_any<T>(
    atom: &Atom,
    entity: &'static str,
    ctx: &BindContext<'_>,
    lookup: impl Fn(&str) -> Vec<T>,
    known: fn(&BindContext<'_>) -> Vec<String>,
    to_pred: impl Fn(T) -> Pred,
) -> Result<Expr, Error> {
    let found = resolve(atom, entity, ctx, lookup, || known(ctx))?;
    Ok(Expr::or(
        found.into_iter().map(|t| Expr::Pred(to_pred(t))).collect(),
    ))
}

fn resolve<T>(
    atom: &Atom,
    entity: &'static str,
    ctx: &BindContext<'_>,
    lookup: impl Fn(&str) -> Vec<T>,
    known: impl FnOnce() -> Vec<String>,
) -> Result<Vec<T>, Error> {
    let found = lookup(&atom.text);
    if found.is_empty() && !ctx.lenient {
        return Err(unknown_entity(atom, entity, &known()));
    }
    Ok(found)
}

fn period_of(key: &ast::Name, atom: &Atom, ctx: &BindContext<'_>) -> Result<Period, Error> {
    parse_period(&atom.text, ctx.now).map_err(|e| {
        err(
            &atom.span,
            ErrorKind::BadValue {
                key: key.normalized.clone(),
                value: atom.text.clone(),
                expected: e.to_string(),
            },
        )
    })
}

/// `created:` / `lastAccess:` with a single period or a range of periods.
fn time_value(
    key: &ast::Name,
    value: &ast::Value,
    column: TimeColumn,
    ctx: &BindContext<'_>,
) -> Result<Expr, Error> {
    let (lo, hi) = match &value.kind {
        ValueKind::Single(atom) => {
            let p = period_of(key, atom, ctx)?;
            (Bound::Included(p.start), Bound::Excluded(p.end))
        }
        ValueKind::Range(a, b) => {
            let lo = match a {
                ast::Bound::Open => Bound::Unbounded,
                ast::Bound::Value(atom) => Bound::Included(period_of(key, atom, ctx)?.start),
            };
            let hi = match b {
                ast::Bound::Open => Bound::Unbounded,
                ast::Bound::Value(atom) => Bound::Excluded(period_of(key, atom, ctx)?.end),
            };
            (lo, hi)
        }
    };
    Ok(Expr::Pred(Pred::Time(column, lo, hi)))
}

fn parse_number(key: &ast::Name, atom: &Atom) -> Result<u64, Error> {
    atom.text.trim().parse().map_err(|_| {
        err(
            &atom.span,
            ErrorKind::BadValue {
                key: key.normalized.clone(),
                value: atom.text.clone(),
                expected: "a non-negative integer".into(),
            },
        )
    })
}

fn number_value(key: &ast::Name, value: &ast::Value) -> Result<Expr, Error> {
    let (lo, hi) = match &value.kind {
        ValueKind::Single(atom) => {
            let n = parse_number(key, atom)?;
            (Bound::Included(n), Bound::Included(n))
        }
        ValueKind::Range(a, b) => {
            let lo = match a {
                ast::Bound::Open => Bound::Unbounded,
                ast::Bound::Value(atom) => Bound::Included(parse_number(key, atom)?),
            };
            let hi = match b {
                ast::Bound::Open => Bound::Unbounded,
                ast::Bound::Value(atom) => Bound::Included(parse_number(key, atom)?),
            };
            (lo, hi)
        }
    };
    Ok(Expr::Pred(Pred::Number(lo, hi)))
}

/// Looks a closed-set value up case-insensitively (whitespace folded).
fn closed_value(key: &str, atom: &Atom, allowed: &[&'static str]) -> Result<&'static str, Error> {
    let folded = fold(&atom.text);
    allowed
        .iter()
        .find(|v| fold(v) == folded)
        .copied()
        .ok_or_else(|| {
            err(
                &atom.span,
                ErrorKind::UnknownValue {
                    key: key.to_string(),
                    value: atom.text.clone(),
                    expected: allowed.join(", "),
                    suggestion: catalogue::suggest(&atom.text, allowed).map(str::to_string),
                },
            )
        })
}

/// A catalogue value this binder has no meaning for: a catalogue/binder mismatch, reported as an
/// error rather than a panic so a new catalogue entry can never crash a server.
fn unbound_value(key: &str, value: &str, atom: &Atom) -> Error {
    err(
        &atom.span,
        ErrorKind::BadValue {
            key: key.to_string(),
            value: value.to_string(),
            expected: "a value this version of userql can evaluate".into(),
        },
    )
}

fn bind_is(key: &ast::Name, atom: &Atom, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    let allowed: Vec<&'static str> = catalogue::IS_VALUES.iter().map(|v| v.name).collect();
    let value = closed_value("is", atom, &allowed)?;
    if value == "supporting2FA" && !ctx.admin {
        return Err(err(
            &(key.span.start..atom.span.end),
            ErrorKind::Forbidden {
                key: "is: supporting2FA".into(),
            },
        ));
    }
    Ok(match value {
        "banned" => Expr::Pred(Pred::State(State::Banned)),
        "guest" => Expr::Pred(Pred::Flag(Flag::Guest)),
        "supporting2FA" => Expr::Pred(Pred::Flag(Flag::TwoFactorCapable)),
        "admin" => Expr::Pred(Pred::Flag(Flag::Admin)),
        "external" => Expr::Pred(Pred::Flag(Flag::External)),
        "bot" => Expr::Pred(Pred::Flag(Flag::Bot)),
        "internal" => Expr::Pred(Pred::Flag(Flag::Internal)),
        "suspended" => Expr::not(Expr::Pred(Pred::State(State::Active))),
        other => return Err(unbound_value("is", other, atom)),
    })
}

fn bind_has(key: &ast::Name, atom: &Atom, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    let allowed: Vec<&'static str> = catalogue::HAS_VALUES.iter().map(|v| v.name).collect();
    let value = closed_value("has", atom, &allowed)?;
    if !ctx.admin && catalogue::is_private_has(value) {
        let shown = if value.contains(' ') {
            format!("has: {{{value}}}")
        } else {
            format!("has: {value}")
        };
        return Err(err(
            &(key.span.start..atom.span.end),
            ErrorKind::Forbidden { key: shown },
        ));
    }
    let flag = match value {
        "lastAccess" => Flag::HasLastAccess,
        "ownRole" => Flag::HasOwnRole,
        "group" => Flag::HasGroup,
        "2FA" => Flag::TwoFactor,
        "authMethod" => Flag::HasAuth,
        "email" => Flag::HasEmail,
        "verifiedEmail" => Flag::VerifiedEmail,
        "originService" => Flag::HasOriginService,
        "login" => Flag::HasCoreAuth,
        "sshPublicKey" => Flag::HasSshKey,
        "license" => Flag::HasLicense,
        "approved resource" => Flag::ApprovedResource,
        "refresh token" => Flag::RefreshToken,
        "permanent token" => Flag::PermanentToken,
        "accepted end-user agreement" => Flag::AcceptedEua,
        "ldapIdentity" => Flag::HasLdapAuth,
        "projectRole" => return Ok(Expr::Pred(Pred::InAnyProject)),
        "publicEmail" => Flag::HasPublicEmail,
        other => return Err(unbound_value("has", other, atom)),
    };
    Ok(Expr::Pred(Pred::Flag(flag)))
}

fn bind_tuple(tuple: &ast::Tuple, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    forbid_private(&tuple.name, ctx)?;
    match catalogue::tuple_info(&tuple.name.normalized).map(|t| t.kind) {
        Some(TupleKind::Access) => bind_access(tuple, ctx),
        Some(TupleKind::LastAccess) => bind_last_access(tuple, ctx),
        Some(TupleKind::Identity) => bind_identity(tuple),
        None => Err(err(
            &tuple.name.span,
            ErrorKind::BadValue {
                key: tuple.name.normalized.clone(),
                value: String::new(),
                expected: "access(…), lastAccess(…) or identity(…)".into(),
            },
        )),
    }
}

fn arg<'t>(tuple: &'t ast::Tuple, names: &[&str]) -> Option<&'t ast::Field> {
    tuple
        .args
        .iter()
        .find(|a| names.contains(&a.key.normalized.as_str()))
}

fn singles(field: &ast::Field) -> Result<Vec<&Atom>, Error> {
    field.values.iter().map(|v| single(&field.key, v)).collect()
}

fn bind_access(tuple: &ast::Tuple, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    let mut scopes: Vec<AccessScope> = Vec::new();
    if let Some(project) = arg(tuple, &["project"]) {
        for atom in singles(project)? {
            let found = resolve(
                atom,
                "project",
                ctx,
                |r| ctx.index.resolve_project(r),
                || project_names(ctx),
            )?;
            scopes.extend(found.into_iter().map(AccessScope::Project));
        }
    } else if let Some(org) = arg(tuple, &["organization"]) {
        for atom in singles(org)? {
            let found = resolve(
                atom,
                "organization",
                ctx,
                |r| ctx.index.resolve_organization(r),
                || org_names(ctx),
            )?;
            scopes.extend(found.into_iter().map(AccessScope::Organization));
        }
    } else {
        scopes.push(AccessScope::Any);
    }
    let roles = match arg(tuple, &["with", "role", "permission"]) {
        None => None,
        Some(with) => Some(bind_roles(with, ctx)?),
    };
    if scopes.is_empty() || roles.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Expr::Nothing);
    }
    Ok(Expr::or(
        scopes
            .into_iter()
            .map(|scope| {
                Expr::Pred(Pred::Access {
                    scope,
                    roles: roles.clone(),
                })
            })
            .collect(),
    ))
}

/// The roles a `with:` / `role:` / `permission:` argument stands for.
fn bind_roles(with: &ast::Field, ctx: &BindContext<'_>) -> Result<Vec<RoleIdx>, Error> {
    let kind = with.key.normalized.as_str();
    let mut roles: Vec<RoleIdx> = Vec::new();
    for atom in singles(with)? {
        let as_roles = if kind == "permission" {
            Vec::new()
        } else {
            ctx.index.resolve_role(&atom.text)
        };
        let as_permissions = if kind == "role" {
            Vec::new()
        } else {
            ctx.index.resolve_permission(&atom.text)
        };
        if as_roles.is_empty() && as_permissions.is_empty() {
            if ctx.lenient {
                continue;
            }
            let (entity, known) = match kind {
                "role" => ("role", role_names(ctx)),
                "permission" => ("permission", permission_names(ctx)),
                _ => {
                    let mut k = role_names(ctx);
                    k.extend(permission_names(ctx));
                    ("role or permission", k)
                }
            };
            return Err(unknown_entity(atom, entity, &known));
        }
        roles.extend(as_roles);
        for p in as_permissions {
            roles.extend_from_slice(ctx.index.roles_with_permission(p));
        }
    }
    roles.sort();
    roles.dedup();
    Ok(roles)
}

fn bind_last_access(tuple: &ast::Tuple, ctx: &BindContext<'_>) -> Result<Expr, Error> {
    let mut lo = Bound::Unbounded;
    let mut hi = Bound::Unbounded;
    let mut clauses = Vec::new();
    for field in &tuple.args {
        let mut alternatives = Vec::new();
        for value in &field.values {
            let atom = match &value.kind {
                ValueKind::Single(atom) => atom,
                ValueKind::Range(..) => {
                    return Err(err(
                        &value.span,
                        ErrorKind::RangeNotAllowed {
                            key: field.key.normalized.clone(),
                        },
                    ))
                }
            };
            let period = period_of(&field.key, atom, ctx)?;
            alternatives.push(period);
        }
        match (field.key.normalized.as_str(), alternatives.as_slice()) {
            ("after", [one]) => lo = Bound::Included(one.end),
            ("before", [one]) => hi = Bound::Excluded(one.start),
            // Several values in one argument are OR-ed like any value list.
            ("after", many) => clauses.push(Expr::or(
                many.iter()
                    .map(|p| {
                        Expr::Pred(Pred::Time(
                            TimeColumn::LastAccess,
                            Bound::Included(p.end),
                            Bound::Unbounded,
                        ))
                    })
                    .collect(),
            )),
            (_, many) => clauses.push(Expr::or(
                many.iter()
                    .map(|p| {
                        Expr::Pred(Pred::Time(
                            TimeColumn::LastAccess,
                            Bound::Unbounded,
                            Bound::Excluded(p.start),
                        ))
                    })
                    .collect(),
            )),
        }
    }
    clauses.insert(0, Expr::Pred(Pred::Time(TimeColumn::LastAccess, lo, hi)));
    Ok(Expr::and(clauses))
}

fn bind_identity(tuple: &ast::Tuple) -> Result<Expr, Error> {
    let mut providers = vec![None];
    let mut uids = vec![None];
    if let Some(p) = arg(tuple, &["provider"]) {
        providers = singles(p)?
            .into_iter()
            .map(|a| Some(fold(&a.text)))
            .collect();
    }
    if let Some(u) = arg(tuple, &["uid"]) {
        uids = singles(u)?
            .into_iter()
            .map(|a| Some(fold(&a.text)))
            .collect();
    }
    let mut alternatives = Vec::new();
    for provider in &providers {
        for uid in &uids {
            alternatives.push(Expr::Pred(Pred::Identity {
                provider: provider.clone(),
                uid: uid.clone(),
            }));
        }
    }
    Ok(Expr::or(alternatives))
}
