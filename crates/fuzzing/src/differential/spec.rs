//! The fuzzer-controlled description of one case. Sizes are capped when the case is built, never
//! here, so every byte string decodes to something.

use arbitrary::Arbitrary;

/// One differential case.
#[derive(Debug, Arbitrary)]
pub(super) struct Case {
    pub directory: DirectorySpec,
    pub query: QuerySpec,
    pub request: RequestSpec,
    /// Store updates applied after the build (none: a plain indexed snapshot).
    pub updates: Vec<UpdateSpec>,
    /// The store's overlay size limit, coded (see `updates::apply`).
    pub max_dirty: u8,
}

/// Paging, order, viewer and leniency.
#[derive(Debug, Arbitrary)]
pub(super) struct RequestSpec {
    pub skip: u8,
    pub top: u8,
    pub order: Vec<(u8, bool)>,
    pub viewer: u8,
    pub lenient: bool,
}

/// A directory; every index is taken modulo the table it points into.
#[derive(Debug, Arbitrary)]
pub(super) struct DirectorySpec {
    pub roles: Vec<u8>,
    pub projects: Vec<ProjectSpec>,
    pub groups: Vec<GroupSpec>,
    pub teams: Vec<TeamSpec>,
    pub grants: Vec<GrantSpec>,
    pub users: Vec<UserSpec>,
}

#[derive(Debug, Arbitrary)]
pub(super) struct ProjectSpec {
    pub keyed: bool,
    pub organization: Option<u8>,
}

#[derive(Debug, Arbitrary)]
pub(super) struct GroupSpec {
    pub name: u8,
    pub parent: Option<u8>,
}

#[derive(Debug, Arbitrary)]
pub(super) struct TeamSpec {
    pub project: Option<u8>,
    pub users: u32,
    pub groups: u8,
}

#[derive(Debug, Arbitrary)]
pub(super) struct GrantSpec {
    pub role: u8,
    /// 0 user, 1 group, 2 team.
    pub subject_kind: u8,
    pub subject: u8,
    /// 0 global, 1 organization, 2 project.
    pub scope_kind: u8,
    pub scope: u8,
}

#[derive(Debug, Arbitrary)]
pub(super) struct UserSpec {
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
pub(super) struct AuthSpec {
    pub module: u8,
    pub login: bool,
    pub uid: Option<u8>,
}

/// A query tree; rendering caps its depth and its clause count.
#[derive(Debug, Arbitrary)]
pub(super) enum QuerySpec {
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
pub(super) struct ClauseSpec {
    pub key: u8,
    pub pick: u8,
    pub value: ValueSpec,
}

/// Where a clause's value text comes from.
#[derive(Debug, Arbitrary)]
pub(super) enum ValueSpec {
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

/// One live update; users, groups, roles and grants are picked modulo the current tables.
#[derive(Debug, Arbitrary)]
pub(super) enum UpdateSpec {
    SetState {
        user: u8,
        state: u8,
    },
    SetAdmin {
        user: u8,
        admin: bool,
    },
    SetTwoFactor {
        user: u8,
        enabled: bool,
    },
    Ban {
        user: u8,
        permanent: bool,
    },
    Unban {
        user: u8,
    },
    AddMembership {
        user: u8,
        group: u8,
        access: Option<u8>,
    },
    RemoveMembership {
        user: u8,
        group: u8,
    },
    /// A copy of a user under a new id and a (possibly clashing) login.
    AddUser {
        like: u8,
        login: u8,
    },
    ReplaceUser {
        user: u8,
        rename: u8,
        flip_two_factor: bool,
    },
    RemoveUser {
        user: u8,
    },
    AddGrant {
        role: u8,
        user: u8,
        global: bool,
    },
    RemoveGrant {
        grant: u8,
    },
}
