//! Each API's error shape, so every refusal — a route's own, or the server's (body too large,
//! overloaded, out of time) — looks like the API the client speaks:
//! - GitLab: `{"message": "…"}` (Grape's `error!`), except a bare 404/405 route miss, which is
//!   `{"error": "404 Not Found"}` as Grape's router answers;
//! - Terraform Enterprise: JSON:API `{"errors": [{"status": "…", "title": "…", "detail": "…"}]}`;
//! - ArcGIS: HTTP 200 with `{"status": "error", "messages": [...], "code": N}`;
//! - Hub: `{"error": "…", "error_description": "…"}` (the OAuth-style body Hub uses);
//! - any other path: `{"error": "…"}`.

use serde_json::json;

use crate::http::{reason, HttpResponse, JSON, JSON_API};

/// The API family a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `/api/v4/…`.
    Gitlab,
    /// `/api/v2/admin/users…`.
    Tfe,
    /// `/portaladmin/security/…` and `/:context/admin/orgs/:org/security/…`.
    Arcgis,
    /// `/hub/api/rest/users…`.
    Hub,
    /// Anything else.
    Other,
}

impl Api {
    /// The API of decoded path segments.
    pub fn of_segments(segments: &[String]) -> Api {
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        match s.as_slice() {
            ["api", "v2", "admin", "users", ..] => Api::Tfe,
            ["api", "v4", ..] => Api::Gitlab,
            ["hub", "api", "rest", "users", ..] => Api::Hub,
            ["portaladmin", "security", _, _] => Api::Arcgis,
            [_, "admin", "orgs", _, "security", _, _] => Api::Arcgis,
            _ => Api::Other,
        }
    }

    /// The API of a raw path, by prefix only (for requests refused before decoding).
    pub fn of_path(path: &str) -> Api {
        if path.starts_with("/api/v2/admin/users") {
            Api::Tfe
        } else if path.starts_with("/api/v4/") {
            Api::Gitlab
        } else if path.starts_with("/hub/api/rest/users") {
            Api::Hub
        } else if path.contains("/security/") {
            Api::Arcgis
        } else {
            Api::Other
        }
    }

    /// A short name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Gitlab => "gitlab",
            Api::Tfe => "tfe",
            Api::Arcgis => "arcgis",
            Api::Hub => "hub",
            Api::Other => "other",
        }
    }
}

/// The API's error response with this status and message. For GitLab, `message` is the whole
/// text (`"404 User Not Found"`); for the others it is the detail.
pub fn refusal(api: Api, status: u16, message: &str) -> HttpResponse {
    match api {
        Api::Gitlab if status == 404 && message == "404 Not Found" => {
            HttpResponse::json(status, JSON, &json!({ "error": message }))
        }
        Api::Gitlab if status == 405 => {
            HttpResponse::json(status, JSON, &json!({ "error": "405 Not Allowed" }))
        }
        Api::Gitlab => HttpResponse::json(status, JSON, &json!({ "message": message })),
        Api::Tfe => tfe(status, &reason(status).to_lowercase(), Some(message)),
        Api::Arcgis => HttpResponse::json(
            200,
            JSON,
            &json!({ "status": "error", "messages": [message], "code": status }),
        ),
        Api::Hub => HttpResponse::json(
            status,
            JSON,
            &json!({
                "error": reason(status).to_lowercase().replace(' ', "_"),
                "error_description": message,
            }),
        ),
        Api::Other => HttpResponse::json(status, JSON, &json!({ "error": message })),
    }
}

/// A JSON:API error document with one error.
pub(crate) fn tfe(status: u16, title: &str, detail: Option<&str>) -> HttpResponse {
    let mut error = json!({ "status": status.to_string(), "title": title });
    if let Some(detail) = detail {
        error["detail"] = json!(detail);
    }
    HttpResponse::json(status, JSON_API, &json!({ "errors": [error] }))
}

/// The server's refusal when it is out of time for a request: each API's 5xx shape (503 with
/// `Retry-After`, so clients that retry do).
pub fn timeout(api: Api) -> HttpResponse {
    let message = match api {
        Api::Gitlab => "503 Service Unavailable - request took too long",
        _ => "the request took longer than the server's time budget",
    };
    refusal(api, 503, message).with_header("Retry-After", "1")
}

/// The server's refusal when too many requests are in flight: 503 with `Retry-After`.
pub fn overloaded(api: Api) -> HttpResponse {
    let message = match api {
        Api::Gitlab => "503 Service Unavailable - too many requests in flight",
        _ => "too many requests in flight; retry later",
    };
    refusal(api, 503, message).with_header("Retry-After", "1")
}

/// The server's refusal of a body above its limit: 413.
pub fn too_large(api: Api, limit: usize) -> HttpResponse {
    let message = match api {
        Api::Gitlab => format!("413 Request Entity Too Large - the body exceeds {limit} bytes"),
        _ => format!("the request body exceeds {limit} bytes"),
    };
    refusal(api, 413, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_has_its_own_shape() {
        assert_eq!(
            refusal(Api::Gitlab, 404, "404 User Not Found").body,
            r#"{"message":"404 User Not Found"}"#
        );
        assert_eq!(
            refusal(Api::Gitlab, 404, "404 Not Found").body,
            r#"{"error":"404 Not Found"}"#
        );
        let tfe = refusal(Api::Tfe, 404, "no such user");
        assert_eq!(
            tfe.body,
            r#"{"errors":[{"status":"404","title":"not found","detail":"no such user"}]}"#
        );
        assert_eq!(tfe.header("content-type"), Some(JSON_API));
        let arcgis = refusal(Api::Arcgis, 498, "Invalid token.");
        assert_eq!(arcgis.status, 200);
        assert_eq!(
            arcgis.body,
            r#"{"status":"error","messages":["Invalid token."],"code":498}"#
        );
        assert_eq!(timeout(Api::Hub).header("retry-after"), Some("1"));
        assert_eq!(too_large(Api::Tfe, 10).status, 413);
    }
}
