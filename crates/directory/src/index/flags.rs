//! Boolean facts about users (`is:`, `has:`, GitLab's boolean params) and account states.
//!
//! Each fact is one bitmap computed once: `is: admin` is then a reference to a ready set, `not`
//! is a difference, and a precomputed "has a value" bitmap per optional field answers `has:` and
//! gives negations their meaning for users without a value. States are six disjoint bitmaps.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::column::{bitmap_bytes, RowSetBuilder};
use crate::model::{Millis, Model, State, Subject, User};
use crate::text::{fold_user_type, folds_to, folds_with_prefix};

/// A precomputed boolean property of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `is: admin`.
    Admin,
    /// `is: guest` (Hub's guest account).
    Guest,
    /// `is: external`.
    External,
    /// `has: 2FA` (2FA enabled).
    TwoFactor,
    /// `is: supporting2FA`.
    TwoFactorCapable,
    /// `has: {refresh token}`.
    RefreshToken,
    /// `has: {permanent token}`.
    PermanentToken,
    /// `has: {approved resource}`.
    ApprovedResource,
    /// `has: {accepted end-user agreement}`.
    AcceptedEua,
    /// `has: email`: a primary email is present.
    HasEmail,
    /// `has: verifiedEmail`: a primary email is present and verified.
    VerifiedEmail,
    /// `has: publicEmail`.
    HasPublicEmail,
    /// `has: lastAccess`.
    HasLastAccess,
    /// `has: ownRole`: some grant is made to the user itself.
    HasOwnRole,
    /// `has: group`: at least one direct group membership.
    HasGroup,
    /// `has: authMethod`: at least one auth detail.
    HasAuth,
    /// `has: login`: a `core` (password) auth detail.
    HasCoreAuth,
    /// `has: sshPublicKey`.
    HasSshKey,
    /// `has: license`.
    HasLicense,
    /// `has: originService`.
    HasOriginService,
    /// `is: bot`: the type is one of GitLab's bot types (hub-query.md's list).
    Bot,
    /// `is: internal`: the type is not `human`, `project_bot`, `service_user` or `service_account`.
    Internal,
    /// GitLab `humans`: the type is `human`.
    Human,
    /// GitLab `without_project_bots` (complement): the type is `project_bot`.
    ProjectBot,
    /// Hub `banned`: the user has a ban record (state is a separate question: [`State::Banned`]).
    Banned,
    /// GitLab `skip_ldap` (complement): an auth detail whose module starts with `ldap`.
    HasLdapAuth,
}

impl Flag {
    /// Every flag, in declaration order (the order of [`Flag::index`]).
    pub const ALL: [Flag; 26] = [
        Flag::Admin,
        Flag::Guest,
        Flag::External,
        Flag::TwoFactor,
        Flag::TwoFactorCapable,
        Flag::RefreshToken,
        Flag::PermanentToken,
        Flag::ApprovedResource,
        Flag::AcceptedEua,
        Flag::HasEmail,
        Flag::VerifiedEmail,
        Flag::HasPublicEmail,
        Flag::HasLastAccess,
        Flag::HasOwnRole,
        Flag::HasGroup,
        Flag::HasAuth,
        Flag::HasCoreAuth,
        Flag::HasSshKey,
        Flag::HasLicense,
        Flag::HasOriginService,
        Flag::Bot,
        Flag::Internal,
        Flag::Human,
        Flag::ProjectBot,
        Flag::Banned,
        Flag::HasLdapAuth,
    ];

    /// Position in [`Flag::ALL`]; indexes the per-flag bitmaps.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether `user` has this flag, computed directly from the model. This is *the* definition:
    /// the index precomputes it, the engine re-checks changed rows with it and the dialects read
    /// it (the test oracles keep their own). Module and type values follow the case rule of
    /// [`crate::text`]. `has_own_role` and `last_access` must be supplied because they are not
    /// in the user's record: one depends on the grants, the other is kept beside the records
    /// ([`crate::model::Users::last_access`]).
    pub fn of_user(self, user: &User, has_own_role: bool, last_access: Option<Millis>) -> bool {
        let user_type = fold_user_type(&user.user_type);
        self.of_user_typed(user, &user_type, has_own_role, last_access)
    }

    /// [`Flag::of_user`] with the user's type already folded (folded once per user, not per flag).
    fn of_user_typed(
        self,
        user: &User,
        user_type: &str,
        has_own_role: bool,
        last_access: Option<Millis>,
    ) -> bool {
        match self {
            Flag::Admin => user.admin,
            Flag::Guest => user.guest,
            Flag::External => user.external,
            Flag::TwoFactor => user.two_factor,
            Flag::TwoFactorCapable => user.two_factor_capable,
            Flag::RefreshToken => user.refresh_token,
            Flag::PermanentToken => user.permanent_token,
            Flag::ApprovedResource => user.approved_resource,
            Flag::AcceptedEua => user.accepted_eua,
            Flag::HasEmail => user.email.is_some(),
            Flag::VerifiedEmail => user.email.is_some() && user.email_verified,
            Flag::HasPublicEmail => user.public_email.is_some(),
            Flag::HasLastAccess => last_access.is_some(),
            Flag::HasOwnRole => has_own_role,
            Flag::HasGroup => !user.groups.is_empty(),
            Flag::HasAuth => !user.auth.is_empty(),
            Flag::HasCoreAuth => user.auth.iter().any(|a| folds_to(a.module, "core")),
            Flag::HasSshKey => !user.ssh_keys.is_empty(),
            Flag::HasLicense => !user.licenses.is_empty(),
            Flag::HasOriginService => user.origin_service.is_some(),
            Flag::Bot => BOT_TYPES.contains(&user_type),
            Flag::Internal => !NOT_INTERNAL_TYPES.contains(&user_type),
            Flag::Human => user_type == "human",
            Flag::ProjectBot => user_type == "projectbot",
            Flag::Banned => user.ban.is_some(),
            Flag::HasLdapAuth => user
                .auth
                .iter()
                .any(|a| folds_with_prefix(a.module, "ldap")),
        }
    }
}

