//! The shipped schema (`schema.sql`, `indexes.sql`) and the name of the PostgreSQL schema it
//! lives in.

use crate::error::Error;

/// The schema version this crate writes and reads (`userql_schema_version.version`).
pub const SCHEMA_VERSION: i32 = 3;

/// Tables and views (created before the data is copied in).
pub const DDL: &str = include_str!("schema.sql");

/// Secondary indexes (built after the data is copied in).
pub const INDEXES: &str = include_str!("indexes.sql");

/// The default PostgreSQL schema name.
pub const DEFAULT_SCHEMA: &str = "userql";

/// A validated PostgreSQL schema name: lowercase ASCII letters, digits and `_`, not starting with
/// a digit, at most 63 bytes — so it can be written into DDL as a quoted identifier safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema(String);

impl Schema {
    /// Checks a name.
    pub fn new(name: &str) -> Result<Schema, Error> {
        let ok = !name.is_empty()
            && name.len() <= 63
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Schema(name.to_owned()))
        } else {
            Err(Error::SchemaName(name.to_owned()))
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The name as a quoted identifier.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl Default for Schema {
    fn default() -> Self {
        Schema(DEFAULT_SCHEMA.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(Schema::new("userql_test1").is_ok());
        for bad in ["", "1abc", "a\"b", "Users", "a b", &"x".repeat(64)] {
            assert!(Schema::new(bad).is_err(), "{bad:?}");
        }
    }
}
