//! The answer formats: `json`, `http`, `ids`, `count`, `table`, and the one-line summary.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
use userql_dialects::{Answer, Dialect};
use userql_directory::model::{Millis, Model};
use userql_directory::Snapshot;

use crate::args::Format;
use crate::request::Settings;

/// The widest a table cell gets before it is cut (with `…`), in terminal columns.
pub const MAX_CELL: usize = 32;

/// A successful answer in `format`, ending with a newline (nothing at all for an empty id list).
pub fn render(format: Format, answer: &Answer, snapshot: &Snapshot) -> String {
    match format {
        Format::Json => with_newline(answer.response.body.clone()),
        Format::Http => with_newline(answer.response.render()),
        Format::Ids => answer.ids.iter().map(|id| format!("{id}\n")).collect(),
        Format::Count => format!("{}\n", total(answer)),
        Format::Table => table_of_ids(snapshot, &answer.ids),
    }
}

/// A refused request on standard output: `json` gets the API's error body (with a status where
/// the body has none of its own), `http` the whole error response; other formats print nothing.
pub fn render_error(format: Format, answer: &Answer) -> Option<String> {
    match format {
        Format::Json => Some(with_newline(error_body(answer))),
        Format::Http => Some(with_newline(answer.response.render())),
        _ => None,
    }
}

fn error_body(answer: &Answer) -> String {
    let body = answer.response.body.trim();
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(_)) | Ok(Value::Array(_)) => body.to_owned(),
        _ => {
            let message = answer
                .error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| body.to_owned());
            json!({"status": answer.response.status, "error": message}).to_string()
        }
    }
}

fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Matches before paging (the page size when the dialect did not count).
pub fn total(answer: &Answer) -> u64 {
    answer.total.unwrap_or(answer.ids.len() as u64)
}

/// `total 17 · rows 1–17 · 0.42 ms`: the total, the page, and (when given) the time.
pub fn summary(answer: &Answer, settings: &Settings, elapsed: Option<Duration>) -> String {
    let shown = answer.ids.len() as u64;
    let page = match (
        answer.response.header("X-Page"),
        answer.response.header("X-Total-Pages"),
    ) {
        (Some(page), Some(pages)) => format!("page {page} of {pages}, {shown} rows"),
        (Some(page), None) => format!("page {page}, {shown} rows"),
        _ if shown == 0 => "no rows".to_owned(),
        _ => {
            let skip = if settings.dialect == Dialect::Hub {
                settings.hub_skip()
            } else {
                0
            };
            format!("rows {}–{}", skip + 1, skip + shown)
        }
    };
    let mut line = format!("total {} · {page}", total(answer));
    if let Some(elapsed) = elapsed {
        line.push_str(&format!(" · {:.2} ms", elapsed.as_secs_f64() * 1e3));
    }
    line
}

/// A table of the users (or, for ArcGIS group operations, the groups) with these ids.
pub fn table_of_ids(snapshot: &Snapshot, ids: &[String]) -> String {
    if ids.is_empty() {
        return "(no rows)\n".to_owned();
    }
    let model: &Model = &snapshot.model;
    let user = |id: &str| {
        snapshot
            .index
            .row_of_id(id)
            .and_then(|row| model.users.get(row as usize))
    };
    let users = ids.iter().any(|id| user(id).is_some());
    let (header, rows): (Vec<&str>, Vec<Vec<String>>) = if users {
        let rows = ids
            .iter()
            .map(|id| match user(id) {
                Some(user) => vec![
                    user.id.clone(),
                    user.login.clone(),
                    user.name.clone().unwrap_or_default(),
                    user.email.clone().unwrap_or_default(),
                    user.state.as_str().to_owned(),
                    date(Some(user.created_at)),
                    date(user.last_access_at),
                ],
                None => vec![id.clone()],
            })
            .collect();
        (
            vec![
                "id",
                "login",
                "name",
                "email",
                "state",
                "created",
                "last access",
            ],
            rows,
        )
    } else {
        let rows = ids
            .iter()
            .map(|id| match model.groups.iter().find(|g| &g.id == id) {
                Some(group) => vec![group.id.clone(), group.name.clone()],
                None => vec![id.clone()],
            })
            .collect();
        (vec!["id", "name"], rows)
    };
    table(&header, &rows)
}

fn date(at: Option<Millis>) -> String {
    at.and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

/// Lays out rows under a header in aligned columns, cutting cells wider than [`MAX_CELL`].
/// Widths are display widths (`unicode-width`): a CJK character or an emoji takes two columns, a
/// combining mark none, so columns stay aligned on a terminal whatever the names hold.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cut: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| truncate(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in &cut {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.width());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            let pad = widths
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(cell.width());
            out.push_str(&" ".repeat(pad));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(&mut header.iter().copied());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(&mut rule.iter().map(String::as_str)));
    for row in &cut {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

fn truncate(cell: &str) -> String {
    let cell = cell.replace(['\n', '\r', '\t'], " ");
    if cell.width() <= MAX_CELL {
        return cell;
    }
    // Keep whole characters while they fit in MAX_CELL − 1 columns, then the ellipsis.
    let mut cut = String::new();
    let mut used = 0;
    for ch in cell.chars() {
        let width = ch.width().unwrap_or(0);
        if used + width > MAX_CELL - 1 {
            break;
        }
        used += width;
        cut.push(ch);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_cut_long_cells() {
        let long = "x".repeat(40);
        let text = table(
            &["id", "name"],
            &[vec!["u-1".into(), "Ann".into()], vec!["u-22".into(), long]],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id    name");
        assert_eq!(lines[1], "----  --------------------------------");
        assert_eq!(lines[2], "u-1   Ann");
        assert!(lines[3].ends_with('…'));
        assert_eq!(lines[3].chars().count(), 6 + MAX_CELL);
    }

    #[test]
    fn wide_characters_count_as_two_columns() {
        let text = table(
            &["login", "name"],
            &[
                vec!["li".into(), "李小龍".into()],
                vec!["ann".into(), "Ann".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "login  name");
        assert_eq!(lines[1], "-----  ------");
        assert_eq!(lines[2], "li     李小龍");
        let long = "漢".repeat(40);
        let cut = truncate(&long);
        // 15 wide characters (30 columns) and the ellipsis: a wide character is never split.
        assert_eq!(cut.width(), 31, "{cut}");
        assert!(cut.ends_with('…'));
    }
}
