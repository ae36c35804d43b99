//! Embed a user-directory query engine in your server.
//!
//! userql answers user searches over an in-memory directory of users, groups, projects,
//! organizations, roles and grants — in JetBrains Hub's query language
//! (`in: {Engineering} and has: 2FA`), and as GitLab, Terraform Enterprise and ArcGIS user-search
//! APIs answer them, byte for byte. Queries are planned against indexes; the directory is updated
//! live in atomic batches while readers keep going.
//!
//! # Guide
//! 1. **Get a directory**: [`Directory::open`] a `.json`/`.ndjson` file, parse bytes
//!    ([`Directory::from_json`]), or build one in code from your own database
//!    ([`Directory::builder`], [`NewUser`], [`Grant`]: typed values and `chrono` times).
//! 2. **Make it live**: [`Store::new`] indexes it in memory; [`Store::open_state`] keeps it in a
//!    state directory instead (seeded from a directory file, every batch logged and fsynced, the
//!    state recovered when reopened). Share the store (it is `Send + Sync`) between request
//!    handlers and whatever applies changes.
//! 3. **Answer requests** from a [`Snapshot`] (one per request, so an answer reads one version):
//!    - [`Snapshot::search`] — a Hub search from a typed [`HubQuery`], giving ids, total and Hub's
//!      JSON body;
//!    - [`Snapshot::handle`] — an [`HttpRequest`] on a GitLab, TFE, ArcGIS or Hub route, giving the
//!      API's exact [`HttpResponse`] (status, headers, body);
//!    - [`Snapshot::assist`] — completions and highlighting for a search box;
//!    - [`Snapshot::explain`] — how a search was planned and what each step produced.
//! 4. **Keep it in sync**: [`Store::apply`] a batch of [`Change`]s from your change feed — built
//!    in code, parsed with [`Change::from_json`] or read from a changes file with
//!    [`ChangeFile`]; the next snapshot sees all of it, current readers none of it.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use userql::{Change, Directory, HttpRequest, HubQuery, NewUser, Store, Viewer};
//!
//! let store = Store::new(Directory::open("tests/data/tiny.json")?);
//!
//! // Hub's query language, as a typed request.
//! let page = store.search(&HubQuery::new("has: 2FA and not is: banned").top(10))?;
//! println!("{} users, first page {:?}", page.total, page.ids);
//!
//! // A GitLab request, answered as GitLab would.
//! let response = store.handle(&HttpRequest::get("/api/v4/users?search=luke"), &Viewer::admin());
//! assert_eq!(response.status(), 200);
//!
//! // A change from the application's own database.
//! let joined = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
//! store.apply(&[Change::put_user(NewUser::new("u-rey", "rey", joined).name("Rey"))])?;
//! assert_eq!(store.search(&HubQuery::new("login: rey"))?.total, 1);
//! # Ok::<(), userql::Error>(())
//! ```
//!
//! The query language, the dialect mappings and the file formats are described in the
//! repository's `docs/` folder (`language.md`, `dialects.md`, `formats.md`).
//!
//! # Features
//! - `preserve-order` (default): JSON bodies keep each API's field order. It switches on
//!   `serde_json/preserve_order` for the whole build, as Cargo unifies features; turn default
//!   features off if your own code relies on sorted `serde_json` maps.
//! - `demo`: [`Directory::demo`] and [`Directory::generate`], synthetic directories for demos
//!   and load tests.
//! - `http`: `From` conversions between [`HttpRequest`] / [`HttpResponse`] and the `http`
//!   crate's `Request` / `Response`.
#![deny(missing_docs)]

mod change;
mod directory;
mod error;
mod explain;
mod frozen;
mod http;
#[cfg(feature = "http")]
mod http_types;
mod hub;
mod records;
mod serve;
mod store;
mod vocabulary;

pub use change::{Change, ChangeBatch, ChangeFile, Kind};
pub use directory::{Directory, DirectoryBuilder};
pub use error::{Error, Problem, Problems, QueryError, StateError};
pub use explain::Explain;
pub use http::{HttpRequest, HttpResponse};
pub use hub::{HubPage, HubQuery};
pub use records::{Grant, NewUser};
pub use serve::{api_of, Refusal, Served, Tokens};
pub use store::{Options, Snapshot, Stats, Store};
pub use userql_engine::assist::{Assist, Style, StyleRange, Suggestion};
pub use vocabulary::{AccessLevel, State, Viewer};

/// Compile-time proof that what servers share across threads can be shared.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Store>();
    shared::<Snapshot>();
    shared::<Directory>();
    shared::<HubQuery>();
    shared::<HubPage>();
    shared::<HttpRequest>();
    shared::<HttpResponse>();
    shared::<Change>();
    shared::<Error>();
    shared::<Assist>();
    shared::<Explain>();
    shared::<Tokens>();
    shared::<Served>();
};
