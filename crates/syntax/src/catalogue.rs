//! The key catalogue of the Hub query language (spec `hub-query.md`, "Keys for users").
//!
//! One table per kind of name — field keys, tuples and their arguments, the closed value sets of
//! `is:`, `has:` and `state:`, and the `orderBy` fields — so that the parser (unknown key →
//! did-you-mean), the engine's binder (which key means what) and query assist (completion lists) all
//! read the same source of truth. Lookups are case-insensitive and return the canonical spelling,
//! which is what [`crate::ast::Name::normalized`] holds.

/// What a field key means: one variant per key, so that the binder matches on it exhaustively
/// and a key added to [`FIELD_KEYS`] does not compile until the binder gives it a meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `id:`.
    Id,
    /// `loginStartsWith:`.
    LoginStartsWith,
    /// `name:`.
    Name,
    /// `nameStartsWith:`.
    NameStartsWith,
    /// `email:`.
    Email,
    /// `after:`.
    After,
    /// `before:`.
    Before,
    /// `lastAccess:`.
    LastAccess,
    /// `created:`.
    Created,
    /// `vcsUserName:`.
    VcsUserName,
    /// `ownRole:`.
    OwnRole,
    /// `group:`.
    Group,
    /// `in:`.
    In,
    /// `team:`.
    Team,
    /// `authName:`.
    AuthName,
    /// `authEmail:`.
    AuthEmail,
    /// `googleID:`.
    GoogleId,
    /// `openID:`.
    OpenId,
    /// `originService:`.
    OriginService,
    /// `sshPublicKey:`.
    SshPublicKey,
    /// `hasLicense:`.
    HasLicense,
    /// `banStatus:`.
    BanStatus,
    /// `type:`.
    Type,
    /// `is:`.
    Is,
    /// `has:`.
    Has,
    /// `state:`.
    State,
    /// `publicEmail:`.
    PublicEmail,
    /// `organization:`.
    Organization,
    /// `enterpriseGroup:`.
    EnterpriseGroup,
    /// `number:`.
    Number,
    /// `loginContains:`.
    LoginContains,
    /// `nameContains:`.
    NameContains,
    /// `emailContains:`.
    EmailContains,
    /// `login:`.
    Login,
    /// `authModule:`.
    AuthModule,
    /// `authLogin:`.
    AuthLogin,
}

/// What a tuple means (see [`KeyKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TupleKind {
    /// `access(…)`.
    Access,
    /// `lastAccess(…)`.
    LastAccess,
    /// `identity(…)`.
    Identity,
}

/// A field key (`key: value`): its canonical spelling and the other spellings that mean it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldKey {
    /// What the key means (the binder dispatches on it).
    pub kind: KeyKind,
    /// The canonical spelling (`login`, `authModule`, `googleID`).
    pub name: &'static str,
    /// Other accepted spellings, folded onto `name` by the parser (`username` → `login`).
    pub aliases: &'static [&'static str],
    /// `true` for userql extensions beyond Hub; query assist marks them as such.
    pub extension: bool,
    /// `true` when only an administrator may filter on it (the binder refuses it for others).
    pub private: bool,
    /// One line for query assist: what the key matches.
    pub description: &'static str,
}

/// A tuple (`name(arg: value, …)`): its canonical spelling and argument names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TupleInfo {
    /// What the tuple means (the binder dispatches on it).
    pub kind: TupleKind,
    /// The canonical spelling (`access`, `lastAccess`, `identity`).
    pub name: &'static str,
    /// The canonical argument names, in the order query assist offers them.
    pub arguments: &'static [&'static str],
    /// `true` for userql extensions beyond Hub.
    pub extension: bool,
    /// `true` when only an administrator may use it.
    pub private: bool,
    /// One line for query assist.
    pub description: &'static str,
}

