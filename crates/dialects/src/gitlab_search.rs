//! GitLab's `search` parameter (`User.search`, reference §1.4) as Hub clauses, plus its ordering.
//!
//! The match itself is fully expressible: `publicEmail: q` (or `email: q` where private emails
//! are searched) OR every kept term `nameContains` OR every kept term `loginContains`; with no
//! term of three characters, `name: q or login: q` (whole-string, case-insensitive). Emails are
//! compared case-insensitively (reference open question 6). What is *not* expressible in Hub is
//! the relevance order (exact public email, then login, then name, then the rest, each by name
//! then id); the dialect applies it with [`relevance_page`] from the indexes: the few rows of the
//! exact tiers come from the term dictionaries, the rest from the name permutation
//! ([`crate::gitlab_order`]) — no match is ranked one by one.

use roaring::RoaringBitmap;
use userql_directory::index::TermField;
use userql_directory::model::{Row, User};
use userql_directory::Snapshot;
use userql_syntax::ast::Expr;

use crate::gitlab_order::{self, PagePath};
use crate::gitlab_rows::display_name;
use crate::query::{and, field, nothing, or};
use crate::source::GitlabKey;

/// Which email the exact-address branch compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmailScope {
    /// Non-admin `GET /users`: the public email.
    Public,
    /// Admins and enterprise users: the primary or a secondary email.
    Private,
}

/// A `search` value after GitLab's normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Search {
    /// Matches nothing (`@` alone).
    Nothing,
    /// The lower-cased query, leading `@` removed.
    Query(String),
}

/// Reads `search`: absent or blank is no filter (`None`).
pub(crate) fn normalise(raw: Option<&str>) -> Option<Search> {
    let raw = raw?;
    if raw.trim().is_empty() {
        return None;
    }
    let stripped = raw.strip_prefix('@').unwrap_or(raw);
    if stripped.trim().is_empty() {
        return Some(Search::Nothing);
    }
    Some(Search::Query(stripped.to_lowercase()))
}

