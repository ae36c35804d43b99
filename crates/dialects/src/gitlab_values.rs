//! GitLab (Grape) parameter validation: booleans, integers, dates, fixed value sets, and the
//! error bodies (`{"error": …}` for validation, `{"message": …}` for GitLab's own errors).
//!
//! Every failure is collected, so several bad params give one 400 with the messages joined by
//! `, ` (Grape's behaviour).

use serde_json::json;

use crate::gitlab_dates;
use crate::http::{HttpResponse, JSON};
use crate::params::Params;
use crate::DialectError;

/// Grape's `Boolean` coercion (dry-types `Params::Bool`): any case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
        "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// A GitLab error of its own making: `{"message": "<text>"}`.
pub(crate) fn message_error(status: u16, text: &str, human: impl Into<String>) -> DialectError {
    DialectError::new(
        HttpResponse::json(status, JSON, &json!({ "message": text })),
        human,
    )
}

/// Collects validation failures while reading params.
pub(crate) struct Validation<'a> {
    params: Params<'a>,
    messages: Vec<String>,
}

impl<'a> Validation<'a> {
    pub(crate) fn new(params: Params<'a>) -> Self {
        Validation {
            params,
            messages: Vec::new(),
        }
    }

    pub(crate) fn params(&self) -> Params<'a> {
        self.params
    }

    /// Records a failure message (`<param> is invalid`, …).
    pub(crate) fn fail(&mut self, message: String) {
        self.messages.push(message);
    }

    /// A boolean param: `true` only when given and true ("only when true").
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        match self.params.last(name) {
            None => false,
            Some(text) => match parse_bool(text) {
                Some(value) => value,
                None => {
                    self.fail(format!("{name} is invalid"));
                    false
                }
            },
        }
    }

    /// An integer param (`None` when absent or invalid; invalid is recorded).
    pub(crate) fn integer(&mut self, name: &str) -> Option<i64> {
        let text = self.params.last(name)?;
        match text.trim().parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.fail(format!("{name} is invalid"));
                None
            }
        }
    }

    /// A date param in epoch ms (`None` when absent or invalid; invalid is recorded).
    pub(crate) fn date(&mut self, name: &str) -> Option<i64> {
        let text = self.params.last(name)?;
        let parsed = gitlab_dates::parse(text);
        if parsed.is_none() {
            self.fail(format!("{name} is invalid"));
        }
        parsed
    }

    /// A param limited to `allowed` values (`None` when absent or invalid).
    pub(crate) fn choice(&mut self, name: &str, allowed: &[&'static str]) -> Option<&'static str> {
        let text = self.params.last(name)?;
        match allowed.iter().find(|a| **a == text) {
            Some(value) => Some(value),
            None => {
                self.fail(format!("{name} does not have a valid value"));
                None
            }
        }
    }

    /// One 400 with every message joined by `, `, or `Ok`.
    pub(crate) fn finish(self) -> Result<(), DialectError> {
        if self.messages.is_empty() {
            return Ok(());
        }
        let joined = self.messages.join(", ");
        Err(DialectError::new(
            HttpResponse::json(400, JSON, &json!({ "error": joined })),
            format!("invalid parameter: {joined}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_dry_types() {
        for t in ["1", "on", "T", "TRUE", "True", "y", "YES"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "OFF", "f", "False", "N", "no"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "maybe", "2", "tru"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }
}
