//! The HTTP response each dialect produces, and its wire rendering for `--format http`.

use serde_json::Value;

/// `application/json` (GitLab, ArcGIS `f=json|pjson`, Hub).
pub const JSON: &str = "application/json";
/// JSON:API's media type (Terraform Enterprise).
pub const JSON_API: &str = "application/vnd.api+json";
/// ArcGIS `f=html`.
pub const HTML: &str = "text/html; charset=utf-8";

/// A complete response: status, headers in sending order, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers in the order the API sends them.
    pub headers: Vec<(String, String)>,
    /// The body text.
    pub body: String,
}

impl HttpResponse {
    /// A response with one `Content-Type` header.
    pub fn new(status: u16, content_type: &str, body: String) -> Self {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    /// A compact JSON response.
    pub fn json(status: u16, content_type: &str, body: &Value) -> Self {
        HttpResponse::new(status, content_type, body.to_string())
    }

    /// Appends a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of the first header called `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The response as sent: status line, headers, a blank line, the body (CRLF line ends).
    pub fn render(&self) -> String {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out
    }
}

/// The standard reason phrase of the statuses the dialects use.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_status_line_headers_blank_line_body() {
        let response = HttpResponse::new(404, JSON, "{}".into()).with_header("X-Page", "1");
        assert_eq!(
            response.render(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-Page: 1\r\n\r\n{}"
        );
        assert_eq!(response.header("x-page"), Some("1"));
    }
}
