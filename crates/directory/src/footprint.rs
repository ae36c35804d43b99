//! What the users of a [`Model`] cost in memory, by component (issue 18's per-user table).
//!
//! The index side has `Indexes::stats` (`:stats`); this is the model side: for each part of a
//! user record, the heap bytes asked of the allocator (`capacity()`, not length) and how many
//! allocations that took. The allocator adds its own rounding on top (size classes), which is
//! why the allocation count is printed too: many small allocations cost more than their bytes.

use std::mem::{size_of, size_of_val};

use serde_json::{Map, Value};

use crate::model::{Model, User};

/// One component of the model's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    /// What is counted (`record`, `auth`, `login`, …).
    pub name: &'static str,
    /// Heap allocations it takes.
    pub allocations: u64,
    /// Bytes asked of the allocator (capacities; records at their `size_of`).
    pub bytes: u64,
}

/// Bytes and allocations of one component, summed over users.
#[derive(Default, Clone, Copy)]
struct Tally {
    allocations: u64,
    bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: usize) {
        if bytes > 0 {
            self.allocations += 1;
            self.bytes += bytes as u64;
        }
    }

    fn add_text(&mut self, text: &impl HeapText) {
        self.add(text.heap_bytes());
    }

    fn add_optional<T: HeapText>(&mut self, text: &Option<T>) {
        if let Some(text) = text {
            self.add_text(text);
        }
    }
}

/// A stored string's own heap bytes (0 for one stored inline).
trait HeapText {
    fn heap_bytes(&self) -> usize;
}

impl HeapText for Box<str> {
    fn heap_bytes(&self) -> usize {
        self.len()
    }
}

impl HeapText for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

/// Heap bytes of one JSON value (strings at their length, containers at their elements).
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.capacity(),
        Value::Array(items) => {
            items.capacity() * size_of::<Value>() + items.iter().map(value_bytes).sum::<usize>()
        }
        Value::Object(map) => map_bytes(map),
        _ => 0,
    }
}

/// Heap bytes of a JSON object: per entry its key, value and one slot of the map's storage.
fn map_bytes(map: &Map<String, Value>) -> usize {
    map.iter()
        .map(|(k, v)| k.capacity() + size_of::<(String, Value)>() + value_bytes(v))
        .sum()
}

/// The users' memory by component, largest parts of a record first, then the shared slots
/// (blocks of user pointers) and the grants table.
pub fn user_footprint(model: &Model) -> Vec<Footprint> {
    let mut parts: Vec<(&'static str, Tally)> = Vec::new();
    let mut tally = |name: &'static str, measure: &dyn Fn(&User, &mut Tally)| {
        let mut sum = Tally::default();
        for user in model.users.records() {
            measure(user, &mut sum);
        }
        parts.push((name, sum));
    };
    // The record itself, with the two reference counts of its `Arc`.
    tally("record (Arc<User>)", &|_, t| {
        t.add(2 * size_of::<usize>() + size_of::<User>())
    });
    tally("id", &|u, t| t.add_text(&u.id));
    tally("login", &|u, t| t.add_text(&u.login));
    tally("name", &|u, t| t.add_optional(&u.name));
    tally("email", &|u, t| t.add_optional(&u.email));
    tally("public_email", &|u, t| t.add_optional(&u.public_email));
    tally("emails", &|u, t| {
        t.add(u.emails.len() * size_of::<String>());
        u.emails.iter().for_each(|e| t.add_text(e));
    });
    // Shared between records: each distinct string once, with its `Arc` counts.
    let shared_types = std::cell::RefCell::new(std::collections::HashSet::new());
    tally("user_type (shared)", &|u, t| {
        if shared_types
            .borrow_mut()
            .insert(std::sync::Arc::as_ptr(&u.user_type).cast::<u8>())
        {
            t.add(2 * size_of::<usize>() + u.user_type.len());
        }
    });
    tally("ban", &|u, t| {
        if let Some(ban) = &u.ban {
            t.add(size_of::<crate::model::Ban>());
            t.add_optional(&ban.status);
            t.add_optional(&ban.reason);
        }
    });
    tally("auth (packed)", &|u, t| t.add(u.auth.heap_bytes()));
    tally("ssh_keys (packed)", &|u, t| t.add(u.ssh_keys.heap_bytes()));
    tally("licenses", &|u, t| t.add(size_of_val(&*u.licenses)));
    tally("vcs_user_names", &|u, t| {
        t.add(u.vcs_user_names.len() * size_of::<String>());
        u.vcs_user_names.iter().for_each(|n| t.add_text(n));
    });
    tally("groups", &|u, t| t.add(size_of_val(&*u.groups)));
    tally("organizations", &|u, t| {
        t.add(size_of_val(&*u.organizations))
    });
    tally("profile", &|u, t| {
        if !u.profile.is_empty() {
            t.add(size_of::<Map<String, Value>>());
            t.add(map_bytes(&u.profile));
        }
    });
    let mut out: Vec<Footprint> = parts
        .into_iter()
        .map(|(name, t)| Footprint {
            name,
            allocations: t.allocations,
            bytes: t.bytes,
        })
        .collect();
    let (allocations, bytes) = model.users.slot_bytes();
    out.push(Footprint {
        name: "slots (blocks of pointers, last access times)",
        allocations,
        bytes,
    });
    out.push(Footprint {
        name: "grants",
        allocations: model
            .grants
            .len()
            .div_ceil(crate::shared::chunk_len::<crate::model::Grant>())
            as u64,
        bytes: (model.grants.len() * size_of::<crate::model::Grant>()) as u64,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate, GenOptions};

    /// Each record counts once at its size; every part is named once; the lists count their
    /// elements; a packed list is one allocation.
    #[test]
    fn counts_every_record_and_part_once() {
        let model = generate(&GenOptions {
            users: 500,
            seed: 7,
        });
        let parts = user_footprint(&model);
        let part = |name: &str| parts.iter().find(|p| p.name == name).cloned();
        let users = model.users.count() as u64;
        let record = part("record (Arc<User>)").map(|p| (p.allocations, p.bytes));
        let per_record = (2 * size_of::<usize>() + size_of::<User>()) as u64;
        assert_eq!(record, Some((users, users * per_record)));
        let with_auth = model.users.records().filter(|u| !u.auth.is_empty());
        assert_eq!(
            part("auth (packed)").map(|p| p.allocations),
            Some(with_auth.count() as u64),
            "one allocation per list"
        );
        let mut names: Vec<&str> = parts.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), parts.len());
    }
}
