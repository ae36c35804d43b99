//! Query strings: decoding a raw `a=1&b=%20x+y` the way a web server does, and encoding one back
//! for the `Link` headers the dialects build.
//!
//! Decoding keeps the pairs in request order and keeps repeats; each dialect then asks for the
//! *last* value of a key ([`Params::last`]), which is what Rack/Rails (GitLab, TFE) and most form
//! decoders do with a repeated scalar parameter.

use std::collections::BTreeMap;

/// Decodes a raw query string into ordered `(key, value)` pairs.
///
/// `+` is a space, `%XX` is a byte, an invalid escape (`%G1`, a trailing `%`) is kept literally,
/// bytes that are not UTF-8 become U+FFFD, empty segments (`a=1&&b=2`) are skipped and a segment
/// without `=` is a key with an empty value. A leading `?` is ignored so a copied URL tail works.
pub fn parse_query_string(raw: &str) -> Vec<(String, String)> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    raw.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.split_once('=') {
            Some((key, value)) => (decode_component(key), decode_component(value)),
            None => (decode_component(segment), String::new()),
        })
        .collect()
}

/// Percent-decodes one component (`+` = space; invalid escapes stay as written).
pub fn decode_component(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: &u8) -> Option<u8> {
    (*byte as char).to_digit(16).map(|d| d as u8)
}

/// Encodes one component like Ruby's `CGI.escape` (Rails `to_query`): letters, digits and `_.-~`
/// stay, a space becomes `+`, every other byte is `%XX` (upper-case hex), brackets included.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Serialises pairs as a query string with keys sorted by name (Rails `to_query`).
pub fn to_query(pairs: &BTreeMap<String, String>) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Read access to decoded parameters with the "last one wins" rule.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> Params<'a> {
    /// Wraps decoded pairs.
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        Params { pairs }
    }

    /// The last value given for `key` (exact, case-sensitive key), if any.
    pub fn last(&self, key: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every key with its last value, sorted by key: the parameter hash a Rails app sees.
    pub fn last_values(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        for (k, v) in self.pairs {
            map.insert(k.clone(), v.clone());
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_percent_and_invalid_escapes() {
        let pairs = parse_query_string("a=1&b=%20x+y&c=%G1%&&d&e=%e2%9c%93");
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), " x y".into()),
                ("c".into(), "%G1%".into()),
                ("d".into(), "".into()),
                ("e".into(), "✓".into()),
            ]
        );
    }

    #[test]
    fn last_value_wins() {
        let pairs = parse_query_string("a=1&a=2");
        assert_eq!(Params::new(&pairs).last("a"), Some("2"));
        assert_eq!(Params::new(&pairs).last("b"), None);
    }

    #[test]
    fn encodes_like_cgi_escape() {
        assert_eq!(encode_component("a b[c]*@é"), "a+b%5Bc%5D%2A%40%C3%A9");
    }
}