/// A value of a closed set (`is:`, `has:`, `state:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedValue {
    /// The canonical spelling, unbraced (`2FA`, `approved resource`).
    pub name: &'static str,
    /// `true` for userql extensions beyond Hub.
    pub extension: bool,
    /// `true` when only an administrator may filter on it (`has: 2FA`, …).
    pub private: bool,
}

const fn key(kind: KeyKind, name: &'static str, description: &'static str) -> FieldKey {
    FieldKey {
        kind,
        name,
        aliases: &[],
        extension: false,
        private: false,
        description,
    }
}

const fn ext_key(kind: KeyKind, name: &'static str, description: &'static str) -> FieldKey {
    FieldKey {
        extension: true,
        ..key(kind, name, description)
    }
}

/// A key only an administrator may filter on.
const fn private_key(kind: KeyKind, name: &'static str, description: &'static str) -> FieldKey {
    FieldKey {
        private: true,
        ..key(kind, name, description)
    }
}

const fn hub(name: &'static str) -> ClosedValue {
    ClosedValue {
        name,
        extension: false,
        private: false,
    }
}

const fn ext(name: &'static str) -> ClosedValue {
    ClosedValue {
        extension: true,
        ..hub(name)
    }
}

/// A closed value only an administrator may filter on.
const fn private(value: ClosedValue) -> ClosedValue {
    ClosedValue {
        private: true,
        ..value
    }
}

/// Every field key, Hub's and the extensions, in the spec's order. `private` keys are the ones
/// hub-query.md reserves for administrators; the binder reads the flag from here.
pub const FIELD_KEYS: &[FieldKey] = &[
    key(KeyKind::Id, "id", "whose id is the value"),
    FieldKey {
        kind: KeyKind::Login,
        name: "login",
        aliases: &["username"],
        extension: false,
        private: false,
        description: "whose login is the value",
    },
    key(
        KeyKind::LoginStartsWith,
        "loginStartsWith",
        "whose login starts with the value",
    ),
    key(KeyKind::Name, "name", "whose full name is the value"),
    key(
        KeyKind::NameStartsWith,
        "nameStartsWith",
        "whose full name or login starts with the value",
    ),
    private_key(
        KeyKind::Email,
        "email",
        "whose primary or a secondary email is the value",
    ),
    key(KeyKind::After, "after", "created after the instant"),
    key(KeyKind::Before, "before", "created before the instant"),
    ext_key(
        KeyKind::LastAccess,
        "lastAccess",
        "last accessed inside the range",
    ),
    ext_key(KeyKind::Created, "created", "created inside the range"),
    key(
        KeyKind::VcsUserName,
        "vcsUserName",
        "with that VCS user name",
    ),
    key(
        KeyKind::OwnRole,
        "ownRole",
        "holding the role by a grant made to the user itself",
    ),
    key(KeyKind::Group, "group", "direct members of the group"),
    key(
        KeyKind::In,
        "in",
        "members of the group or its subgroups, or of the team",
    ),
    key(KeyKind::Team, "team", "members of the team"),
    FieldKey {
        kind: KeyKind::AuthModule,
        name: "authModule",
        aliases: &["authMethod"],
        extension: false,
        private: true,
        description: "with an auth detail of that module",
    },
    FieldKey {
        kind: KeyKind::AuthLogin,
        name: "authLogin",
        aliases: &["authUsername"],
        extension: false,
        private: true,
        description: "with an auth detail whose login is the value",
    },
    private_key(
        KeyKind::AuthName,
        "authName",
        "with an auth detail whose full name is the value",
    ),
    private_key(
        KeyKind::AuthEmail,
        "authEmail",
        "with an auth detail whose email is the value",
    ),
    private_key(
        KeyKind::GoogleId,
        "googleID",
        "with a Google auth detail whose uid is the value",
    ),
    private_key(
        KeyKind::OpenId,
        "openID",
        "with an OpenID auth detail whose uid is the value",
    ),
    key(
        KeyKind::OriginService,
        "originService",
        "imported from the service",
    ),
    private_key(
        KeyKind::SshPublicKey,
        "sshPublicKey",
        "with an SSH key whose text, blob or fingerprint is the value",
    ),
    key(
        KeyKind::HasLicense,
        "hasLicense",
        "holding a license for the service",
    ),
    private_key(
        KeyKind::BanStatus,
        "banStatus",
        "banned, with that ban status",
    ),
    key(KeyKind::Type, "type", "of that user type"),
    key(KeyKind::Is, "is", "in that state (banned, guest, …)"),
    key(KeyKind::Has, "has", "having that property (2FA, email, …)"),
    ext_key(KeyKind::State, "state", "in that account state"),
    ext_key(
        KeyKind::PublicEmail,
        "publicEmail",
        "whose public email is the value",
    ),
    ext_key(
        KeyKind::Organization,
        "organization",
        "members of the organization",
    ),
    ext_key(
        KeyKind::EnterpriseGroup,
        "enterpriseGroup",
        "members of the enterprise group",
    ),
    ext_key(
        KeyKind::Number,
        "number",
        "whose number is the value or inside the range",
    ),
    ext_key(
        KeyKind::LoginContains,
        "loginContains",
        "whose login contains the value (GitLab search, TFE q)",
    ),
    ext_key(
        KeyKind::NameContains,
        "nameContains",
        "whose full name contains the value (GitLab search)",
    ),
    FieldKey {
        extension: true,
        ..private_key(
            KeyKind::EmailContains,
            "emailContains",
            "whose primary email contains the value (TFE q)",
        )
    },
];

