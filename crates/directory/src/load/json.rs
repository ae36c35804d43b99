//! The tolerant whole-document JSON reader: split into borrowed raw values, then one object at a
//! time, so every object's problems are found and located (used when [`super::onepass`] gives up).

use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::places::{Kind, Loc, Places, Style};
use super::{object_error, syntax_error, validate_with, Tolerated};
use crate::error::{LoadError, LoadErrorKind, LoadErrors};
use crate::model::Model;
use crate::raw;

/// The top-level object as (key, raw value) pairs in file order, duplicates kept so they can be
/// reported (a `BTreeMap` would silently keep the last).
struct TopLevel<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a directory object {\"format\": \"userql-directory/1\", …}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: &'de RawValue = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(TopLevel(entries))
            }
        }
        deserializer.deserialize_map(TopVisitor)
    }
}

/// Best-effort id of an object that failed to parse, for its place and the tolerated set.
#[derive(Deserialize, Default)]
struct Probe {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

fn probe_id(text: &str, kind: Kind) -> String {
    let probe: Probe = serde_json::from_str(text).unwrap_or_default();
    let id = if kind == Kind::Grant {
        probe.role
    } else {
        probe.id
    };
    id.unwrap_or_default()
}

/// Lazily built line table, so error lines cost nothing on the happy path.
struct Lines<'a> {
    text: &'a str,
    newlines: Option<Vec<usize>>,
}

impl Lines<'_> {
    /// 1-based line of a byte offset.
    fn line_of(&mut self, offset: usize) -> usize {
        let text = self.text;
        let newlines = self.newlines.get_or_insert_with(|| {
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect()
        });
        newlines.partition_point(|&n| n < offset) + 1
    }
}

struct Reader<'a> {
    lines: Lines<'a>,
    errors: Vec<LoadError>,
    tolerated: Tolerated,
    positions: [Vec<usize>; 9],
    places: Places,
}

impl<'a> Reader<'a> {
    fn list<T: DeserializeOwned>(&mut self, kind: Kind, value: &'a RawValue, out: &mut Vec<T>) {
        let elements: Vec<&RawValue> = match serde_json::from_str(value.get()) {
            Ok(elements) => elements,
            Err(e) => {
                let line = self.line_at(value);
                let (_, kind_err) = object_error(&e, Some(line));
                self.errors.push(LoadError::new(
                    "document",
                    Some(kind.plural().to_owned()),
                    kind_err,
                ));
                return;
            }
        };
        out.reserve(elements.len());
        for (index, element) in elements.into_iter().enumerate() {
            match serde_json::from_str::<T>(element.get()) {
                Ok(item) => {
                    out.push(item);
                    self.positions[kind.slot()].push(index);
                }
                Err(e) => {
                    let id = probe_id(element.get(), kind);
                    let line = self.line_at(element);
                    let (field, error_kind) = object_error(&e, Some(line));
                    let place = self.places.render(Loc {
                        kind,
                        index,
                        id: &id,
                    });
                    self.errors.push(LoadError::new(place, field, error_kind));
                    if !id.is_empty() {
                        self.tolerated.insert((kind, id));
                    }
                }
            }
        }
    }

    fn line_at(&mut self, value: &RawValue) -> usize {
        // The raw value borrows from the input, so its address gives its byte offset.
        let offset =
            (value.get().as_ptr() as usize).saturating_sub(self.lines.text.as_ptr() as usize);
        self.lines.line_of(offset)
    }
}

pub(super) fn load(text: &str) -> Result<Model, LoadErrors> {
    let top: TopLevel = serde_json::from_str(text).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() {
            syntax_error(&e, 0)
        } else {
            object_error(&e, None).1
        };
        LoadErrors::single("document", kind)
    })?;

    let mut reader = Reader {
        lines: Lines {
            text,
            newlines: None,
        },
        errors: Vec::new(),
        tolerated: Tolerated::new(),
        positions: Default::default(),
        places: Places::identity(Style::Json),
    };
    let mut directory = raw::Directory::default();
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &top.0 {
        if seen.contains(&key.as_str()) {
            reader.errors.push(LoadError::new(
                "document",
                Some(key.clone()),
                LoadErrorKind::Invalid {
                    message: format!("duplicate key `{key}`"),
                },
            ));
            continue;
        }
        seen.push(key);
        match key.as_str() {
            "format" => match serde_json::from_str::<String>(value.get()) {
                Ok(format) => directory.format = format,
                Err(_) => reader.errors.push(LoadError::new(
                    "document",
                    Some("format".to_owned()),
                    LoadErrorKind::BadFormat {
                        found: value.get().to_owned(),
                    },
                )),
            },
            other => match Kind::from_plural(other) {
                Some(Kind::Service) => reader.list(Kind::Service, value, &mut directory.services),
                Some(Kind::Permission) => {
                    reader.list(Kind::Permission, value, &mut directory.permissions)
                }
                Some(Kind::Role) => reader.list(Kind::Role, value, &mut directory.roles),
                Some(Kind::Organization) => {
                    reader.list(Kind::Organization, value, &mut directory.organizations)
                }
                Some(Kind::Project) => reader.list(Kind::Project, value, &mut directory.projects),
                Some(Kind::Group) => reader.list(Kind::Group, value, &mut directory.groups),
                Some(Kind::Team) => reader.list(Kind::Team, value, &mut directory.teams),
                Some(Kind::Grant) => reader.list(Kind::Grant, value, &mut directory.grants),
                Some(Kind::User) => reader.list(Kind::User, value, &mut directory.users),
                None => reader.errors.push(LoadError::new(
                    "document",
                    Some(other.to_owned()),
                    LoadErrorKind::UnknownField {
                        name: other.to_owned(),
                    },
                )),
            },
        }
    }
    if !seen.contains(&"format") {
        reader.errors.push(LoadError::new(
            "document",
            Some("format".to_owned()),
            LoadErrorKind::MissingField {
                name: "format".to_owned(),
            },
        ));
        // Keep validation from reporting the same problem a second time.
        directory.format = raw::FORMAT.to_owned();
    } else if reader
        .errors
        .iter()
        .any(|e| e.field.as_deref() == Some("format"))
    {
        directory.format = raw::FORMAT.to_owned();
    }

    let places = Places::mapped(Style::Json, reader.positions);
    match validate_with(directory.into(), &places, &reader.tolerated) {
        Ok(model) if reader.errors.is_empty() => Ok(model),
        Ok(_) => Err(LoadErrors::new(reader.errors)),
        Err(more) => {
            let mut errors = reader.errors;
            errors.extend(more.errors);
            Err(LoadErrors::new(errors))
        }
    }
}
