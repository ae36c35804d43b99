//! The fuzzer-controlled description of a directory and a query: plain numbers and flags that
//! `arbitrary` decodes from any byte string. Sizes are capped when the directory is built, never
//! here, and every index is taken modulo the table it points into, so every input decodes to
//! something valid. The fields are those raw choices; what each one decides is read in
//! [`crate::model`] and [`crate::query`], so they carry no documentation of their own.
#![allow(missing_docs)]

use arbitrary::Arbitrary;

/// A directory; every index is taken modulo the table it points into.
#[derive(Debug, Arbitrary)]
pub struct DirectorySpec {
    pub roles: Vec<u8>,
    pub projects: Vec<ProjectSpec>,
    pub groups: Vec<GroupSpec>,
    pub teams: Vec<TeamSpec>,
    pub grants: Vec<GrantSpec>,
    pub users: Vec<UserSpec>,
}

#[derive(Debug, Arbitrary)]
pub struct ProjectSpec {
    pub keyed: bool,
    pub organization: Option<u8>,
}

#[derive(Debug, Arbitrary)]
pub struct GroupSpec {
    pub name: u8,
    pub parent: Option<u8>,
}

#[derive(Debug, Arbitrary)]
pub struct TeamSpec {
    pub project: Option<u8>,
    pub users: u32,
    pub groups: u8,
}

#[derive(Debug, Arbitrary)]
pub struct GrantSpec {
    pub role: u8,
    /// 0 user, 1 group, 2 team.
    pub subject_kind: u8,
    pub subject: u8,
    /// 0 global, 1 organization, 2 project.
    pub scope_kind: u8,
    pub scope: u8,
}

#[derive(Debug, Arbitrary)]
pub struct UserSpec {
    pub first: u8,
    pub last: u8,
    pub login_style: u8,
    pub upper_login: bool,
    pub name: Option<u8>,
    pub email: Option<u8>,
    pub public_email: bool,
    pub alt_email: bool,
    pub email_verified: bool,
    pub state: u8,
    pub admin: bool,
    pub guest: bool,
    pub user_type: u8,
    pub external: bool,
    pub two_factor: bool,
    pub two_factor_capable: bool,
    pub created_days: u16,
    pub created_ms: u32,
    pub updated_days: Option<u8>,
    pub last_access_days: Option<u16>,
    pub auth: Vec<AuthSpec>,
    pub ssh_key: Option<u8>,
    pub licenses: u8,
    pub vcs: Option<u8>,
    pub origin: Option<u8>,
    pub tokens: u8,
    pub groups: u8,
    pub access: u8,
    pub organizations: u8,
    pub enterprise: bool,
    pub ban_status: u8,
}

#[derive(Debug, Arbitrary)]
pub struct AuthSpec {
    pub module: u8,
    pub login: bool,
    pub uid: Option<u8>,
}

/// A query tree; rendering caps its depth and its clause count.
#[derive(Debug, Arbitrary)]
pub enum QuerySpec {
    Clause(ClauseSpec),
    And(Box<QuerySpec>, Box<QuerySpec>),
    Or(Box<QuerySpec>, Box<QuerySpec>),
    Not(Box<QuerySpec>),
    AndNot(Box<QuerySpec>, Box<QuerySpec>),
    /// Juxtaposition: `a b`, Hub's implicit grouping.
    Juxtapose(Box<QuerySpec>, Box<QuerySpec>),
    /// `-x`.
    Minus(Box<QuerySpec>),
}

/// One clause: which key, which entity or user its value comes from, and how that value is shaped.
#[derive(Debug, Arbitrary)]
pub struct ClauseSpec {
    pub key: u8,
    pub pick: u8,
    pub value: ValueSpec,
}

/// Where a clause's value text comes from.
#[derive(Debug, Arbitrary)]
pub enum ValueSpec {
    /// The picked entity's own value, recased by `case` (0 as is, 1 lower, 2 upper).
    Exact { case: u8 },
    /// A slice of it (prefixes, substrings, near misses).
    Slice { start: u8, len: u8, case: u8 },
    /// Text the fuzzer writes (braced and escaped, so it always reads as one value).
    Free(String),
    /// A time: year, month, day, `{N days ago}`, or `*`.
    Time { form: u8, days: u16 },
    /// A small number (for `number:` and ranges).
    Number(u8),
}
