//! Changes to a live directory: the `userql-changes/1` format of `docs/formats.md`, as typed
//! values built in code, parsed from JSON, or read batch by batch from a changes file.
//!
//! A batch (a slice of [`Change`]s) is applied atomically by [`crate::Store::apply`]: every
//! reader sees all of it or none of it. The typed constructors produce exactly the changes a
//! changes file holds, so a batch built in code, one parsed from a message queue and one read
//! from a file are validated alike and can be logged to a state directory alike.

use std::io::BufRead;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use userql_directory::changes::{
    self as inner, ChangeError, ChangeErrors, ChangeProblem, ChangeReader, Membership, Object,
    Target,
};

use crate::error::Error;
use crate::records::{Grant, NewUser};
use crate::vocabulary::AccessLevel;

/// The kinds of object that [`Change::patch`] and [`Change::delete`] address by id (the
/// format's own enum, re-exported).
pub use userql_directory::changes::EntityKind as Kind;

/// One change of the `userql-changes/1` format; objects are named by id.
///
/// Opaque on purpose: build it with the constructors below or parse it ([`Change::from_json`],
/// [`ChangeFile`]); its JSON form ([`Change::to_json`]) is the format's, and round-trips.
///
/// ```
/// use chrono::Utc;
/// use serde_json::json;
/// use userql::{Change, Grant, Kind, NewUser};
///
/// let batch = vec![
///     Change::put_user(NewUser::new("u-new", "newcomer", Utc::now())),
///     Change::patch(Kind::User, "u-new", [("state", json!("blocked")), ("two_factor", json!(true))]),
///     Change::put_grant(Grant::role("developer").to_user("u-new")),
///     Change::touch("u-new", Utc::now()),
///     Change::delete(Kind::User, "u-old"),
/// ];
/// let again = Change::from_json(&json!(batch.iter().map(Change::to_json).collect::<Vec<_>>()).to_string())?;
/// assert_eq!(again, batch);
/// # Ok::<(), userql::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Change(pub(crate) inner::Change);

impl Change {
    /// Inserts a user, or replaces the user with the same id (which keeps its GitLab number
    /// unless the new record sets one).
    pub fn put_user(user: NewUser) -> Change {
        Change(inner::Change::Put(Object::User(Box::new(user.0))))
    }

