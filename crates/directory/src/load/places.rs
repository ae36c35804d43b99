//! Rendering "where" an object is, per input style, without allocating until an error needs it.

/// The nine object kinds of the format, in the order of the top-level document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Service,
    Permission,
    Role,
    Organization,
    Project,
    Group,
    Team,
    Grant,
    User,
}

impl Kind {
    pub(crate) const ALL: [Kind; 9] = [
        Kind::Service,
        Kind::Permission,
        Kind::Role,
        Kind::Organization,
        Kind::Project,
        Kind::Group,
        Kind::Team,
        Kind::Grant,
        Kind::User,
    ];

    /// The top-level key of the JSON document.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            Kind::Service => "services",
            Kind::Permission => "permissions",
            Kind::Role => "roles",
            Kind::Organization => "organizations",
            Kind::Project => "projects",
            Kind::Group => "groups",
            Kind::Team => "teams",
            Kind::Grant => "grants",
            Kind::User => "users",
        }
    }

    /// The NDJSON `kind` value, also used in "unknown group id" messages.
    pub(crate) fn singular(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Permission => "permission",
            Kind::Role => "role",
            Kind::Organization => "organization",
            Kind::Project => "project",
            Kind::Group => "group",
            Kind::Team => "team",
            Kind::Grant => "grant",
            Kind::User => "user",
        }
    }

    pub(crate) fn from_plural(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.plural() == key)
    }

    pub(crate) fn from_singular(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.singular() == key)
    }

    pub(crate) fn slot(self) -> usize {
        self as usize
    }
}

/// An object's location before rendering: cheap to pass around on the happy path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loc<'a> {
    pub kind: Kind,
    /// Index in the validated list of that kind (remapped through [`Places`] positions).
    pub index: usize,
    /// The object's id (for grants: the role id), possibly empty.
    pub id: &'a str,
}

/// How the input was written, which decides how a [`Loc`] is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `users[3] (id u-vader)`
    Json,
    /// `line 17 (user u-vader)`
    Ndjson,
    /// `batch[2] (user u-vader)`: an update batch in the store.
    Batch,
}

/// Maps validated-list indices back to what the author sees (array index, line number, batch item).
#[derive(Debug, Clone)]
pub(crate) struct Places {
    style: Style,
    /// Per kind: the original position of each object that parsed; `None` means identity.
    positions: Option<[Vec<usize>; 9]>,
}

impl Places {
    pub(crate) fn identity(style: Style) -> Places {
        Places {
            style,
            positions: None,
        }
    }

    pub(crate) fn mapped(style: Style, positions: [Vec<usize>; 9]) -> Places {
        Places {
            style,
            positions: Some(positions),
        }
    }

    pub(crate) fn render(&self, loc: Loc<'_>) -> String {
        let position = self
            .positions
            .as_ref()
            .and_then(|p| p[loc.kind.slot()].get(loc.index).copied())
            .unwrap_or(loc.index);
        let described = describe(loc.kind, loc.id);
        match self.style {
            Style::Json => format!("{}[{}]{}", loc.kind.plural(), position, described),
            Style::Ndjson => format!(
                "line {position} ({}{})",
                loc.kind.singular(),
                bare(&described)
            ),
            Style::Batch => format!(
                "batch[{position}] ({}{})",
                loc.kind.singular(),
                bare(&described)
            ),
        }
    }
}

/// ` (id x)` / ` (role x)` / empty.
fn describe(kind: Kind, id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else if kind == Kind::Grant {
        format!(" (role {id})")
    } else {
        format!(" (id {id})")
    }
}

/// Turns ` (id x)` into ` x` (and ` (role x)` into ` role x`) for the parenthesised styles.
fn bare(described: &str) -> String {
    match described
        .strip_prefix(" (")
        .and_then(|s| s.strip_suffix(')'))
    {
        Some(inner) => format!(" {}", inner.strip_prefix("id ").unwrap_or(inner)),
        None => String::new(),
    }
}
