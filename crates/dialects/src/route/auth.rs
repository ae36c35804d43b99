//! Tokens to viewers, and where each API carries its token (`serve.md` "Who asks"):
//! - GitLab: `PRIVATE-TOKEN: T`, `Authorization: Bearer T`, or the `private_token` parameter;
//! - Terraform Enterprise and Hub: `Authorization: Bearer T`;
//! - ArcGIS: the `token` parameter (query string or form body).
//!
//! No token is the anonymous viewer; an unknown token is refused with the API's own 401 (ArcGIS:
//! code 498 in an HTTP 200 body). Tokens are compared in constant time per candidate so that a
//! timing probe cannot learn a prefix.

use std::collections::HashMap;

use serde::Deserialize;
use userql_engine::Viewer;

use super::input;
use super::refusal::{refusal, Api};
use super::Request;
use crate::http::HttpResponse;

/// The tokens a server accepts.
#[derive(Clone, Default)]
pub struct Tokens {
    by_token: HashMap<String, Viewer>,
}

/// Shows how many tokens there are, never the tokens themselves.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("count", &self.by_token.len())
            .finish()
    }
}

/// Why a tokens file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// Not the JSON shape `{"tokens": [{"token", "viewer"}]}`.
    #[error("tokens file is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// An empty token.
    #[error("tokens file: entry {0} has an empty token")]
    Empty(usize),
    /// A token listed twice.
    #[error("tokens file: entry {0} repeats an earlier token")]
    Duplicate(usize),
    /// A viewer that is neither `admin` nor a login.
    #[error("tokens file: entry {0} has an empty viewer")]
    EmptyViewer(usize),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tokens: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    token: String,
    viewer: String,
}

impl Tokens {
    /// Parses `{"tokens": [{"token": "…", "viewer": "admin" | "anonymous" | LOGIN}]}`.
    pub fn from_json(text: &str) -> Result<Tokens, TokensError> {
        let file: File = serde_json::from_str(text)?;
        let mut tokens = Tokens::default();
        for (i, entry) in file.tokens.into_iter().enumerate() {
            if entry.token.is_empty() {
                return Err(TokensError::Empty(i));
            }
            if entry.viewer.is_empty() {
                return Err(TokensError::EmptyViewer(i));
            }
            let viewer = match entry.viewer.as_str() {
                "admin" => Viewer::Admin,
                "anonymous" => Viewer::Anonymous,
                login => Viewer::Login(login.to_string()),
            };
            if tokens.by_token.insert(entry.token, viewer).is_some() {
                return Err(TokensError::Duplicate(i));
            }
        }
        Ok(tokens)
    }

    /// One admin token.
    pub fn admin(token: impl Into<String>) -> Tokens {
        let mut tokens = Tokens::default();
        tokens.by_token.insert(token.into(), Viewer::Admin);
        tokens
    }

    /// Adds a token.
    pub fn insert(&mut self, token: impl Into<String>, viewer: Viewer) {
        self.by_token.insert(token.into(), viewer);
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }

    /// The viewer of a token, if it is known.
    pub fn viewer(&self, token: &str) -> Option<Viewer> {
        // Constant time in the token's bytes for every candidate of the same length.
        self.by_token
            .iter()
            .find(|(known, _)| constant_time_eq(known.as_bytes(), token.as_bytes()))
            .map(|(_, v)| v.clone())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token of an `Authorization` header, if it has one.
fn bearer(request: &Request) -> Option<String> {
    let value = request.header("authorization")?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The token a request carries for its API, if any.
fn token(api: Api, request: &Request) -> Option<String> {
    match api {
        Api::Gitlab => request
            .header("private-token")
            .map(str::to_string)
            .or_else(|| bearer(request))
            .or_else(|| input::param(request, "private_token"))
            .or_else(|| input::param(request, "access_token")),
        Api::Tfe | Api::Hub | Api::Other => bearer(request),
        Api::Arcgis => input::param(request, "token"),
    }
}

/// Who asks: anonymous without a token, the token's viewer, or the API's refusal of an unknown
/// token.
pub fn viewer(
    api: Api,
    request: &Request,
    _segments: &[String],
    tokens: &Tokens,
) -> Result<Viewer, HttpResponse> {
    let Some(token) = token(api, request) else {
        return Ok(Viewer::Anonymous);
    };
    if token.is_empty() {
        return Ok(Viewer::Anonymous);
    }
    tokens.viewer(&token).ok_or_else(|| unknown_token(api))
}

/// Each API's answer to a token it does not know.
pub fn unknown_token(api: Api) -> HttpResponse {
    match api {
        Api::Gitlab => refusal(api, 401, "401 Unauthorized"),
        Api::Tfe => super::refusal::tfe(401, "unauthorized", None),
        Api::Arcgis => refusal(api, 498, "Invalid token."),
        Api::Hub | Api::Other => refusal(api, 401, "invalid or expired token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_maps_tokens_to_viewers() {
        let tokens = Tokens::from_json(
            r#"{"tokens": [{"token": "a", "viewer": "admin"}, {"token": "b", "viewer": "vader"}]}"#,
        )
        .unwrap();
        assert_eq!(tokens.viewer("a"), Some(Viewer::Admin));
        assert_eq!(tokens.viewer("b"), Some(Viewer::Login("vader".into())));
        assert_eq!(tokens.viewer("c"), None);
        assert!(matches!(
            Tokens::from_json(r#"{"tokens": [{"token": "", "viewer": "admin"}]}"#),
            Err(TokensError::Empty(0))
        ));
        assert!(matches!(
            Tokens::from_json(
                r#"{"tokens": [{"token": "a", "viewer": "admin"}, {"token": "a", "viewer": "x"}]}"#
            ),
            Err(TokensError::Duplicate(1))
        ));
        assert!(Tokens::from_json(r#"{"tokens": [{"token": "a"}]}"#).is_err());
    }
}
