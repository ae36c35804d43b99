//! Live updates on top of the built directory: the store's overlay (dirty rows the engine
//! re-checks and merges into pages) is a second fast path the reference must agree with.

use std::sync::Arc;

use userql_directory::model::{AccessLevel, Model, State};
use userql_directory::save::{grant_to_raw, user_to_raw};
use userql_directory::store::{StoreOptions, Update};
use userql_directory::{raw, Snapshot, Store};

use super::spec::UpdateSpec;

/// Batches applied per case: enough to stack several overlay generations.
const MAX_UPDATES: usize = 6;

/// Applies the updates through a [`Store`] and returns its snapshot. `max_dirty` decides whether
/// the overlay grows (large) or batches rebuild the indexes (small), so both paths are compared.
pub(super) fn apply(model: Model, updates: &[UpdateSpec], max_dirty: u8) -> Arc<Snapshot> {
    let max_dirty = match max_dirty % 4 {
        0 => 1,
        1 => 3,
        _ => u64::MAX,
    };
    let store = Store::with_options(
        model,
        StoreOptions {
            max_dirty,
            max_delta: 0,
            background: false,
            idle_compaction: None,
        },
    );
    for spec in updates.iter().take(MAX_UPDATES) {
        let snapshot = store.snapshot();
        if let Some(update) = update(&snapshot.model, spec) {
            // Invalid updates (a membership that does not exist, a clashing login) are refused
            // atomically; the case goes on with the next one.
            let _ = store.apply(&[update]);
        }
    }
    store.snapshot()
}

fn update(m: &Model, spec: &UpdateSpec) -> Option<Update> {
    let users = m.users.count();
    let row_at = |pick: u8| {
        (users > 0).then(|| {
            m.users
                .iter()
                .nth(usize::from(pick) % users)
                .map(|(row, _)| row)
        })?
    };
    let user_at = |pick: u8| row_at(pick).and_then(|row| m.users.get(row as usize));
    let group_at = |pick: u8| {
        let groups = m.groups.len();
        (groups > 0).then(|| m.groups[usize::from(pick) % groups].id.clone())
    };
    Some(match *spec {
        UpdateSpec::SetState { user, state } => Update::SetState {
            id: user_at(user)?.id.to_string(),
            state: State::ALL[usize::from(state) % State::ALL.len()]
                .as_str()
                .to_owned(),
        },
        UpdateSpec::SetAdmin { user, admin } => Update::SetAdmin {
            id: user_at(user)?.id.to_string(),
            admin,
        },
        UpdateSpec::SetTwoFactor { user, enabled } => Update::SetTwoFactor {
            id: user_at(user)?.id.to_string(),
            enabled,
        },
        UpdateSpec::Ban { user, permanent } => Update::Ban {
            id: user_at(user)?.id.to_string(),
            status: Some(if permanent { "permanent" } else { "temporary" }.to_owned()),
            reason: None,
            at: None,
        },
        UpdateSpec::Unban { user } => Update::Unban {
            id: user_at(user)?.id.to_string(),
        },
        UpdateSpec::AddMembership {
            user,
            group,
            access,
        } => Update::AddMembership {
            user: user_at(user)?.id.to_string(),
            group: group_at(group)?,
            access: access.map(|a| {
                AccessLevel::ALL[usize::from(a) % AccessLevel::ALL.len()]
                    .as_str()
                    .to_owned()
            }),
        },
        UpdateSpec::RemoveMembership { user, group } => Update::RemoveMembership {
            user: user_at(user)?.id.to_string(),
            group: group_at(group)?,
        },
        UpdateSpec::AddUser { like, login } => {
            let mut raw = user_to_raw(m, row_at(like)?);
            raw.id = format!("u-new-{users}");
            raw.login = format!("Newcomer{}", login % 4);
            raw.number = None;
            Update::AddUser(raw)
        }
        UpdateSpec::ReplaceUser {
            user,
            rename,
            flip_two_factor,
        } => {
            let mut raw = user_to_raw(m, row_at(user)?);
            if rename % 3 != 0 {
                raw.name = Some(format!("Renamed Marsh {}", rename % 7));
            }
            if rename % 5 == 0 {
                raw.login = format!("Relogged{}", rename % 4);
            }
            raw.two_factor ^= flip_two_factor;
            Update::ReplaceUser(raw)
        }
        UpdateSpec::RemoveUser { user } => Update::RemoveUser {
            id: user_at(user)?.id.to_string(),
        },
        UpdateSpec::AddGrant { role, user, global } => {
            let roles = m.roles.len();
            Update::AddGrant(raw::Grant {
                role: m.roles.get(usize::from(role) % roles.max(1))?.id.clone(),
                user: Some(user_at(user)?.id.to_string()),
                organization: (!global).then(|| "o-1".to_owned()),
                ..raw::Grant::default()
            })
        }
        UpdateSpec::RemoveGrant { grant } => {
            let grants = m.grants.len();
            let grant = m.grants.get(usize::from(grant) % grants.max(1))?;
            Update::RemoveGrant(grant_to_raw(m, grant))
        }
    })
}
