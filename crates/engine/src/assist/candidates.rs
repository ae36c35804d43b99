//! Suggestions for the spot under the caret: candidates from the key catalogue and, for entity keys,
//! from the directory, ranked by how they match what was typed.

use std::collections::BTreeSet;
use std::sync::Arc;

use userql_directory::index::{Category, PrefixField};
use userql_directory::model::Model;
use userql_directory::Snapshot;
use userql_syntax::catalogue::{self, ClosedValue};
use userql_syntax::lenient::{Slot, Spot};

use super::{Suggestion, MAX_SUGGESTIONS};

/// One candidate before matching: the bare option, how it is written, and what it means.
struct Candidate {
    option: String,
    description: String,
    group: &'static str,
    kind: CandidateKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CandidateKind {
    Key,
    Tuple,
    Keyword,
    Argument,
    Value,
}

fn candidate(
    option: impl Into<String>,
    description: impl Into<String>,
    group: &'static str,
    kind: CandidateKind,
) -> Candidate {
    Candidate {
        option: option.into(),
        description: description.into(),
        group,
        kind,
    }
}

pub(super) fn suggest(
    snapshot: &Snapshot,
    query: &str,
    caret: usize,
    spot: &Spot,
) -> Vec<Suggestion> {
    let typed_start = spot.typed_start.clamp(spot.start, caret);
    let typed = query.get(typed_start..caret).unwrap_or("");
    let candidates = candidates(snapshot, spot.slot, typed);
    let rest = query.get(spot.end..).unwrap_or("");
    let followed_by_colon = rest.trim_start().starts_with(':');
    let followed_by_paren = rest.starts_with('(');
    let followed_by_break =
        rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace() || c == ')' || c == ',');

    let mut starting = Vec::new();
    let mut containing = Vec::new();
    let mut seen = BTreeSet::new();
    for candidate in candidates {
        if !seen.insert((candidate.kind as u8, candidate.option.to_lowercase())) {
            continue;
        }
        let Some((matching_start, matching_end)) = find_case_insensitive(&candidate.option, typed)
        else {
            continue;
        };
        let (prefix, suffix) = match candidate.kind {
            CandidateKind::Key | CandidateKind::Argument if followed_by_colon => ("", ""),
            CandidateKind::Key | CandidateKind::Argument => ("", ": "),
            CandidateKind::Tuple if followed_by_paren => ("", ""),
            CandidateKind::Tuple => ("", "("),
            CandidateKind::Keyword | CandidateKind::Value => {
                let braced =
                    candidate.kind == CandidateKind::Value && needs_braces(&candidate.option);
                match (braced, followed_by_break && !rest.is_empty()) {
                    (true, true) => ("{", "}"),
                    (true, false) => ("{", "} "),
                    (false, true) => ("", ""),
                    (false, false) => ("", " "),
                }
            }
        };
        let suggestion = Suggestion {
            caret: spot.start + prefix.len() + candidate.option.len() + suffix.len(),
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            description: candidate.description,
            matching_start,
            matching_end,
            completion_start: spot.start,
            completion_end: spot.end,
            group: candidate.group.to_owned(),
            option: candidate.option,
        };
        if matching_start == 0 {
            starting.push(suggestion);
        } else {
            containing.push(suggestion);
        }
    }
    starting.extend(containing);
    starting.truncate(MAX_SUGGESTIONS);
    starting
}

/// Whether a value must be written in braces to stay one value.
/// A value offered for insertion is braced when the printer would brace it, and also when it is a
/// keyword (`or` is read as a value after `:`, but reads like an operator).
fn needs_braces(value: &str) -> bool {
    !userql_syntax::is_bare_safe(value) || catalogue::is_keyword(value)
}

/// Where `needle` occurs in `haystack`, ignoring case: byte offsets in `haystack`.
fn find_case_insensitive(haystack: &str, needle: &str) -> Option<(usize, usize)> {
    if needle.is_empty() {
        return Some((0, 0));
    }
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    for (start, _) in haystack.char_indices() {
        let mut wanted = needle.iter();
        let mut end = start;
        let mut matched = true;
        'outer: for (i, c) in haystack[start..].char_indices() {
            for lower in c.to_lowercase() {
                match wanted.next() {
                    Some(w) if *w == lower => {}
                    Some(_) => {
                        matched = false;
                        break 'outer;
                    }
                    None => break 'outer,
                }
            }
            end = start + i + c.len_utf8();
            if wanted.len() == 0 {
                break;
            }
        }
        if matched && wanted.len() == 0 {
            return Some((start, end));
        }
    }
    None
}

