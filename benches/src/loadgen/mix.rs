//! The requests of a load run, built once before the clock starts: the six representative read
//! routes and the three GitLab writes, each as the exact bytes sent on the wire, so the client
//! spends its time sending and reading, not formatting.

/// The admin token every request carries (the server is configured with it).
pub const TOKEN: &str = "loadgen-admin";

/// Distinct prepared variants per route (different users and search words); request `i` uses
/// variant `i / routes % VARIANTS`, so a run cycles through them.
const VARIANTS: u64 = 512;

/// One request ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The route's label in the report.
    pub label: &'static str,
    /// Method and target, for the in-process profile (`Store::serve`).
    pub method: &'static str,
    /// Path and query.
    pub target: String,
    /// The whole HTTP/1.1 request: request line, headers, body.
    pub wire: Vec<u8>,
}

impl Prepared {
    fn new(label: &'static str, method: &'static str, target: String, body: &str) -> Prepared {
        let wire = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nPRIVATE-TOKEN: {TOKEN}\r\n\
             Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        Prepared {
            label,
            method,
            target,
            wire,
        }
    }
}

/// The read routes: index `kind` (0..[`READ_ROUTES`]) for user number `n`.
fn read(kind: u64, n: u64) -> Prepared {
    let get = |label, target| Prepared::new(label, "GET", target, "");
    match kind {
        0 => get("gitlab list active", "/api/v4/users?active=true&per_page=20".to_string()),
        1 => get(
            "gitlab list search",
            format!("/api/v4/users?search=user{}&per_page=20", n % 1000),
        ),
        2 => get("gitlab get by id", format!("/api/v4/users/{n}")),
        3 => get(
            "tfe list q",
            format!("/api/v2/admin/users?q=user{}&page%5Bsize%5D=20", n % 1000),
        ),
        4 => get(
            "hub query",
            "/hub/api/rest/users?query=has%3A%202FA%20and%20not%20is%3A%20banned&%24top=20"
                .to_string(),
        ),
        _ => get(
            "arcgis search",
            format!(
                "/portaladmin/security/users/searchEnterpriseUsers?filter=user{}&maxCount=20&f=json&token={TOKEN}",
                n % 100
            ),
        ),
    }
}

/// Read routes in the mix.
pub const READ_ROUTES: u64 = 6;

/// The write routes: GitLab `PUT /users/:id` setting `bio`, block, unblock.
fn write(kind: u64, n: u64, variant: u64) -> Prepared {
    match kind {
        0 => Prepared::new(
            "gitlab PUT user (write)",
            "PUT",
            format!("/api/v4/users/{n}"),
            &format!("{{\"bio\":\"load {variant}\"}}"),
        ),
        1 => Prepared::new(
            "gitlab block (write)",
            "POST",
            format!("/api/v4/users/{n}/block"),
            "",
        ),
        _ => Prepared::new(
            "gitlab unblock (write)",
            "POST",
            format!("/api/v4/users/{n}/unblock"),
            "",
        ),
    }
}

/// Every request of a run, prepared: reads and writes over a directory of `users` users.
#[derive(Debug, Clone)]
pub struct Mix {
    reads: Vec<Prepared>,
    writes: Vec<Prepared>,
}

impl Mix {
    /// Prepares 512 variants of each route for users `1..=users`.
    pub fn new(users: usize) -> Mix {
        let users = users.max(1) as u64;
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        for variant in 0..VARIANTS {
            for kind in 0..READ_ROUTES {
                let i = variant * READ_ROUTES + kind;
                reads.push(read(kind, i.wrapping_mul(2_654_435_761) % users + 1));
            }
            for kind in 0..3 {
                let i = variant * 3 + kind;
                writes.push(write(kind, i.wrapping_mul(40_503) % users + 1, variant));
            }
        }
        Mix { reads, writes }
    }

    /// Request number `i` of a phase with `write_percent` % writes (every route in turn; the
    /// writes are the first `write_percent` of every hundred requests).
    pub fn request(&self, i: u64, write_percent: u64) -> &Prepared {
        let list = if i % 100 < write_percent {
            &self.writes
        } else {
            &self.reads
        };
        &list[(i % list.len() as u64) as usize]
    }

    /// The prepared reads, in route order (the in-process profile walks them).
    pub fn reads(&self) -> &[Prepared] {
        &self.reads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_is_complete_http_with_its_body_length() {
        let mix = Mix::new(1000);
        for i in 0..300 {
            let request = mix.request(i, 5);
            let text = std::str::from_utf8(&request.wire).expect("ASCII request");
            let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
            assert!(head.starts_with(&format!("{} {} HTTP/1.1", request.method, request.target)));
            assert!(head.contains(&format!("Content-Length: {}", body.len())));
        }
    }

    #[test]
    fn writes_are_the_given_share_and_reads_cycle_through_every_route() {
        let mix = Mix::new(1000);
        let writes = (0..1000)
            .filter(|&i| mix.request(i, 5).method != "GET")
            .count();
        assert_eq!(writes, 50);
        let labels: std::collections::BTreeSet<_> =
            (0..READ_ROUTES).map(|i| mix.request(i, 0).label).collect();
        assert_eq!(labels.len(), READ_ROUTES as usize);
    }
}