/// GitLab's bot user types (hub-query.md `is: bot`), in [`fold_user_type`] form.
const BOT_TYPES: [&str; 11] = [
    "bot",
    "alertbot",
    "projectbot",
    "supportbot",
    "visualreviewbot",
    "securitybot",
    "automationbot",
    "securitypolicybot",
    "adminbot",
    "serviceaccount",
    "duocodereviewbot",
];

/// User types that are *not* internal (GitLab `exclude_internal`), in [`fold_user_type`] form.
const NOT_INTERNAL_TYPES: [&str; 4] = ["human", "projectbot", "serviceuser", "serviceaccount"];

/// One bitmap per [`Flag`] and per [`State`], each shared copy-on-write (the live store flips
/// one user's bits by copying only the bitmaps that change).
#[derive(Debug, Default, Clone)]
pub(crate) struct FlagSets {
    flags: Vec<Arc<RoaringBitmap>>,
    states: Vec<Arc<RoaringBitmap>>,
}

/// What a change of one user's record does to the flag and state bitmaps (the own-role flag
/// depends on grants, not the record, and is left out).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FlagChange {
    /// Flags whose value changed, with the new value.
    pub(crate) flags: Vec<(Flag, bool)>,
    /// The state before and after, when it changed.
    pub(crate) state: Option<(State, State)>,
}

impl FlagChange {
    /// The flags and state that differ between the records `old` and `new` (the two flags that
    /// do not come from the record, an own role and a last access, are not compared).
    pub(crate) fn between(old: &User, new: &User) -> FlagChange {
        let (old_type, new_type) = (
            fold_user_type(&old.user_type),
            fold_user_type(&new.user_type),
        );
        let flags = Flag::ALL
            .into_iter()
            .filter(|&flag| !matches!(flag, Flag::HasOwnRole | Flag::HasLastAccess))
            .filter_map(|flag| {
                let now = flag.of_user_typed(new, &new_type, false, None);
                (flag.of_user_typed(old, &old_type, false, None) != now).then_some((flag, now))
            })
            .collect();
        let state = (old.state != new.state).then_some((old.state, new.state));
        FlagChange { flags, state }
    }
}

impl FlagSets {
    pub(crate) fn build(model: &Model) -> FlagSets {
        let mut own_role = vec![false; model.users.slots()];
        for grant in &model.grants {
            if let Subject::User(row) = grant.subject {
                if let Some(slot) = own_role.get_mut(row as usize) {
                    *slot = true;
                }
            }
        }
        let mut flags: Vec<RowSetBuilder> = Flag::ALL.map(|_| RowSetBuilder::default()).into();
        let mut states: Vec<RowSetBuilder> = State::ALL.map(|_| RowSetBuilder::default()).into();
        for (row, user) in model.users.iter() {
            let user_type = fold_user_type(&user.user_type);
            let has_own_role = own_role[row as usize];
            let last_access = model.users.last_access(row as usize);
            for flag in Flag::ALL {
                if flag.of_user_typed(user, &user_type, has_own_role, last_access) {
                    flags[flag.index()].push(row);
                }
            }
            states[state_index(user.state)].push(row);
        }
        let finish = |builder: RowSetBuilder| Arc::new(builder.finish());
        FlagSets {
            flags: flags.into_iter().map(finish).collect(),
            states: states.into_iter().map(finish).collect(),
        }
    }

    pub(crate) fn flag(&self, flag: Flag) -> &RoaringBitmap {
        &self.flags[flag.index()]
    }

    pub(crate) fn state(&self, state: State) -> &RoaringBitmap {
        &self.states[state_index(state)]
    }

    /// Applies `change` to `row`'s bits, copying only the bitmaps it writes.
    pub(crate) fn apply(&mut self, row: u32, change: &FlagChange) {
        for &(flag, on) in &change.flags {
            // A flag already right is not copied: every membership re-states its row's
            // has-group flag, which at 1M users is a 128 KB bitmap.
            if self.flags[flag.index()].contains(row) == on {
                continue;
            }
            let set = Arc::make_mut(&mut self.flags[flag.index()]);
            if on {
                set.insert(row);
            } else {
                set.remove(row);
            }
        }
        if let Some((old, new)) = change.state {
            Arc::make_mut(&mut self.states[state_index(old)]).remove(row);
            Arc::make_mut(&mut self.states[state_index(new)]).insert(row);
        }
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        self.flags
            .iter()
            .chain(&self.states)
            .map(|set| 24 + bitmap_bytes(set))
            .sum()
    }
}

fn state_index(state: State) -> usize {
    match state {
        State::Active => 0,
        State::Blocked => 1,
        State::LdapBlocked => 2,
        State::Deactivated => 3,
        State::Banned => 4,
        State::BlockedPendingApproval => 5,
    }
}
