//! Loads `tiny.json` and answers one Hub query, the way a server embedding userql would.
//!
//! ```sh
//! cargo run -p userql-engine --example tiny -- 'in: {Imperial Army} and has: 2FA'
//! ```

use std::sync::Arc;

use userql_directory::index::Indexes;
use userql_directory::Snapshot;
use userql_engine::{Engine, HubParams, Viewer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let query = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "access(project: DS, with: Developer)".to_string());
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../userql/tests/data/tiny.json");
    let model = userql_directory::load_path(&path)?;
    let index = Indexes::build(&model);
    let snapshot = Snapshot::indexed(0, Arc::new(model), Arc::new(index));

    let engine = Engine::default();
    let params = HubParams {
        query: Some(&query),
        fields: Some("id,login,name,total"),
        ..HubParams::default()
    };
    // The fixture's worked examples assume this clock.
    let now = chrono::DateTime::parse_from_rfc3339("2026-06-15T12:00:00Z")?.timestamp_millis();
    let request = match engine.hub_request(&params, Viewer::Admin, now) {
        Ok(request) => request,
        Err(error) => {
            eprint!("{}", error.render(&query));
            std::process::exit(2);
        }
    };
    match engine.respond(&snapshot, &request) {
        Ok(body) => println!("{}", serde_json::to_string_pretty(&body)?),
        Err(error) => {
            eprint!("{}", error.render(&query));
            println!("{}", userql_engine::error_body(&error));
            std::process::exit(2);
        }
    }
    Ok(())
}
