//! The ArcGIS `filter` glob, on its own so that both the ArcGIS request ([`crate::arcgis`]) and
//! the in-memory row source that answers it from the text dictionaries ([`crate::memory`]) use
//! one definition without depending on each other.

use userql_directory::index::Wildcard;

/// The pattern of a `filter` glob, lowercased: `*` is any run; without `*` it is a prefix.
pub fn glob(filter: &str) -> Wildcard {
    let mut pattern = filter.to_lowercase();
    if !pattern.contains('*') {
        pattern.push('*');
    }
    Wildcard::new(&pattern)
}

/// A case-insensitive glob: `*` is any run; without `*` the pattern is a prefix.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    glob(pattern).matches(&text.to_lowercase())
}
