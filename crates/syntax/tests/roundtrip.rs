//! The printer's contract: `parse(print(ast)) == ast` for every tree the generator makes, and the
//! canonical text is a fixed point of print ∘ parse.

use proptest::prelude::*;
use userql_syntax::arbitrary::arb_query;
use userql_syntax::parse_query;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn printing_then_parsing_gives_the_same_tree(query in arb_query()) {
        let printed = query.to_string();
        let parsed = parse_query(&printed);
        prop_assert!(parsed.is_ok(), "{printed:?} failed: {:?}", parsed.err());
        let parsed = parsed.unwrap();
        prop_assert_eq!(&parsed, &query, "printed as {:?}", printed);
        prop_assert_eq!(parsed.to_string(), printed);
    }
}