fn candidates(snapshot: &Snapshot, slot: Slot, typed: &str) -> Vec<Candidate> {
    match slot {
        Slot::Item { after_item } => item_candidates(after_item, typed),
        Slot::Value { key } => {
            key.map_or_else(Vec::new, |key| value_candidates(snapshot, key, typed))
        }
        Slot::Argument { tuple } => tuple.map_or_else(Vec::new, |tuple| {
            tuple
                .arguments
                .iter()
                .map(|a| {
                    candidate(
                        *a,
                        argument_description(tuple.name, a),
                        "arguments",
                        CandidateKind::Argument,
                    )
                })
                .collect()
        }),
        Slot::ArgumentValue { argument } => argument.map_or_else(Vec::new, |argument| {
            value_candidates(snapshot, argument, typed)
        }),
        Slot::Nothing => Vec::new(),
    }
}

fn argument_description(tuple: &str, argument: &str) -> String {
    match (tuple, argument) {
        ("access", "project") => "in this project".into(),
        ("access", "organization") => "in this organization".into(),
        ("access", "with") => "a role, or a permission some role contains".into(),
        ("access", "role") => "holding this role".into(),
        ("access", "permission") => "holding a role with this permission".into(),
        ("lastAccess", "after") => "last accessed after".into(),
        ("lastAccess", "before") => "last accessed before".into(),
        ("identity", "provider") => "auth module type".into(),
        ("identity", "uid") => "external uid".into(),
        _ => format!("{argument} of {tuple}(…)"),
    }
}

fn item_candidates(after_item: bool, typed: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    let keywords: &[&str] = if after_item {
        &["and", "or", "not"]
    } else {
        &["not"]
    };
    let keyword_candidates = keywords.iter().map(|k| {
        let description = match *k {
            "and" => "both sides match",
            "or" => "either side matches",
            _ => "the next item does not match",
        };
        candidate(*k, description, "keywords", CandidateKind::Keyword)
    });
    if after_item && typed.is_empty() {
        out.extend(keyword_candidates);
        push_keys_and_tuples(&mut out, typed);
    } else {
        push_keys_and_tuples(&mut out, typed);
        out.extend(keyword_candidates);
    }
    out
}

fn push_keys_and_tuples(out: &mut Vec<Candidate>, typed: &str) {
    for key in catalogue::FIELD_KEYS {
        out.push(candidate(
            key.name,
            key.description,
            "keys",
            CandidateKind::Key,
        ));
        if !typed.is_empty() {
            for alias in key.aliases {
                out.push(candidate(
                    *alias,
                    format!("same as {}", key.name),
                    "keys",
                    CandidateKind::Key,
                ));
            }
        }
    }
    for tuple in catalogue::TUPLES {
        out.push(candidate(
            tuple.name,
            tuple.description,
            "tuples",
            CandidateKind::Tuple,
        ));
    }
}

fn closed_candidates(values: &[ClosedValue], key: &str) -> Vec<Candidate> {
    values
        .iter()
        .map(|v| {
            let description = if v.extension {
                format!("{key}: {} (userql extension)", v.name)
            } else {
                format!("{key}: {}", v.name)
            };
            candidate(v.name, description, "values", CandidateKind::Value)
        })
        .collect()
}

fn named<'a, T: 'a>(
    items: impl IntoIterator<Item = &'a T>,
    name: fn(&T) -> &str,
    description: &str,
) -> Vec<Candidate> {
    items
        .into_iter()
        .map(|item| candidate(name(item), description, "values", CandidateKind::Value))
        .collect()
}

const DATE_WORDS: &[(&str, &str)] = &[
    ("today", "the current day"),
    ("yesterday", "the day before today"),
    ("now", "the current instant"),
    ("7 days ago", "one week before now"),
    ("30 days ago", "thirty days before now"),
    ("1 year ago", "one year before now"),
];

