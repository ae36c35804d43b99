//! GitLab paging: `page`/`per_page` (Kaminari) with its headers and `Link`, and keyset paging
//! (`pagination=keyset`) with an opaque cursor.
//!
//! The cursor is the hex encoding of a small JSON object holding the last row's GitLab id and,
//! **only when the viewer may see it**, its sort value (GitLab's own is base64 JSON; only the
//! header mechanics must match, reference open question 9). **(decided)** Cursors are keyed on
//! visible fields only rather than encrypted or signed: a non-admin paging by `updated_at` gets
//! `{"id": N}`, and the server reads the value back from row N (a value a client adds is
//! ignored), so a cursor reveals nothing the viewer cannot see and a forged one can only name a
//! visible position; cursors stay valid across processes (the CLI is one process per request),
//! which a per-process signing key would break. Keyset paging is offered for every
//! `order_by`/`sort` pair and ignores the search relevance order (it pages in the explicit
//! order, default id descending).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::gitlab_values::Validation;
use crate::http::HttpResponse;
use crate::params::to_query;

/// Kaminari's default page size.
pub(crate) const DEFAULT_PER_PAGE: u64 = 20;
/// Kaminari's `max_per_page` in GitLab.
pub(crate) const MAX_PER_PAGE: u64 = 100;

/// How the request pages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Paging {
    /// `page` (1-based) and `per_page`.
    Offset {
        /// The page, at least 1.
        page: u64,
        /// Rows per page, 1..=100.
        per_page: u64,
    },
    /// `pagination=keyset`: rows after the cursor's position.
    Keyset {
        /// Rows per page, 1..=100.
        per_page: u64,
        /// Where the previous page ended (`None` = from the start).
        after: Option<Cursor>,
    },
}

/// A keyset position: the number of the last row shown and, when visible, its sort key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cursor {
    /// The key (a number for id/updated_at, a string for name/username); `None` when the
    /// viewer may not see it.
    pub key: Option<Value>,
    /// The row's GitLab id (the tie-breaker).
    pub number: u64,
}

impl Cursor {
    /// The opaque text form.
    pub(crate) fn encode(&self) -> String {
        let text = match &self.key {
            Some(key) => json!({"key": key, "id": self.number}),
            None => json!({"id": self.number}),
        }
        .to_string();
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads the opaque text form back.
    pub(crate) fn decode(text: &str) -> Option<Cursor> {
        if !text.len().is_multiple_of(2) || !text.is_ascii() {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect();
        let value: Value = serde_json::from_slice(&bytes?).ok()?;
        Some(Cursor {
            key: value.get("key").cloned(),
            number: value.get("id")?.as_u64()?,
        })
    }
}

/// Reads `page`, `per_page`, `pagination` and `cursor`, recording validation failures.
pub(crate) fn read(validation: &mut Validation<'_>, keyset_allowed: bool) -> Paging {
    let page = validation.integer("page");
    let per_page = match validation.integer("per_page") {
        Some(0) => {
            validation.fail("per_page has a value not allowed".into());
            DEFAULT_PER_PAGE
        }
        Some(n) if n < 0 => DEFAULT_PER_PAGE,
        Some(n) => (n as u64).min(MAX_PER_PAGE),
        None => DEFAULT_PER_PAGE,
    };
    let params = validation.params();
    if keyset_allowed && params.last("pagination") == Some("keyset") {
        let after = match params.last("cursor") {
            None | Some("") => None,
            Some(text) => match Cursor::decode(text) {
                Some(cursor) => Some(cursor),
                None => {
                    validation.fail("cursor is invalid".into());
                    None
                }
            },
        };
        return Paging::Keyset { per_page, after };
    }
    Paging::Offset {
        page: page.filter(|p| *p > 0).map_or(1, |p| p as u64),
        per_page,
    }
}

fn href(base: &str, params: &BTreeMap<String, String>, changes: &[(&str, String)]) -> String {
    let mut merged = params.clone();
    for (k, v) in changes {
        merged.insert((*k).to_string(), v.clone());
    }
    format!("{base}?{}", to_query(&merged))
}

/// Adds Kaminari/GitLab offset headers: `X-Per-Page`, `X-Page`, `X-Next-Page`, `X-Prev-Page`,
/// `Link`, then `X-Total` and `X-Total-Pages` unless the total exceeds `count_limit`.
pub(crate) fn offset_headers(
    mut response: HttpResponse,
    base: &str,
    params: &BTreeMap<String, String>,
    page: u64,
    per_page: u64,
    total: u64,
    count_limit: u64,
) -> HttpResponse {
    let counted = total <= count_limit;
    let total_pages = total.div_ceil(per_page).max(1);
    // Kaminari: no next/prev when the page is out of range.
    let in_range = page <= total_pages;
    let next = (in_range && page < total_pages).then_some(page + 1);
    let prev = (in_range && page > 1).then_some(page - 1);
    let link = |p: u64, rel: &str| {
        format!(
            "<{}>; rel=\"{rel}\"",
            href(
                base,
                params,
                &[("page", p.to_string()), ("per_page", per_page.to_string())]
            )
        )
    };
    let mut links = Vec::new();
    if let Some(p) = prev {
        links.push(link(p, "prev"));
    }
    if let Some(n) = next {
        links.push(link(n, "next"));
    }
    links.push(link(1, "first"));
    if counted {
        links.push(link(total_pages, "last"));
    }
    let show = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    response = response
        .with_header("X-Per-Page", per_page.to_string())
        .with_header("X-Page", page.to_string())
        .with_header("X-Next-Page", show(next))
        .with_header("X-Prev-Page", show(prev))
        .with_header("Link", links.join(", "));
    if counted {
        response = response
            .with_header("X-Total", total.to_string())
            .with_header("X-Total-Pages", total_pages.to_string());
    }
    response
}

/// Adds keyset headers: `X-Per-Page`, and when another page exists `X-Next-Cursor` and a
/// `Link rel="next"` carrying the request params plus `cursor`. No totals.
pub(crate) fn keyset_headers(
    mut response: HttpResponse,
    base: &str,
    params: &BTreeMap<String, String>,
    per_page: u64,
    next: Option<&Cursor>,
) -> HttpResponse {
    response = response.with_header("X-Per-Page", per_page.to_string());
    if let Some(cursor) = next {
        let encoded = cursor.encode();
        let url = href(base, params, &[("cursor", encoded.clone())]);
        response = response
            .with_header("X-Next-Cursor", encoded)
            .with_header("Link", format!("<{url}>; rel=\"next\""));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            key: Some(json!("Luke Skywalker")),
            number: 7,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        let hidden = Cursor {
            key: None,
            number: 7,
        };
        assert_eq!(Cursor::decode(&hidden.encode()), Some(hidden));
        assert_eq!(Cursor::decode("zz"), None);
        assert_eq!(Cursor::decode("7b7d"), None);
    }
}