/// Every tuple with its arguments. `role` and `permission` are spellings of `with` that also say
/// which kind of value is expected; they keep their own name (the binder checks the kind) but take
/// the same argument slot (see [`argument_slot`]).
pub const TUPLES: &[TupleInfo] = &[
    TupleInfo {
        kind: TupleKind::Access,
        name: "access",
        arguments: &["project", "organization", "with", "role", "permission"],
        extension: false,
        private: false,
        description: "holding a role or permission in a project or organization",
    },
    TupleInfo {
        kind: TupleKind::LastAccess,
        name: "lastAccess",
        arguments: &["after", "before"],
        extension: false,
        private: false,
        description: "last accessed inside the bounds",
    },
    TupleInfo {
        kind: TupleKind::Identity,
        name: "identity",
        arguments: &["provider", "uid"],
        extension: true,
        private: true,
        description: "with an external identity from the provider",
    },
];

/// The values of `is:`.
pub const IS_VALUES: &[ClosedValue] = &[
    hub("banned"),
    hub("guest"),
    hub("supporting2FA"),
    ext("admin"),
    ext("external"),
    ext("bot"),
    ext("internal"),
    ext("suspended"),
];

/// The values of `has:`. Multi-word values are written in braces in a query (`has: {refresh token}`).
pub const HAS_VALUES: &[ClosedValue] = &[
    hub("lastAccess"),
    hub("ownRole"),
    hub("group"),
    private(hub("2FA")),
    private(hub("authMethod")),
    private(hub("email")),
    private(hub("verifiedEmail")),
    hub("originService"),
    private(hub("login")),
    private(hub("sshPublicKey")),
    hub("license"),
    private(hub("approved resource")),
    private(hub("refresh token")),
    private(hub("permanent token")),
    hub("accepted end-user agreement"),
    ext("publicEmail"),
    private(ext("ldapIdentity")),
    ext("projectRole"),
];

/// The values of `state:` (an extension): GitLab's account states.
pub const STATE_VALUES: &[ClosedValue] = &[
    ext("active"),
    ext("blocked"),
    ext("ldap_blocked"),
    ext("deactivated"),
    ext("banned"),
    ext("blocked_pending_approval"),
];

