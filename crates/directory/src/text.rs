//! Text normalisation shared by indexes and queries, so both sides fold values identically.

/// Folds a name-like value for case-insensitive comparison: Unicode lowercase, surrounding
/// whitespace trimmed, every run of whitespace inside collapsed to one space. The rule is the query
/// language's, defined once in the syntax crate, so indexes and queries fold identically.
pub use userql_syntax::catalogue::fold;

/// Normalises a user type for `type:` comparison: case, spaces, `_` and `-` ignored, so
/// `{Service account}`, `service_account` and `SERVICE-ACCOUNT` are the same type.
pub fn fold_user_type(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_lowercases_and_collapses_whitespace() {
        assert_eq!(fold("  Death \t  STAR "), "death star");
        assert_eq!(fold("ÉCOLE"), "école");
    }

    #[test]
    fn user_type_ignores_separators() {
        assert_eq!(fold_user_type("Service account"), "serviceaccount");
        assert_eq!(fold_user_type("service_account"), "serviceaccount");
        assert_eq!(fold_user_type("SERVICE-ACCOUNT"), "serviceaccount");
    }
}
