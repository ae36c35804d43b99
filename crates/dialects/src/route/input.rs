//! What a request says: its path segments, and its parameters from the query string and the
//! body, the way the real APIs read them (python-gitlab sends JSON, curl sends forms, TFE sends
//! JSON:API).
//!
//! - Path segments are percent-decoded one by one (`%2F` inside a segment stays inside it, as
//!   GitLab's `:id` allows); a path that does not start with `/`, has more than
//!   [`MAX_SEGMENTS`] segments, or decodes to something that is not UTF-8 is malformed.
//! - Parameters: the query string first, then the body, so that a body value wins over a query
//!   value of the same name ("last one wins", as in the dialects). A JSON body must be an
//!   object; its scalars become text (`true`, `12`), `null` becomes empty, and nested values
//!   (TFE's `data.attributes`) are flattened one level into their own keys. A body that is not
//!   valid for its content type is a 400.

use serde_json::Value;

use super::Request;
use crate::params::parse_query_string;

/// The most path segments a request may have (no route has more than eight).
pub const MAX_SEGMENTS: usize = 16;

/// Decodes a raw path into segments; `None` if malformed. A trailing `/` is ignored.
pub fn segments(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('/')?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let raw: Vec<&str> = rest.split('/').collect();
    if raw.len() > MAX_SEGMENTS {
        return None;
    }
    raw.into_iter().map(decode_segment).collect()
}

/// Percent-decodes one path segment (`+` stays a plus); invalid escapes or non-UTF-8 → `None`.
fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let high = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16))?;
            let low = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16))?;
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The body's media type, lower-cased, without parameters.
fn media_type(request: &Request) -> String {
    request
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A request's parameters.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// Query-string params, then body params, in order (repeats kept).
    pub params: Vec<(String, String)>,
    /// The query-string params alone (what the read dialects take).
    pub query: Vec<(String, String)>,
}

impl Input {
    /// Reads the query string and the body; an unreadable body is an error message.
    pub fn read(request: &Request) -> Result<Input, String> {
        let query = parse_query_string(request.query);
        let mut params = query.clone();
        params.extend(body_params(request)?);
        Ok(Input { params, query })
    }

    /// The last value of `key`, body first.
    pub fn last(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The params for a read dialect: query string and form/JSON body together (ArcGIS takes
    /// its operations as GET or form POST alike).
    pub fn all(&self) -> Vec<(String, String)> {
        self.params.clone()
    }
}

/// The body's parameters, by content type. An empty body has none.
fn body_params(request: &Request) -> Result<Vec<(String, String)>, String> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let media = media_type(request);
    if media == "application/json" || media.ends_with("+json") {
        let value: Value = serde_json::from_slice(request.body)
            .map_err(|e| format!("the body is not valid JSON: {e}"))?;
        let Value::Object(map) = value else {
            return Err("the JSON body must be an object".into());
        };
        let mut out = Vec::new();
        for (key, value) in map {
            flatten(&key, &value, &mut out, 0);
        }
        Ok(out)
    } else if media == "application/x-www-form-urlencoded" || media.is_empty() {
        let text = std::str::from_utf8(request.body)
            .map_err(|_| "the form body is not UTF-8".to_string())?;
        Ok(parse_query_string(text))
    } else {
        Err(format!("unsupported content type '{media}'"))
    }
}

/// JSON scalars as text; objects flattened into their keys (two levels: JSON:API's
/// `data.attributes`); arrays of scalars as repeated keys.
fn flatten(key: &str, value: &Value, out: &mut Vec<(String, String)>, depth: usize) {
    match value {
        Value::Null => out.push((key.to_string(), String::new())),
        Value::Bool(b) => out.push((key.to_string(), b.to_string())),
        Value::Number(n) => out.push((key.to_string(), n.to_string())),
        Value::String(s) => out.push((key.to_string(), s.clone())),
        Value::Array(items) => {
            for item in items.iter().filter(|v| !v.is_object() && !v.is_array()) {
                flatten(key, item, out, depth + 1);
            }
        }
        Value::Object(map) if depth < 2 => {
            for (k, v) in map {
                flatten(k, v, out, depth + 1);
            }
        }
        Value::Object(_) => {}
    }
}

/// One parameter from the query string or a form body, without reading the whole input (for
/// credentials, which are needed before anything else).
pub fn param(request: &Request, name: &str) -> Option<String> {
    let mut found = parse_query_string(request.query)
        .into_iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v);
    if media_type(request) == "application/x-www-form-urlencoded" {
        if let Ok(text) = std::str::from_utf8(request.body) {
            if let Some((_, v)) = parse_query_string(text)
                .into_iter()
                .rev()
                .find(|(k, _)| k == name)
            {
                found = Some(v);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(query: &'a str, headers: &'a [(String, String)], body: &'a [u8]) -> Request<'a> {
        Request {
            method: "POST",
            path: "/",
            query,
            headers,
            body,
        }
    }

    #[test]
    fn segments_are_decoded_one_by_one() {
        assert_eq!(
            segments("/api/v4/users/a%2Fb/"),
            Some(vec![
                "api".to_string(),
                "v4".into(),
                "users".into(),
                "a/b".into()
            ])
        );
        assert_eq!(segments("no-slash"), None);
        assert_eq!(segments("/bad%zz"), None);
        assert_eq!(segments("/bad%ff"), None);
        assert_eq!(segments(&"/a".repeat(MAX_SEGMENTS + 1)), None);
        assert_eq!(segments("/"), Some(vec![]));
    }

    #[test]
    fn body_wins_over_query_and_json_is_flattened() {
        let json = vec![("Content-Type".to_string(), "application/json".to_string())];
        let body =
            br#"{"name": "x", "admin": true, "n": 3, "data": {"attributes": {"reason": "r"}}}"#;
        let input = Input::read(&request("name=q", &json, body)).unwrap();
        assert_eq!(input.last("name"), Some("x"));
        assert_eq!(input.last("admin"), Some("true"));
        assert_eq!(input.last("n"), Some("3"));
        assert_eq!(input.last("reason"), Some("r"));
        assert!(Input::read(&request("", &json, b"[1]")).is_err());
        assert!(Input::read(&request("", &json, b"{")).is_err());
        let form = vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        let input = Input::read(&request("a=1", &form, b"a=2&token=t")).unwrap();
        assert_eq!(input.last("a"), Some("2"));
        assert_eq!(
            param(&request("", &form, b"token=t"), "token"),
            Some("t".into())
        );
    }
}