/// The `orderBy` field spellings with the canonical field each means (`username` sorts by login).
pub const ORDER_BY_FIELDS: &[(&str, &str)] = &[
    ("login", "login"),
    ("name", "name"),
    ("username", "login"),
    ("creationTime", "creationTime"),
    ("lastAccessTime", "lastAccessTime"),
    ("id", "id"),
    ("email", "email"),
];

/// The keywords; a bare word equal to one of them (any case) is never text.
pub const KEYWORDS: &[&str] = &["and", "or", "not"];

/// Resolves a field key spelling (any case, aliases included) to its canonical name.
pub fn field_key(word: &str) -> Option<&'static str> {
    FIELD_KEYS
        .iter()
        .find(|k| {
            k.name.eq_ignore_ascii_case(word)
                || k.aliases.iter().any(|a| a.eq_ignore_ascii_case(word))
        })
        .map(|k| k.name)
}

/// Every accepted field key spelling (canonical names and aliases), for did-you-mean and completion.
pub fn field_key_spellings() -> Vec<&'static str> {
    FIELD_KEYS
        .iter()
        .flat_map(|k| std::iter::once(k.name).chain(k.aliases.iter().copied()))
        .collect()
}

/// Resolves a tuple name (any case).
pub fn tuple(word: &str) -> Option<&'static TupleInfo> {
    TUPLES.iter().find(|t| t.name.eq_ignore_ascii_case(word))
}

/// The tuple names, for did-you-mean and completion.
pub fn tuple_names() -> Vec<&'static str> {
    TUPLES.iter().map(|t| t.name).collect()
}

/// Resolves an argument name of `tuple` (any case) to its canonical spelling.
pub fn tuple_argument(tuple: &TupleInfo, word: &str) -> Option<&'static str> {
    tuple
        .arguments
        .iter()
        .find(|a| a.eq_ignore_ascii_case(word))
        .copied()
}

/// The argument slot a canonical argument name fills: `role` and `permission` fill `with`, so
/// `access(with: a, role: b)` gives the same argument twice. Every other name is its own slot.
pub fn argument_slot(argument: &str) -> &str {
    match argument {
        "role" | "permission" => "with",
        other => other,
    }
}

/// Resolves an `is:` value (case and whitespace runs folded) to its canonical spelling.
pub fn is_value(text: &str) -> Option<&'static str> {
    closed(IS_VALUES, text)
}

/// Resolves a `has:` value (case and whitespace runs folded) to its canonical spelling.
pub fn has_value(text: &str) -> Option<&'static str> {
    closed(HAS_VALUES, text)
}

/// Resolves a `state:` value (case and whitespace runs folded) to its canonical spelling.
pub fn state_value(text: &str) -> Option<&'static str> {
    closed(STATE_VALUES, text)
}

/// Resolves an `orderBy` field spelling (any case) to its canonical field name.
pub fn order_by_field(word: &str) -> Option<&'static str> {
    ORDER_BY_FIELDS
        .iter()
        .find(|(spelling, _)| spelling.eq_ignore_ascii_case(word))
        .map(|(_, field)| *field)
}

/// `true` when `word` is `and`, `or` or `not` in any case.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

fn closed(values: &[ClosedValue], text: &str) -> Option<&'static str> {
    let folded = fold(text);
    values
        .iter()
        .find(|v| fold(v.name) == folded)
        .map(|v| v.name)
}

/// The case- and space-insensitive form of a value: Unicode lowercase, surrounding whitespace
/// trimmed, every run of whitespace inside replaced by one space (hub-query.md: "runs of whitespace
/// inside braces count as one space"). The one definition of the rule: the parser uses it to decide
/// which `is:`/`has:` items of a juxtaposition run share a key, the catalogue to compare closed
/// values, and the directory (`userql_directory::text::fold`) to index and resolve names.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !folded.is_empty() {
            folded.push(' ');
        }
        folded.extend(word.chars().flat_map(char::to_lowercase));
    }
    folded
}

