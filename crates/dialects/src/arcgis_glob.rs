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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_case_insensitive_and_prefix_without_star() {
        assert!(glob_matches("lu", "Luke"));
        assert!(!glob_matches("uke", "Luke"));
        assert!(glob_matches("*UKE", "luke"));
        assert!(glob_matches("*bldg*", "Org_Bldg_A"));
        assert!(glob_matches("l*e", "luke"));
        assert!(!glob_matches("l*e", "lukes"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("a*a", "aa"));
        assert!(!glob_matches("aa*aa", "aaa"));
    }
}
