//! Random changes (`userql-changes/1`) over a directory as it stands, valid or not: the stream
//! behind the engine's differential test after changes and the durable state's replay test, so
//! both see the same mix of touches, patches, puts, cascading and refused deletions, grants and
//! catalog changes (refusals included: a refused batch must be refused the same way everywhere).

use serde_json::json;
use userql_directory::changes::{Change, Target};
use userql_directory::model::State;
use userql_directory::raw;
use userql_directory::save::format_timestamp;

use crate::NOW;

/// A day in milliseconds.
const DAY: i64 = 86_400_000;

/// Tiny deterministic generator, so a stream is a pure function of its seed.
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next 31 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.bits() % n as u64) as usize
        }
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.bits() % 100 < percent
    }
}

/// One random change over the directory as it stands (valid or not: refusals are compared too).
pub fn random_change(dir: &raw::Directory, r: &mut Lcg, serial: usize) -> Change {
    let user_id = |r: &mut Lcg| {
        if dir.users.is_empty() || r.chance(5) {
            "u-none".to_owned()
        } else {
            dir.users[r.below(dir.users.len())].id.clone()
        }
    };
    let group_id = |r: &mut Lcg| {
        if dir.groups.is_empty() || r.chance(5) {
            "g-none".to_owned()
        } else {
            dir.groups[r.below(dir.groups.len())].id.clone()
        }
    };
    let parse = |value: serde_json::Value| -> Change {
        serde_json::from_value(value).expect("generated changes are well-formed")
    };
    match r.below(16) {
        0..=3 => {
            let at = if r.chance(95) {
                format_timestamp(NOW - r.below(400) as i64 * DAY)
            } else {
                "noon".to_owned()
            };
            Change::Touch { id: user_id(r), at }
        }
        4 | 5 => {
            let set = match r.below(7) {
                0 => json!({"state": State::ALL[r.below(6)].as_str()}),
                1 => json!({"admin": r.chance(50), "two_factor": r.chance(50)}),
                2 => {
                    json!({"name": if r.chance(30) { serde_json::Value::Null } else { json!(format!("Renamed Marsh {}", r.below(9))) }})
                }
                3 => {
                    // Sometimes another user's login in another case (refused).
                    let login = if !dir.users.is_empty() && r.chance(40) {
                        dir.users[r.below(dir.users.len())].login.to_uppercase()
                    } else {
                        format!("fresh{serial}")
                    };
                    json!({"login": login})
                }
                4 => json!({"number": 1 + r.below(30)}),
                5 => json!({"emails": [format!("alt{serial}@alt.example")], "email": null}),
                _ => json!({"groups": [group_id(r)]}),
            };
            parse(json!({"op": "patch", "kind": "user", "id": user_id(r), "set": set}))
        }
        6 => {
            let login = if !dir.users.is_empty() && r.chance(20) {
                dir.users[r.below(dir.users.len())].login.clone()
            } else {
                format!("Newcomer{serial}")
            };
            let id = if r.chance(30) {
                user_id(r)
            } else {
                format!("u-new-{serial}")
            };
            parse(json!({"op": "put", "kind": "user", "value": {
                "id": id, "login": login, "name": "New Marsh",
                "created_at": format_timestamp(NOW - DAY),
                "groups": if r.chance(50) { vec![group_id(r)] } else { vec![] },
                "state": State::ALL[r.below(6)].as_str(),
            }}))
        }
        7 => parse(json!({"op": "delete", "kind": "user", "id": user_id(r)})),
        8 | 9 => {
            let op = if r.chance(60) { "put" } else { "delete" };
            parse(
                json!({"op": op, "kind": "membership", "value": {"user": user_id(r), "group": group_id(r)}}),
            )
        }
        10 | 11 => {
            if r.chance(40) && !dir.grants.is_empty() {
                let grant = dir.grants[r.below(dir.grants.len())].clone();
                return Change::Delete(Target::Grant(grant));
            }
            let mut grant = json!({"role": if dir.roles.is_empty() { "role-x".to_owned() } else { dir.roles[r.below(dir.roles.len())].id.clone() }});
            match r.below(3) {
                0 => grant["group"] = json!(group_id(r)),
                1 if !dir.teams.is_empty() => {
                    grant["team"] = json!(dir.teams[r.below(dir.teams.len())].id)
                }
                _ => grant["user"] = json!(user_id(r)),
            }
            match r.below(3) {
                0 if !dir.projects.is_empty() => {
                    grant["project"] = json!(dir.projects[r.below(dir.projects.len())].id)
                }
                1 => grant["organization"] = json!("o-1"),
                _ => {}
            }
            let op = if r.chance(80) { "put" } else { "delete" };
            parse(json!({"op": op, "kind": "grant", "value": grant}))
        }
        12 => {
            let parent = if r.chance(50) {
                json!(group_id(r))
            } else {
                serde_json::Value::Null
            };
            let id = if r.chance(30) {
                group_id(r)
            } else {
                format!("g-new-{serial}")
            };
            parse(
                json!({"op": "put", "kind": "group", "value": {"id": id, "name": format!("Group {serial}"), "parent": parent}}),
            )
        }
        13 => {
            let set = if r.chance(50) {
                json!({"parent": group_id(r)})
            } else {
                json!({"name": format!("Renamed Group {serial}")})
            };
            parse(json!({"op": "patch", "kind": "group", "id": group_id(r), "set": set}))
        }
        14 => {
            let (kind, id) = match r.below(4) {
                0 => ("group", group_id(r)),
                1 => (
                    "project",
                    if dir.projects.is_empty() {
                        "p-none".to_owned()
                    } else {
                        dir.projects[r.below(dir.projects.len())].id.clone()
                    },
                ),
                // The query generator needs a role: the last one is never deleted.
                2 => (
                    "role",
                    if dir.roles.len() < 2 {
                        "role-none".to_owned()
                    } else {
                        dir.roles[r.below(dir.roles.len())].id.clone()
                    },
                ),
                _ => (
                    "team",
                    if dir.teams.is_empty() {
                        "t-none".to_owned()
                    } else {
                        dir.teams[r.below(dir.teams.len())].id.clone()
                    },
                ),
            };
            parse(json!({"op": "delete", "kind": kind, "id": id}))
        }
        _ => {
            let project = if dir.projects.is_empty() {
                serde_json::Value::Null
            } else {
                json!(dir.projects[r.below(dir.projects.len())].id)
            };
            parse(json!({"op": "put", "kind": "team", "value": {
                "id": format!("t-{}", r.below(3)), "name": format!("Team {serial}"),
                "project": project, "users": [user_id(r)], "groups": [group_id(r)],
            }}))
        }
    }
}

