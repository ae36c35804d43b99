//! Conversions to and from the `http` crate's types (feature `http`), for servers built on
//! hyper, axum, actix or anything else that speaks `http::Request` / `http::Response`.

use crate::http::{HttpRequest, HttpResponse};

impl<B: AsRef<[u8]>> From<&http::Request<B>> for HttpRequest {
    /// Copies method, path, query, headers (values that are not text are skipped) and body.
    ///
    /// ```
    /// let request = http::Request::get("/api/v4/users?active=true").body(Vec::new()).unwrap();
    /// let ours = userql::HttpRequest::from(&request);
    /// assert_eq!(ours.query(), "active=true");
    /// ```
    fn from(request: &http::Request<B>) -> Self {
        let target = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let mut ours = HttpRequest::new(request.method().as_str(), target);
        for (name, value) in request.headers() {
            if let Ok(value) = value.to_str() {
                ours = ours.header(name.as_str(), value);
            }
        }
        ours.body(request.body().as_ref().to_vec())
    }
}

impl From<HttpResponse> for http::Response<String> {
    /// Status, headers (in order; a header that is not valid HTTP is dropped) and body.
    ///
    /// ```
    /// # let store = userql::Store::new(userql::Directory::builder().build()?);
    /// let response = store.handle(&userql::HttpRequest::get("/nowhere"), &userql::Viewer::admin());
    /// let response: http::Response<String> = response.into();
    /// assert_eq!(response.status(), http::StatusCode::NOT_FOUND);
    /// # Ok::<(), userql::Error>(())
    /// ```
    fn from(response: HttpResponse) -> Self {
        let mut out = http::Response::new(String::new());
        *out.status_mut() = http::StatusCode::from_u16(response.status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in response.headers() {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                out.headers_mut().append(name, value);
            }
        }
        *out.body_mut() = response.into_body();
        out
    }
}
