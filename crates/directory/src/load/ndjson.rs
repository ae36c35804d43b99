//! The tolerant NDJSON reader: a format header line, then one object per line tagged with `kind`,
//! every line's problems found and located (used when [`super::split`] gives up).
//!
//! Objects may come in any order; references are resolved once the whole input is read.
//! Blank lines are ignored. Every error names its 1-based line.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::places::{Kind, Loc, Places, Style};
use super::{object_error, syntax_error, validate_with, Tolerated};
use crate::error::{LoadError, LoadErrorKind, LoadErrors};
use crate::model::Model;
use crate::raw;

struct Reader {
    errors: Vec<LoadError>,
    tolerated: Tolerated,
    /// Per kind: the line number of each object that parsed.
    lines: [Vec<usize>; 9],
    places: Places,
}

impl Reader {
    fn object<T: DeserializeOwned>(
        &mut self,
        kind: Kind,
        line: usize,
        map: Map<String, Value>,
        out: &mut Vec<T>,
    ) {
        let id_key = if kind == Kind::Grant { "role" } else { "id" };
        let id = map
            .get(id_key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match serde_json::from_value::<T>(Value::Object(map)) {
            Ok(item) => {
                out.push(item);
                self.lines[kind.slot()].push(line);
            }
            Err(e) => {
                let (field, error_kind) = object_error(&e, None);
                let place = self.places.render(Loc {
                    kind,
                    index: line,
                    id: &id,
                });
                self.errors.push(LoadError::new(place, field, error_kind));
                if !id.is_empty() {
                    self.tolerated.insert((kind, id));
                }
            }
        }
    }

    fn line_error(&mut self, line: usize, field: Option<&str>, kind: LoadErrorKind) {
        self.errors.push(LoadError::new(
            format!("line {line}"),
            field.map(str::to_owned),
            kind,
        ));
    }
}

pub(super) fn load(text: &str) -> Result<Model, LoadErrors> {
    let mut reader = Reader {
        errors: Vec::new(),
        tolerated: Tolerated::new(),
        lines: Default::default(),
        places: Places::identity(Style::Ndjson),
    };
    let mut directory = raw::Directory::default();
    let mut header_seen = false;

    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut map = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                reader.line_error(
                    number,
                    None,
                    LoadErrorKind::Invalid {
                        message: "expected a JSON object".to_owned(),
                    },
                );
                continue;
            }
            Err(e) => {
                reader.line_error(number, None, syntax_error(&e, number - 1));
                continue;
            }
        };
        if !header_seen {
            header_seen = true;
            let format = map
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if format != raw::FORMAT {
                reader.line_error(
                    number,
                    Some("format"),
                    LoadErrorKind::BadFormat {
                        found: format.to_owned(),
                    },
                );
            }
            for key in map.keys().filter(|k| k.as_str() != "format") {
                reader.line_error(
                    number,
                    Some(key),
                    LoadErrorKind::UnknownField { name: key.clone() },
                );
            }
            continue;
        }
        let kind_text = match map.remove("kind") {
            Some(Value::String(kind)) => kind,
            _ => String::new(),
        };
        match Kind::from_singular(&kind_text) {
            Some(Kind::Service) => {
                reader.object(Kind::Service, number, map, &mut directory.services)
            }
            Some(Kind::Permission) => {
                reader.object(Kind::Permission, number, map, &mut directory.permissions)
            }
            Some(Kind::Role) => reader.object(Kind::Role, number, map, &mut directory.roles),
            Some(Kind::Organization) => reader.object(
                Kind::Organization,
                number,
                map,
                &mut directory.organizations,
            ),
            Some(Kind::Project) => {
                reader.object(Kind::Project, number, map, &mut directory.projects)
            }
            Some(Kind::Group) => reader.object(Kind::Group, number, map, &mut directory.groups),
            Some(Kind::Team) => reader.object(Kind::Team, number, map, &mut directory.teams),
            Some(Kind::Grant) => reader.object(Kind::Grant, number, map, &mut directory.grants),
            Some(Kind::User) => reader.object(Kind::User, number, map, &mut directory.users),
            None => reader.line_error(
                number,
                Some("kind"),
                LoadErrorKind::UnknownKind { found: kind_text },
            ),
        }
    }
    if !header_seen {
        reader.line_error(
            1,
            Some("format"),
            LoadErrorKind::BadFormat {
                found: String::new(),
            },
        );
    }
    // The header was checked above; validation must not report it again.
    directory.format = raw::FORMAT.to_owned();

    let places = Places::mapped(Style::Ndjson, reader.lines);
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
