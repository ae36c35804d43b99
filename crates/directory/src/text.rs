//! Text normalisation shared by indexes and queries, so both sides fold values identically.
//!
//! **The case rule** (one rule, used by the indexes, the engine's row checks and every dialect):
//! names, logins, emails, auth module types and module names, auth logins / names / emails, ban
//! statuses and VCS user names compare after [`fold`]; user types compare after
//! [`fold_user_type`]; ids, uids, SSH keys and fingerprints compare exactly. The fixed values the
//! flags test (`core`, the `ldap` prefix, `google`, `openid`, the bot and internal type lists) are
//! compared the same way, so `is: bot`, `has: coreAuth` or `authModule: LDAP` give one answer
//! however a value is cased, whether a row is answered by an index or re-checked on its own.

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

/// Whether `text` folds ([`fold`]) to `wanted`, which must already be folded and contain no
/// whitespace (a fixed module type such as `"core"`). Allocation-free: the flags and the uid
/// dictionaries ask this of every auth detail of every user at build time.
pub fn folds_to(text: &str, wanted: &str) -> bool {
    debug_assert!(!wanted.contains(char::is_whitespace));
    text.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .eq(wanted.chars())
}

/// Whether `text` folded ([`fold`]) starts with `prefix`, which must already be folded and contain
/// no whitespace (`"ldap"` for `has: ldapIdentity` / GitLab's `skip_ldap`). Allocation-free.
pub fn folds_with_prefix(text: &str, prefix: &str) -> bool {
    debug_assert!(!prefix.contains(char::is_whitespace));
    let mut folded = text.trim_start().chars().flat_map(char::to_lowercase);
    prefix.chars().all(|p| folded.next() == Some(p))
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
    fn fixed_values_compare_folded() {
        for (text, wanted) in [("core", "core"), (" CORE ", "core"), ("Core", "core")] {
            assert_eq!(folds_to(text, wanted), fold(text) == wanted, "{text:?}");
            assert!(folds_to(text, wanted), "{text:?}");
        }
        assert!(!folds_to("co re", "core"));
        assert!(!folds_to("cores", "core"));
        assert!(folds_with_prefix(" LDAPs", "ldap"));
        assert!(!folds_with_prefix("ld ap", "ldap"));
        assert!(!folds_with_prefix("lda", "ldap"));
    }

    #[test]
    fn user_type_ignores_separators() {
        assert_eq!(fold_user_type("Service account"), "serviceaccount");
        assert_eq!(fold_user_type("service_account"), "serviceaccount");
        assert_eq!(fold_user_type("SERVICE-ACCOUNT"), "serviceaccount");
    }
}
