//! GitLab `GET /users` (spec/dialects.md "GitLab `GET /users`") on tiny.json.

mod common;

use common::*;
use userql_dialects::Dialect::Gitlab;

#[test]
fn explore() {
    for (q, who) in [("", "leia"), ("", "admin"), ("search=sky", "leia"), ("active=true", "admin")] {
        let a = ask(Gitlab, q, who);
        println!("{q} {who}: {} {:?} {:?}\n{}", ids(&a), a.total, a.hub, a.response.render().chars().take(600).collect::<String>());
    }
}