    /// Sets the listed fields of an existing object, named as in the directory format
    /// (`state`, `two_factor`, `name`, `groups`…); `null` clears an optional field and a list
    /// replaces the whole list. The id cannot change.
    pub fn patch<K: Into<String>>(
        kind: Kind,
        id: impl Into<String>,
        fields: impl IntoIterator<Item = (K, Value)>,
    ) -> Change {
        let set: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.into(), v)).collect();
        Change(inner::Change::Patch {
            kind,
            id: id.into(),
            set,
        })
    }

    /// Removes an object. Deleting a user also removes its grants, memberships and team
    /// listings; deleting anything else that is still referenced is refused.
    pub fn delete(kind: Kind, id: impl Into<String>) -> Change {
        Change(inner::Change::Delete(Target::Entity {
            kind,
            id: id.into(),
        }))
    }

    /// Adds a grant.
    pub fn put_grant(grant: Grant) -> Change {
        Change(inner::Change::Put(Object::Grant(grant.0)))
    }

    /// Removes the grant equal to this one (refused if there is none).
    pub fn delete_grant(grant: Grant) -> Change {
        Change(inner::Change::Delete(Target::Grant(grant.0)))
    }

    /// Makes `user` a direct member of `group`, or changes the access level of the membership.
    pub fn put_membership(
        user: impl Into<String>,
        group: impl Into<String>,
        access: Option<AccessLevel>,
    ) -> Change {
        Change(inner::Change::Put(Object::Membership(Membership {
            user: user.into(),
            group: group.into(),
            access: access.map(|a| a.as_str().to_owned()),
        })))
    }

    /// Removes the direct membership of `user` in `group` (refused if there is none).
    pub fn delete_membership(user: impl Into<String>, group: impl Into<String>) -> Change {
        Change(inner::Change::Delete(Target::Membership(Membership {
            user: user.into(),
            group: group.into(),
            access: None,
        })))
    }

    /// A sign-in: sets the user's last access (`lastAccess:` in queries).
    pub fn touch(user: impl Into<String>, at: DateTime<Utc>) -> Change {
        Change(inner::Change::Touch {
            id: user.into(),
            at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        })
    }

    /// Parses one line of a changes file without the header: a change (an object) or a batch
    /// (an array of them). Every malformed change is reported, numbered within the batch.
    ///
    /// ```
    /// let batch = userql::Change::from_json(r#"{"op": "delete", "kind": "user", "id": "u-1"}"#)?;
    /// assert_eq!(batch.len(), 1);
    /// assert!(userql::Change::from_json(r#"[{"op": "put", "kind": "user"}]"#).is_err());
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Vec<Change>, Error> {
        // Newlines can only be whitespace between JSON tokens (inside strings they are escaped),
        // so a pretty-printed batch becomes one line for the file reader, which owns the rules.
        let line = text.replace(['\r', '\n'], " ");
        let file = format!("{{\"format\": \"{}\"}}\n{line}", inner::FORMAT);
        let mut reader = ChangeReader::new(file.as_bytes());
        match reader.next() {
            Some(Ok(batch)) => Ok(batch.changes.into_iter().map(Change).collect()),
            Some(Err(mut errors)) => {
                // Line 2 of the wrapper is not a line of anything the caller wrote.
                for error in &mut errors.errors {
                    error.line = None;
                }
                Err(errors.into())
            }
            None => Err(ChangeErrors::single(ChangeError {
                line: None,
                change: None,
                subject: None,
                field: None,
                problem: ChangeProblem::Malformed {
                    message: "expected a change (an object) or a batch (an array)".to_owned(),
                },
            })
            .into()),
        }
    }

    /// The change in the format's JSON form (one object, as a changes file holds it).
    pub fn to_json(&self) -> Value {
        // The format's types serialize to plain JSON; nothing in them can fail.
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

/// One batch of a changes file, with the line it was on.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeBatch {
    line: usize,
    changes: Vec<Change>,
}

impl ChangeBatch {
    /// The 1-based line of the file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The changes, to be applied all or nothing ([`crate::Store::apply`]).
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Takes the changes.
    pub fn into_changes(self) -> Vec<Change> {
        self.changes
    }
}

/// Reads a changes file (`{"format": "userql-changes/1"}`, then one change or batch a line)
/// batch by batch, so a long stream never sits in memory at once. The first malformed line is
/// reported with its line number ([`crate::Problem::line`]), after which the reader stops.
///
/// ```
/// use userql::{ChangeFile, Directory, HubQuery, Store};
///
/// let store = Store::new(Directory::from_json(include_bytes!("../tests/data/tiny.json"))?);
/// let file = br#"{"format": "userql-changes/1"}
/// {"op": "patch", "kind": "user", "id": "u-luke", "set": {"state": "banned"}}
/// [{"op": "delete", "kind": "user", "id": "u-han"}]
/// "#;
/// for batch in ChangeFile::new(&file[..]) {
///     store.apply(batch?.changes())?;
/// }
/// assert_eq!(store.version(), 2);
/// assert_eq!(store.search(&HubQuery::new("login: han"))?.total, 0);
/// # Ok::<(), userql::Error>(())
/// ```
pub struct ChangeFile<R>(ChangeReader<R>);

impl<R: BufRead> ChangeFile<R> {
    /// A reader over the whole file, header first (wrap a `File` in a `BufReader`).
    pub fn new(input: R) -> ChangeFile<R> {
        ChangeFile(ChangeReader::new(input))
    }
}

impl<R> std::fmt::Debug for ChangeFile<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFile").finish_non_exhaustive()
    }
}

impl<R: BufRead> Iterator for ChangeFile<R> {
    type Item = Result<ChangeBatch, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.0.next()? {
            Ok(batch) => Ok(ChangeBatch {
                line: batch.line,
                changes: batch.changes.into_iter().map(Change).collect(),
            }),
            Err(errors) => Err(errors.into()),
        })
    }
}
