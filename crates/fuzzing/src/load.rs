//! Target `load_json`: directory loading from untrusted bytes, indexing, and save → load.

use userql_directory::index::Indexes;
use userql_directory::save::{save_json, save_ndjson};
use userql_directory::{load_json as load, load_ndjson};

/// Loads the bytes as a JSON directory and as NDJSON. A model that loads must index without
/// panicking and survive save → load unchanged (the contract of `userql_directory::save`).
pub fn load_json(data: &[u8]) {
    match load(data) {
        Ok(model) => {
            let _ = Indexes::build(&model);
            let saved = save_json(&model);
            match load(&saved) {
                Ok(reloaded) => assert_eq!(reloaded, model, "JSON save → load changed the model"),
                Err(errors) => panic!("a saved directory does not load: {errors}"),
            }
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
    if let Ok(model) = load_ndjson(data) {
        let _ = Indexes::build(&model);
        match load_ndjson(&save_ndjson(&model)) {
            Ok(reloaded) => assert_eq!(reloaded, model, "NDJSON save → load changed the model"),
            Err(errors) => panic!("a saved NDJSON directory does not load: {errors}"),
        }
    }
}