fn value_candidates(snapshot: &Snapshot, key: &str, typed: &str) -> Vec<Candidate> {
    let model: &Model = &snapshot.model;
    match key {
        "is" => closed_candidates(catalogue::IS_VALUES, "is"),
        "has" => closed_candidates(catalogue::HAS_VALUES, "has"),
        "state" => closed_candidates(catalogue::STATE_VALUES, "state"),
        "group" => named(&model.groups, |g| g.name.as_str(), "group"),
        "enterpriseGroup" => named(
            model.groups.iter().filter(|g| g.parent.is_none()),
            |g| g.name.as_str(),
            "top-level group",
        ),
        "in" => {
            let mut out = named(
                &model.groups,
                |g| g.name.as_str(),
                "group and its subgroups",
            );
            out.extend(named(&model.teams, |t| t.name.as_str(), "team"));
            out
        }
        "team" => named(&model.teams, |t| t.name.as_str(), "team"),
        "project" => {
            let mut out = Vec::new();
            for project in &model.projects {
                let description = match &project.key {
                    Some(k) => format!("project {k}"),
                    None => "project".to_owned(),
                };
                out.push(candidate(
                    project.name.as_str(),
                    description,
                    "values",
                    CandidateKind::Value,
                ));
                if let Some(k) = &project.key {
                    out.push(candidate(
                        k.as_str(),
                        format!("key of project {}", project.name),
                        "values",
                        CandidateKind::Value,
                    ));
                }
            }
            out
        }
        "organization" => named(&model.organizations, |o| o.name.as_str(), "organization"),
        "ownRole" | "role" => named(&model.roles, |r| r.name.as_str(), "role"),
        "permission" => named(&model.permissions, |p| p.name.as_str(), "permission"),
        "with" => {
            let mut out = named(&model.roles, |r| r.name.as_str(), "role");
            out.extend(named(&model.permissions, |p| p.name.as_str(), "permission"));
            out
        }
        "originService" | "hasLicense" => named(&model.services, |s| s.name.as_str(), "service"),
        "authModule" => {
            let facts = scanned(snapshot);
            let mut out: Vec<Candidate> = facts
                .module_types
                .iter()
                .map(|m| {
                    candidate(
                        m.as_str(),
                        "auth module type",
                        "values",
                        CandidateKind::Value,
                    )
                })
                .collect();
            out.extend(
                facts
                    .module_names
                    .iter()
                    .map(|m| candidate(m.as_str(), "auth module", "values", CandidateKind::Value)),
            );
            out
        }
        "provider" => scanned(snapshot)
            .module_types
            .iter()
            .map(|m| {
                candidate(
                    m.as_str(),
                    "auth module type",
                    "values",
                    CandidateKind::Value,
                )
            })
            .collect(),
        "type" => scanned(snapshot)
            .user_types
            .iter()
            .map(|t| candidate(t.as_str(), "user type", "values", CandidateKind::Value))
            .collect(),
        "banStatus" => scanned(snapshot)
            .ban_statuses
            .iter()
            .map(|t| candidate(t.as_str(), "ban status", "values", CandidateKind::Value))
            .collect(),
        "after" | "before" | "created" | "lastAccess" => DATE_WORDS
            .iter()
            .map(|(word, description)| {
                candidate(*word, *description, "values", CandidateKind::Value)
            })
            .collect(),
        "login" | "loginStartsWith" => {
            users_by_prefix(snapshot, PrefixField::Login, typed, |u| Some(&*u.login))
        }
        "name" | "nameStartsWith" => {
            users_by_prefix(snapshot, PrefixField::Name, typed, |u| u.name.as_deref())
        }
        _ => Vec::new(),
    }
}

/// Logins or names starting with what was typed, from the prefix index (nothing until something is
/// typed: every user would be a poor list).
fn users_by_prefix(
    snapshot: &Snapshot,
    field: PrefixField,
    typed: &str,
    value: fn(&userql_directory::model::User) -> Option<&str>,
) -> Vec<Candidate> {
    if typed.trim().is_empty() {
        return Vec::new();
    }
    // The index describes clean rows only: rows changed since it was built are checked one by
    // one, so a user added a moment ago is offered too (and a removed one is not).
    let mut rows = snapshot.index.prefix(field, typed);
    rows -= &*snapshot.dirty;
    let folded = userql_directory::text::fold(typed);
    for row in snapshot.dirty.iter() {
        let starts = snapshot
            .model
            .users
            .get(row as usize)
            .and_then(value)
            .is_some_and(|v| userql_directory::text::fold(v).starts_with(&folded));
        if starts {
            rows.insert(row);
        }
    }
    rows.iter()
        .take(MAX_SUGGESTIONS)
        .filter_map(|row| snapshot.model.users.get(row as usize))
        .filter_map(|user| {
            value(user).map(|v| {
                candidate(
                    v,
                    format!("user {}", user.id),
                    "users",
                    CandidateKind::Value,
                )
            })
        })
        .collect()
}

/// The per-user value lists assist offers, from the index's category dictionaries (the values
/// as first spelled in the directory, sorted).
#[derive(Debug, Default)]
struct Scanned {
    module_types: Vec<String>,
    module_names: Vec<String>,
    user_types: Vec<String>,
    ban_statuses: Vec<String>,
}

fn scanned(snapshot: &Snapshot) -> Arc<Scanned> {
    let values = |category| {
        snapshot
            .index
            .category_values(category)
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    Arc::new(Scanned {
        module_types: values(Category::AuthModuleType),
        module_names: values(Category::AuthModuleName),
        user_types: values(Category::UserType),
        ban_statuses: values(Category::BanStatus),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_find_reports_offsets_in_the_option() {
        assert_eq!(find_case_insensitive("Imperial Army", "arm"), Some((9, 12)));
        assert_eq!(find_case_insensitive("Imperial Army", "IMP"), Some((0, 3)));
        assert_eq!(find_case_insensitive("École", "éc"), Some((0, 3)));
        assert_eq!(find_case_insensitive("abc", "abcd"), None);
        assert_eq!(find_case_insensitive("abc", ""), Some((0, 0)));
    }

    #[test]
    fn braces_are_needed_for_spaces_and_keywords() {
        assert!(needs_braces("Imperial Army"));
        assert!(needs_braces("or"));
        assert!(!needs_braces("Stormtroopers"));
        assert!(!needs_braces("2FA"));
    }
}