/// Ruby's `squish`: trimmed, inner whitespace runs collapsed to one space.
fn squish(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// GitLab's `select_fuzzy_terms`: quoted phrases whole (after the plain words), then only terms of
/// at least three characters.
pub(crate) fn terms(query: &str) -> Vec<String> {
    let mut rest = String::new();
    let mut quoted = Vec::new();
    let mut remaining = query;
    while let Some(open) = remaining.find('"') {
        let after = &remaining[open + 1..];
        match after.find('"') {
            Some(close) => {
                rest.push_str(&remaining[..open]);
                quoted.push(after[..close].to_string());
                remaining = &after[close + 1..];
            }
            None => break,
        }
    }
    rest.push_str(remaining);
    rest.split_whitespace()
        .map(str::to_string)
        .chain(quoted)
        .filter(|term| term.chars().count() >= 3)
        .collect()
}

/// The Hub clause for a normalised search.
pub(crate) fn clause(search: &Search, emails: EmailScope) -> Expr {
    let query = match search {
        Search::Nothing => return nothing(),
        Search::Query(query) => query,
    };
    let email = match emails {
        EmailScope::Public => field("publicEmail", &[query]),
        EmailScope::Private => field("email", &[query]),
    };
    let squished = squish(query);
    let kept = terms(&squished);
    if kept.is_empty() {
        return or(vec![
            email,
            field("name", &[&squished]),
            field("login", &[&squished]),
        ]);
    }
    let all_of =
        |key: &str| and(kept.iter().map(|t| field(key, &[t])).collect()).unwrap_or_else(nothing);
    or(vec![email, all_of("nameContains"), all_of("loginContains")])
}

/// GitLab's relevance bucket: 0 public email equal, 1 login equal, 2 name equal, 3 the rest.
pub(crate) fn priority(user: &User, query: &str) -> u8 {
    let equal = |value: Option<&str>| value.is_some_and(|v| lowercase_equals(v, query));
    if equal(user.public_email.as_deref()) {
        0
    } else if equal(Some(&user.login)) {
        1
    } else if equal(user.name.as_deref()) {
        2
    } else {
        3
    }
}

/// Rows `skip .. skip + top` of `rows` in relevance order: [`priority`] ascending, then the
/// displayed name (byte order), then the GitLab id; with the number of exact-tier rows and how
/// the rest was paged.
///
/// A row of tiers 0–2 has the query, lower-cased, as its public email, login or name, so its
/// folded value is the folded query and the term dictionaries hold it (rows the indexes describe
/// exactly; the overlay's rows are checked one by one): those few rows are ranked by record, and
/// every other match is tier 3, paged from the name order without touching its record.
pub(crate) fn relevance_page(
    snapshot: &Snapshot,
    rows: &RoaringBitmap,
    query: &str,
    skip: usize,
    top: usize,
) -> (Vec<Row>, usize, PagePath) {
    let index = &snapshot.index;
    let users = &snapshot.model.users;
    let mut candidates = index.term(TermField::PublicEmail, query)
        | index.term(TermField::Login, query)
        | index.term(TermField::Name, query);
    candidates |= &*snapshot.dirty;
    candidates &= rows;
    let mut tiers: Vec<(u8, &str, u64, Row)> = candidates
        .iter()
        .filter_map(|row| {
            let user = &users[row as usize];
            let tier = priority(user, query);
            (tier < 3).then(|| (tier, display_name(user), user.number, row))
        })
        .collect();
    tiers.sort_unstable();
    let mut page: Vec<Row> = tiers
        .iter()
        .map(|&(_, _, _, row)| row)
        .skip(skip)
        .take(top)
        .collect();
    let mut path = PagePath::Trivial;
    if page.len() < top {
        let ranked: RoaringBitmap = tiers.iter().map(|&(_, _, _, row)| row).collect();
        let rest = rows - &ranked;
        let rest_skip = skip.saturating_sub(tiers.len());
        let (rest_page, rest_path) = gitlab_order::page(
            snapshot,
            &rest,
            GitlabKey::DisplayName,
            false,
            None,
            rest_skip,
            top - page.len(),
        );
        page.extend(rest_page);
        path = rest_path;
    }
    (page, tiers.len(), path)
}

/// `value.to_lowercase() == lowered`, without allocating for ASCII values (this runs for every
/// match of a search, three times). Other values take `to_lowercase`, whose result can depend on
/// context (a final sigma), so no per-char shortcut is exact for them.
fn lowercase_equals(value: &str, lowered: &str) -> bool {
    if value.is_ascii() {
        value.len() == lowered.len()
            && value
                .bytes()
                .zip(lowered.bytes())
                .all(|(v, l)| v.to_ascii_lowercase() == l)
    } else {
        value.to_lowercase() == lowered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_equality_matches_to_lowercase() {
        for value in ["Luke", "luke", "LUKE ", "Ölaf", "ΟΔΥΣΣΕΥΣ", "", "a\u{130}"] {
            for lowered in [
                "luke",
                "luke ",
                "ölaf",
                "οδυσσευς",
                "οδυσσεύς",
                "",
                "ai\u{307}",
            ] {
                assert_eq!(
                    lowercase_equals(value, lowered),
                    value.to_lowercase() == lowered,
                    "{value:?} vs {lowered:?}"
                );
            }
        }
    }

    #[test]
    fn strips_one_at_and_lowercases() {
        assert_eq!(
            normalise(Some("@@Luke")),
            Some(Search::Query("@luke".into()))
        );
        assert_eq!(normalise(Some("@")), Some(Search::Nothing));
        assert_eq!(normalise(Some("  ")), None);
        assert_eq!(normalise(None), None);
    }

    #[test]
    fn keeps_quoted_phrases_and_long_terms() {
        assert_eq!(
            terms(r#"lu "sky walker" darth"#),
            vec!["darth", "sky walker"]
        );
        assert_eq!(terms("ab cd"), Vec::<String>::new());
    }

    #[test]
    fn short_queries_need_whole_string_equality() {
        let c = clause(&Search::Query("ab".into()), EmailScope::Public);
        assert_eq!(c.to_string(), "publicEmail: ab or name: ab or login: ab");
        let c = clause(&Search::Query("luke sky".into()), EmailScope::Private);
        assert_eq!(
            c.to_string(),
            "email: {luke sky} or nameContains: luke and nameContains: sky or loginContains: luke and loginContains: sky"
        );
    }
}