/// The catalogue entry of a field key by its canonical name (what `Name::normalized` holds).
pub fn field_info(name: &str) -> Option<&'static FieldKey> {
    FIELD_KEYS.iter().find(|k| k.name == name)
}

/// The catalogue entry of a tuple by its canonical name.
pub fn tuple_info(name: &str) -> Option<&'static TupleInfo> {
    TUPLES.iter().find(|t| t.name == name)
}

/// Whether only an administrator may use the key or tuple with this canonical name.
pub fn is_private_key(name: &str) -> bool {
    FIELD_KEYS.iter().any(|k| k.private && k.name == name)
        || TUPLES.iter().any(|t| t.private && t.name == name)
}

/// Whether only an administrator may filter on this canonical `has:` value.
pub fn is_private_has(value: &str) -> bool {
    HAS_VALUES.iter().any(|v| v.private && v.name == value)
}

/// The candidate closest to `word` by edit distance (case-insensitive), if it is close enough to be
/// a plausible typo: at most `max(1, len/3)` edits, where `len` is the length of `word` in chars.
/// Ties go to the earlier candidate, so the order of a catalogue list is its preference order.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    let word: Vec<char> = word.chars().collect();
    // A long word cannot be a typo of a short name; the bound also keeps this O(len²) cheap.
    if word.is_empty() || word.len() > 64 {
        return None;
    }
    let threshold = (word.len() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let lowered: Vec<char> = candidate.to_lowercase().chars().collect();
        let distance = edit_distance(&word, &lowered);
        let better = match best {
            Some((d, _)) => distance < d,
            None => true,
        };
        if distance <= threshold && better {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent transpositions (`lastAcess`,
/// `lgoin` are one edit away from what was meant). Shared with the engine's entity suggestions,
/// so every did-you-mean in userql measures closeness the same way.
pub fn edit_distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for (i, row) in table.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in table.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[(i - 1) * width + j] + 1)
                .min(table[i * width + j - 1] + 1)
                .min(table[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[(i - 2) * width + j - 2] + 1);
            }
            table[i * width + j] = best;
        }
    }
    table[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resolve_case_insensitively_through_aliases() {
        assert_eq!(field_key("USERNAME"), Some("login"));
        assert_eq!(field_key("authmethod"), Some("authModule"));
        assert_eq!(field_key("AuthUsername"), Some("authLogin"));
        assert_eq!(field_key("googleid"), Some("googleID"));
        assert_eq!(field_key("loginstartswith"), Some("loginStartsWith"));
        assert_eq!(field_key("lastaccess"), Some("lastAccess"));
        assert_eq!(field_key("nope"), None);
    }

    #[test]
    fn closed_values_fold_case_and_spaces() {
        assert_eq!(has_value("2fa"), Some("2FA"));
        assert_eq!(has_value("Approved   Resource"), Some("approved resource"));
        assert_eq!(is_value("SUPPORTING2FA"), Some("supporting2FA"));
        assert_eq!(state_value("LDAP_blocked"), Some("ldap_blocked"));
        assert_eq!(is_value("2FA"), None);
    }

    #[test]
    fn role_and_permission_share_the_with_slot() {
        assert_eq!(argument_slot("role"), "with");
        assert_eq!(argument_slot("permission"), "with");
        assert_eq!(argument_slot("project"), "project");
        let access = tuple("ACCESS").map(|t| t.name);
        assert_eq!(access, Some("access"));
    }

    #[test]
    fn suggestions_find_typos_within_the_threshold() {
        let keys = field_key_spellings();
        assert_eq!(suggest("lastAcess", &keys), Some("lastAccess"));
        assert_eq!(suggest("lgoin", &keys), Some("login"));
        assert_eq!(suggest("GROPU", &keys), Some("group"));
        assert_eq!(suggest("zzzzzzzz", &keys), None);
        assert_eq!(suggest("", &keys), None);
        assert_eq!(order_by_field("UserName"), Some("login"));
    }
}
