//! The NDJSON reader's fast path: the body split at newlines into one chunk per core, each chunk
//! parsed on its own thread straight into raw objects (one pass: the `kind` tag is read first,
//! the rest of the same object is deserialized into its type), the chunks merged in file order.
//!
//! Like [`super::onepass`], it answers only for input without parse problems: a bad header, a
//! line that is not a JSON object, an unknown `kind`, an object serde refuses — any of these and
//! it gives up (`None`), and the caller re-reads the input with the tolerant line reader
//! ([`super::ndjson`]), which names the line of every problem. A valid file is parsed once.

use std::fmt;
use std::num::NonZeroUsize;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::places::Kind;
use super::rows::{GrantRow, Rows, UserRow};
use crate::raw;

/// Below this many body bytes one thread does it all: a thread costs more than it saves.
const MIN_SPLIT_BYTES: usize = 1 << 20;
/// Never more chunks than this, however many cores there are (each holds a partial directory).
const MAX_CHUNKS: usize = 16;

/// The directory and, per kind, the 1-based line of every object, or `None` when the input needs
/// the tolerant reader.
pub(super) fn ndjson(text: &str) -> Option<(Rows<'_>, [Vec<usize>; 9])> {
    let (header_line, body_start) = header(text)?;
    let body = &text[body_start..];
    let chunks = split(body, chunk_count(body.len()));
    let parsed: Vec<Option<Chunk>> = if chunks.len() == 1 {
        vec![Chunk::parse(body)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|&chunk| scope.spawn(move || Chunk::parse(chunk)))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().ok().flatten())
                .collect()
        })
    };
    // The first chunk's lists become the directory's (no copy); the others are appended.
    let mut directory: Option<Rows> = None;
    let parsed: Vec<Chunk> = parsed.into_iter().collect::<Option<_>>()?;
    // Sized once: one entry per object of the file (millions), never regrown.
    let mut lines: [Vec<usize>; 9] = std::array::from_fn(|slot| {
        Vec::with_capacity(parsed.iter().map(|chunk| chunk.lines[slot].len()).sum())
    });
    let mut first_line = header_line + 1;
    for chunk in parsed {
        for (all, part) in lines.iter_mut().zip(&chunk.lines) {
            all.extend(part.iter().map(|local| first_line + local));
        }
        first_line += chunk.newlines;
        match &mut directory {
            None => directory = Some(chunk.directory.0),
            Some(all) => chunk.directory.append_to(all),
        }
    }
    let mut directory = directory.unwrap_or_default();
    directory.rest.format = raw::FORMAT.to_owned();
    Some((directory, lines))
}

/// The header: the first non-blank line must be exactly `{"format": "userql-directory/1"}`.
/// Returns its 1-based line number and the byte offset where the body starts.
fn header(text: &str) -> Option<(usize, usize)> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Header {
        format: String,
    }
    let mut start = 0;
    let mut number = 1;
    loop {
        let end = text[start..].find('\n').map(|n| start + n);
        let line = &text[start..end.unwrap_or(text.len())];
        if !line.trim().is_empty() {
            let header: Header = serde_json::from_str(line).ok()?;
            return (header.format == raw::FORMAT)
                .then_some((number, end.map_or(text.len(), |n| n + 1)));
        }
        start = end? + 1;
        number += 1;
    }
}

