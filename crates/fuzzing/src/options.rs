//! Targets `fields` and `order_by`: Hub's request option parsers and their printers.

use userql_syntax::{
    format_order_by, parse_fields, parse_order_by, parse_skip, parse_top, Error, ErrorKind,
};

use crate::checks::span_in;

/// A limit error on re-parsing a print is not a round-trip bug: printing `a/b` as `a(b)` can make
/// a text at the length limit one byte longer.
fn is_limit(error: &Error) -> bool {
    matches!(
        error.kind,
        ErrorKind::TooLong { .. } | ErrorKind::TooDeep { .. } | ErrorKind::TooManyItems { .. }
    )
}

fn error_ok(text: &str, error: &Error) {
    span_in(text, &error.span, "error");
    let _ = error.render(text);
}

/// Parses the input as `fields`; a selection must print to text that parses back to itself.
pub fn fields(data: &[u8]) {
    let text = crate::text(data);
    match parse_fields(&text) {
        Ok(selection) => {
            let printed = selection.to_string();
            match parse_fields(&printed) {
                Ok(reparsed) => {
                    assert_eq!(
                        reparsed, selection,
                        "fields {text:?} printed as {printed:?}"
                    );
                    assert_eq!(
                        reparsed.to_string(),
                        printed,
                        "fields print of {text:?} is not a fixed point"
                    );
                }
                Err(e) if is_limit(&e) => {}
                Err(e) => panic!("fields {text:?} printed as {printed:?} does not parse: {e}"),
            }
        }
        Err(error) => error_ok(&text, &error),
    }
}

/// Parses the input as `orderBy` (round trip through [`format_order_by`]), and also as `$skip` and
/// `$top` (round trip through their decimal print), the three small option grammars.
pub fn order_by(data: &[u8]) {
    let text = crate::text(data);
    match parse_order_by(&text) {
        Ok(keys) => {
            let printed = format_order_by(&keys);
            match parse_order_by(&printed) {
                Ok(reparsed) => {
                    assert_eq!(reparsed, keys, "orderBy {text:?} printed as {printed:?}")
                }
                Err(e) if is_limit(&e) => {}
                Err(e) => panic!("orderBy {text:?} printed as {printed:?} does not parse: {e}"),
            }
        }
        Err(error) => error_ok(&text, &error),
    }
    match parse_skip(&text) {
        Ok(skip) => assert_eq!(
            parse_skip(&skip.to_string()).ok(),
            Some(skip),
            "$skip {text:?}"
        ),
        Err(error) => error_ok(&text, &error),
    }
    match parse_top(&text) {
        Ok(top) => assert_eq!(parse_top(&top.to_string()).ok(), Some(top), "$top {text:?}"),
        Err(error) => error_ok(&text, &error),
    }
}
