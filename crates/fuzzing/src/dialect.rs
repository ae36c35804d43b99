//! Target `dialect_params`: each dialect's query-string translation and answer.

use std::sync::OnceLock;

use userql_dialects::{answer, parse_query_string, to_hub, Call, Dialect};
use userql_directory::generate::GEN_NOW_MS;
use userql_engine::{Engine, Viewer};

use crate::fixture;

/// The first byte picks the dialect and the viewer; the rest is a raw query string
/// (`a=1&b=%20x`). The answer and its rendering must not panic, and [`to_hub`] must agree with
/// [`answer`]: a request `to_hub` refuses is refused by `answer` with the same status, and the Hub
/// form an answer reports is what `to_hub` returns.
pub fn dialect_params(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let snapshot = fixture::snapshot();
    let dialect = Dialect::ALL[usize::from(selector) % Dialect::ALL.len()];
    let viewer = match usize::from(selector) / Dialect::ALL.len() % 4 {
        0 => Viewer::Admin,
        1 => Viewer::Anonymous,
        2 => snapshot
            .model
            .users
            .records()
            .find(|u| !u.admin)
            .map_or(Viewer::Anonymous, |u| Viewer::Login(u.login.to_string())),
        _ => Viewer::Login("no-such-viewer".to_owned()),
    };
    let raw = crate::text(rest);
    let call = Call {
        dialect,
        params: parse_query_string(&raw),
        viewer,
        now: GEN_NOW_MS,
        engine: engine(),
        snapshot,
    };
    let answered = answer(&call);
    let _ = answered.response.render();
    if let Some(error) = &answered.error {
        let _ = error.render();
    }
    match to_hub(&call) {
        Ok(hub) => {
            if let Some(reported) = &answered.hub {
                assert_eq!(
                    reported, &hub,
                    "{dialect} {raw:?}: answer and to_hub give different Hub forms"
                );
            }
        }
        Err(refusal) => match &answered.error {
            Some(error) => assert_eq!(
                error.status(),
                refusal.status(),
                "{dialect} {raw:?}: answer and to_hub refuse differently"
            ),
            None => panic!("{dialect} {raw:?}: to_hub refuses ({refusal}) but answer answers"),
        },
    }
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::default)
}