fn chunk_count(body_len: usize) -> usize {
    if body_len < MIN_SPLIT_BYTES {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .clamp(1, MAX_CHUNKS)
}

/// `body` cut into at most `count` pieces of about equal size, each ending just after a newline
/// (the last one at the end of the body), so no line is split.
fn split(body: &str, count: usize) -> Vec<&str> {
    let mut chunks = Vec::with_capacity(count);
    let mut start = 0;
    for i in 1..count {
        let target = (body.len() * i / count).max(start);
        let Some(newline) = body.as_bytes()[target..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let end = target + newline + 1;
        chunks.push(&body[start..end]);
        start = end;
    }
    chunks.push(&body[start..]);
    chunks
}

/// One chunk's objects, and the chunk-relative (0-based) line of each.
#[derive(Default)]
struct Chunk<'a> {
    directory: Lists<'a>,
    lines: [Vec<usize>; 9],
    /// Newlines in the chunk: how far the next chunk's first line is from this one's.
    newlines: usize,
}

impl<'a> Chunk<'a> {
    fn parse(text: &'a str) -> Option<Chunk<'a>> {
        let mut chunk = Chunk::default();
        for (local, line) in text.split('\n').enumerate() {
            // `split` yields one piece more than there are newlines.
            chunk.newlines = local;
            if line.trim().is_empty() {
                continue;
            }
            let kind = chunk.directory.push_line(line)?;
            chunk.lines[kind.slot()].push(local);
        }
        Some(chunk)
    }
}

/// The nine lists of a directory (its `format` is the header's).
#[derive(Default)]
struct Lists<'a>(Rows<'a>);

impl<'a> Lists<'a> {
    /// Parses one object line onto its list; `None` for anything the tolerant reader must see.
    fn push_line(&mut self, line: &'a str) -> Option<Kind> {
        let mut deserializer = serde_json::Deserializer::from_str(line);
        let kind = match (Tagged { lists: self }).deserialize(&mut deserializer) {
            Ok(Some(kind)) => kind,
            // `kind` is not the first key: the slower two-step parse, as the tolerant reader does.
            Ok(None) => return self.push_untagged(line),
            Err(_) => return None,
        };
        deserializer.end().ok()?;
        Some(kind)
    }

    /// An object whose `kind` is somewhere else than first: parsed to a map, `kind` taken out.
    fn push_untagged(&mut self, line: &str) -> Option<Kind> {
        let serde_json::Value::Object(mut map) = serde_json::from_str(line).ok()? else {
            return None;
        };
        let serde_json::Value::String(kind) = map.remove("kind")? else {
            return None;
        };
        let kind = Kind::from_singular(&kind)?;
        let object = serde_json::Value::Object(map);
        let rows = &mut self.0;
        let d = &mut rows.rest;
        match kind {
            Kind::Service => push_value(&mut d.services, object),
            Kind::Permission => push_value(&mut d.permissions, object),
            Kind::Role => push_value(&mut d.roles, object),
            Kind::Organization => push_value(&mut d.organizations, object),
            Kind::Project => push_value(&mut d.projects, object),
            Kind::Group => push_value(&mut d.groups, object),
            Kind::Team => push_value(&mut d.teams, object),
            // Rows from a `Value` cannot borrow: read the raw type, then move its strings in.
            Kind::Grant => serde_json::from_value::<raw::Grant>(object)
                .ok()
                .map(|grant| rows.grants.push(GrantRow::from(grant))),
            Kind::User => serde_json::from_value::<raw::User>(object)
                .ok()
                .map(|user| rows.users.push(UserRow::from(user))),
        }?;
        Some(kind)
    }

    fn append_to(mut self, all: &mut Rows<'a>) {
        all.grants.append(std::mem::take(&mut self.0.grants));
        all.users.append(std::mem::take(&mut self.0.users));
        let all = &mut all.rest;
        let d = &mut self.0.rest;
        all.services.append(&mut d.services);
        all.permissions.append(&mut d.permissions);
        all.roles.append(&mut d.roles);
        all.organizations.append(&mut d.organizations);
        all.projects.append(&mut d.projects);
        all.groups.append(&mut d.groups);
        all.teams.append(&mut d.teams);
    }
}

fn push_value<T: DeserializeOwned>(list: &mut Vec<T>, object: serde_json::Value) -> Option<()> {
    list.push(serde_json::from_value(object).ok()?);
    Some(())
}

/// Reads an object whose first key is `kind`, then deserializes the rest of the same object into
/// that kind's type and pushes it. `Ok(None)`: the first key is not `kind`.
struct Tagged<'l, 'a> {
    lists: &'l mut Lists<'a>,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for Tagged<'_, 'a> {
    type Value = Option<Kind>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for Tagged<'_, 'a> {
    type Value = Option<Kind>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with its `kind` first")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match map.next_key::<&str>()? {
            Some("kind") => {}
            Some(_) => {
                // Read to the end of the object, so the line parses and the caller can retry.
                map.next_value::<IgnoredAny>()?;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(None);
            }
            None => return Ok(None),
        }
        let tag: &str = map.next_value()?;
        let Some(kind) = Kind::from_singular(tag) else {
            return Err(serde::de::Error::custom("unknown kind"));
        };
        let rest = MapAccessDeserializer::new(map);
        let rows = &mut self.lists.0;
        let d = &mut rows.rest;
        match kind {
            Kind::Service => d.services.push(Deserialize::deserialize(rest)?),
            Kind::Permission => d.permissions.push(Deserialize::deserialize(rest)?),
            Kind::Role => d.roles.push(Deserialize::deserialize(rest)?),
            Kind::Organization => d.organizations.push(Deserialize::deserialize(rest)?),
            Kind::Project => d.projects.push(Deserialize::deserialize(rest)?),
            Kind::Group => d.groups.push(Deserialize::deserialize(rest)?),
            Kind::Team => d.teams.push(Deserialize::deserialize(rest)?),
            Kind::Grant => rows.grants.push(Deserialize::deserialize(rest)?),
            Kind::User => rows.users.push(Deserialize::deserialize(rest)?),
        }
        Ok(Some(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn chunks_end_after_a_newline_and_cover_the_body() {
        let body = "a\nbb\nccc\ndddd\n\neeeee";
        for count in 1..8 {
            let chunks = split(body, count);
            assert!(chunks.len() <= count);
            assert_eq!(chunks.concat(), body);
            for chunk in &chunks[..chunks.len() - 1] {
                assert!(chunk.ends_with('\n'), "{chunks:?}");
            }
        }
        assert_eq!(split("one line", 4), vec!["one line"]);
    }
}
