//! The fuzzer-controlled description of one case. Sizes are capped when the case is built, never
//! here, so every byte string decodes to something.

use arbitrary::Arbitrary;
use userql_testkit::{DirectorySpec, QuerySpec};

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
