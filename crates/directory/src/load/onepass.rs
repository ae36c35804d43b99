//! The whole-document JSON reader's fast path: serde straight into [`Rows`] (raw objects, borrowed grants and users) in one
//! pass over the bytes, every list element deserialized where it stands.
//!
//! It answers only for a document without parse problems: any irregularity — a syntax error, an
//! object serde refuses, an unknown, duplicate or missing top-level key, a `format` that is not a
//! string — makes it give up (`None`), and the caller re-reads the document with the tolerant
//! reader ([`super::json`]), which locates and reports every problem. So the fast path never has to
//! reproduce an error message, and a valid file is parsed exactly once.

use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::Deserializer;

use super::places::Kind;
use super::rows::Rows;

/// The directory of a document that parses without a problem; `None` for anything else.
pub(super) fn json(text: &str) -> Option<Rows<'_>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let directory = Document.deserialize(&mut deserializer).ok()??;
    deserializer.end().ok()?;
    Some(directory)
}

/// Seed and visitor of the top-level object.
struct Document;

impl<'de> DeserializeSeed<'de> for Document {
    type Value = Option<Rows<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document {
    type Value = Option<Rows<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a directory object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rows = Rows::default();
        let directory = &mut rows.rest;
        // One flag per kind plus one for `format`: a repeated key is left to the tolerant reader.
        let mut seen = [false; Kind::ALL.len() + 1];
        while let Some(key) = map.next_key::<String>()? {
            let (slot, kind) = match key.as_str() {
                "format" => (Kind::ALL.len(), None),
                other => match Kind::from_plural(other) {
                    Some(kind) => (kind.slot(), Some(kind)),
                    None => return Ok(None),
                },
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Ok(None);
            }
            match kind {
                None => directory.format = map.next_value()?,
                Some(Kind::Service) => directory.services = map.next_value()?,
                Some(Kind::Permission) => directory.permissions = map.next_value()?,
                Some(Kind::Role) => directory.roles = map.next_value()?,
                Some(Kind::Organization) => directory.organizations = map.next_value()?,
                Some(Kind::Project) => directory.projects = map.next_value()?,
                Some(Kind::Group) => directory.groups = map.next_value()?,
                Some(Kind::Team) => directory.teams = map.next_value()?,
                Some(Kind::Grant) => rows.grants = map.next_value()?,
                Some(Kind::User) => rows.users = map.next_value()?,
            }
        }
        Ok(seen[Kind::ALL.len()].then_some(rows))
    }
}