/// A batch pairing a grant removal with a group move, in a random order: a grant to a group
/// (or team) removed while a group moves out of (or into) a subtree, the shape whose replay
/// onto earlier indexes must apply the removal before the move. Falls back to one random change
/// when the directory has no grant to a group or team, or no group.
pub fn removal_around_a_move(dir: &raw::Directory, r: &mut Lcg, serial: usize) -> Vec<Change> {
    let shared: Vec<&raw::Grant> = dir
        .grants
        .iter()
        .filter(|g| g.group.is_some() || g.team.is_some())
        .collect();
    if shared.is_empty() || dir.groups.is_empty() {
        return vec![random_change(dir, r, serial)];
    }
    let removal = Change::Delete(Target::Grant(shared[r.below(shared.len())].clone()));
    let group = dir.groups[r.below(dir.groups.len())].id.clone();
    let parent = if r.chance(40) {
        serde_json::Value::Null
    } else {
        json!(dir.groups[r.below(dir.groups.len())].id)
    };
    // A cycle or a self-parent is refused: the whole batch then is, on both sides.
    let moved: Change = serde_json::from_value(
        json!({"op": "patch", "kind": "group", "id": group, "set": {"parent": parent}}),
    )
    .expect("generated changes are well-formed");
    let mut batch = if r.chance(50) {
        vec![removal, moved]
    } else {
        vec![moved, removal]
    };
    if r.chance(30) {
        batch.push(random_change(dir, r, serial));
    }
    batch
}
