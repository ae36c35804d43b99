//! Markdown rendering of the measurements (the `compare` output and `RESULTS.md`).

use std::fmt::Write;
use std::time::Duration;

use crate::extras::{DialectResult, ParseThroughput, UpdateThroughput};
use crate::harness::{Comparison, PeerTiming};
use crate::measure::{format_mib, format_ms, Samples};

fn cell(samples: &Samples) -> String {
    format!(
        "{} / {}",
        format_ms(samples.median()),
        format_ms(samples.p99())
    )
}

/// `1 : N` where N = peer median ÷ userql median (N > 1: userql is N times faster).
fn ratio(userql: &Samples, peer: &Samples) -> String {
    let u = userql.median().as_secs_f64();
    let p = peer.median().as_secs_f64();
    if u <= 0.0 {
        return "—".to_owned();
    }
    let r = p / u;
    if r >= 10.0 {
        format!("1 : {r:.0}")
    } else {
        format!("1 : {r:.2}")
    }
}

fn timing<'a>(timings: &'a [PeerTiming], peer: &str) -> Option<&'a PeerTiming> {
    timings.iter().find(|t| t.peer == peer)
}

/// The query table: one row per query (first cell its letter), median / p99 in ms per peer for
/// the count and the first page, then the ratios userql : peer.
pub fn query_table(comparison: &Comparison) -> String {
    let peers = &comparison.peers;
    let others: Vec<&str> = peers.iter().copied().filter(|p| *p != "userql").collect();
    let mut header = vec!["q".to_owned(), "rows".to_owned()];
    for kind in ["count", "page"] {
        for peer in peers {
            header.push(format!("{peer} {kind}"));
        }
    }
    for kind in ["count", "page"] {
        for peer in &others {
            header.push(format!("userql : {peer} {kind}"));
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for result in &comparison.results {
        let mut row = vec![result.case.letter.to_string(), result.rows.to_string()];
        let pick = |peer: &str, page: bool| {
            timing(&result.timings, peer).map(|t| if page { &t.page } else { &t.count })
        };
        for page in [false, true] {
            for peer in peers {
                row.push(pick(peer, page).map_or_else(|| "—".to_owned(), cell));
            }
        }
        for page in [false, true] {
            for peer in &others {
                row.push(match (pick("userql", page), pick(peer, page)) {
                    (Some(u), Some(p)) => ratio(u, p),
                    _ => "—".to_owned(),
                });
            }
        }
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// The first page with its total on both sides: userql's page (which computes the total) next
/// to SQLite's page statement preceded by its `COUNT(*)`, so both do the same work.
pub fn page_with_count_table(comparison: &Comparison) -> String {
    let mut out = String::from(
        "| q | userql page (with total) | sqlite page + COUNT(*) | userql : sqlite |\n|---|---|---|---|\n",
    );
    for result in &comparison.results {
        let userql = timing(&result.timings, "userql").map(|t| &t.page);
        let sqlite = timing(&result.timings, "sqlite").and_then(|t| t.page_with_count.as_ref());
        if let (Some(u), Some(p)) = (userql, sqlite) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                result.case.letter,
                cell(u),
                cell(p),
                ratio(u, p)
            );
        }
    }
    out
}

/// The queries as run: letter, meaning, Hub text.
pub fn query_list(comparison: &Comparison) -> String {
    let mut out = String::from("| q | what | Hub query |\n|---|---|---|\n");
    for result in &comparison.results {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` |",
            result.case.letter, result.case.what, result.case.hub
        );
    }
    out
}

/// Generation and per-peer build time and resident-memory growth.
pub fn build_table(comparison: &Comparison) -> String {
    let mut out = String::from("| step | time | resident memory growth |\n|---|---|---|\n");
    let _ = writeln!(
        out,
        "| generate {} users (seed {}) | {:.2} s | — |",
        comparison.options.users,
        comparison.options.seed,
        comparison.generate.as_secs_f64()
    );
    for build in &comparison.builds {
        let _ = writeln!(
            out,
            "| build {} | {:.2} s | {} |",
            build.peer,
            build.time.as_secs_f64(),
            build.resident.map_or_else(|| "n/a".to_owned(), format_mib)
        );
    }
    out
}

/// Parse throughput in one line.
pub fn parse_line(parse: &ParseThroughput) -> String {
    format!(
        "{:.0} queries/s ({:.1} MB/s) over a corpus of {} queries ({} bytes; grammar/corpus/valid.txt \
         plus the 12 benchmark queries), {} parses in {:.2} s",
        parse.per_second(),
        parse.megabytes_per_second(),
        parse.queries,
        parse.bytes,
        parse.parsed,
        parse.elapsed.as_secs_f64()
    )
}

/// Update throughput in one line.
pub fn update_line(updates: &UpdateThroughput, reader: char) -> String {
    format!(
        "{:.2} single-user updates/s ({} updates in {:.2} s, each a batch of one through \
         `Store::apply`); meanwhile a reader thread answered query {reader} {} times \
         ({:.1}/s, slowest {} ms)",
        updates.per_second(),
        updates.updates,
        updates.elapsed.as_secs_f64(),
        updates.reader_queries,
        updates.reader_per_second(),
        format_ms(updates.reader_max)
    )
}

/// The dialect variants.
pub fn dialect_table(results: &[DialectResult]) -> String {
    let mut out = String::from(
        "| q | dialect | request | status | total | page rows | median / p99 ms |\n|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | {} | {} | {} |",
            r.letter,
            r.dialect,
            r.query_string,
            r.status,
            r.total.map_or_else(|| "—".to_owned(), |t| t.to_string()),
            r.page_rows,
            cell(&r.samples)
        );
    }
    out
}

/// Query time growth: count medians per peer at each size.
pub fn scaling_table(runs: &[Comparison]) -> String {
    let Some(first) = runs.first() else {
        return String::new();
    };
    let mut header = vec!["q".to_owned()];
    for peer in &first.peers {
        for run in runs {
            header.push(format!("{peer} {}", short_size(run.options.users)));
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for (k, result) in first.results.iter().enumerate() {
        let mut row = vec![result.case.letter.to_string()];
        for peer in &first.peers {
            for run in runs {
                let t = run
                    .results
                    .get(k)
                    .and_then(|r| timing(&r.timings, peer))
                    .map(|t| format_ms(t.count.median()));
                row.push(t.unwrap_or_else(|| "—".to_owned()));
            }
        }
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// `10k`, `1M`, …
pub fn short_size(users: usize) -> String {
    if users >= 1_000_000 && users.rem_euclid(1_000_000) == 0 {
        format!("{}M", users / 1_000_000)
    } else if users >= 1000 && users.rem_euclid(1000) == 0 {
        format!("{}k", users / 1000)
    } else {
        users.to_string()
    }
}

/// The slowest userql query by count median, with its median.
pub fn slowest_userql(comparison: &Comparison) -> Option<(char, Duration, Duration)> {
    comparison
        .results
        .iter()
        .filter_map(|r| {
            timing(&r.timings, "userql").map(|t| (r.case.letter, t.count.median(), t.page.median()))
        })
        .max_by_key(|&(_, count, page)| count.max(page))
}
