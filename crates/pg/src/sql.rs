//! A small typed SQL builder: statement text only ever grows by `&'static str` fragments written
//! in this crate, and every value a request carries becomes a numbered parameter (`$1`, `$2`, …)
//! with an explicit cast. User input therefore cannot reach the statement text, whatever it holds.

use std::error::Error as StdError;
use std::fmt::{self, Write as _};

use postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// One parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// `text`.
    Text(String),
    /// `bigint`.
    BigInt(i64),
    /// `integer`.
    Int(i32),
    /// `integer[]`.
    IntArray(Vec<i32>),
}

impl Param {
    /// The cast written after the placeholder, so the server never has to infer a type.
    fn cast(&self) -> &'static str {
        match self {
            Param::Text(_) => "::text",
            Param::BigInt(_) => "::int8",
            Param::Int(_) => "::int4",
            Param::IntArray(_) => "::int4[]",
        }
    }
}

impl fmt::Display for Param {
    /// The value as a SQL literal would spell it (for `userql sql`; never pasted into statements).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Text(text) => write!(f, "'{}'", text.replace('\'', "''")),
            Param::BigInt(n) => write!(f, "{n}"),
            Param::Int(n) => write!(f, "{n}"),
            Param::IntArray(items) => {
                let items: Vec<String> = items.iter().map(i32::to_string).collect();
                write!(f, "'{{{}}}'", items.join(","))
            }
        }
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Param::Text(text) => text.to_sql(ty, out),
            Param::BigInt(n) => n.to_sql(ty, out),
            Param::Int(n) => n.to_sql(ty, out),
            Param::IntArray(items) => items.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::TEXT, Type::INT8, Type::INT4, Type::INT4_ARRAY].contains(ty)
    }

    to_sql_checked!();
}

/// A finished statement: its text and its parameters, `$1` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL text (placeholders only, no values).
    pub text: String,
    /// The parameter values.
    pub params: Vec<Param>,
}

impl Statement {
    /// The parameters as the `postgres` crate takes them.
    pub fn args(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p as &(dyn ToSql + Sync))
            .collect()
    }
}

impl fmt::Display for Statement {
    /// The statement, then one `-- $n = value` line per parameter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{};", self.text)?;
        for (i, param) in self.params.iter().enumerate() {
            writeln!(f, "-- ${} = {param}", i + 1)?;
        }
        Ok(())
    }
}

/// A piece of SQL built by a [`Builder`] (so it can be emitted twice, sharing its parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment(String);

/// Builds a [`Statement`].
#[derive(Debug, Default)]
pub struct Builder {
    text: String,
    params: Vec<Param>,
}

impl Builder {
    /// An empty statement.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Appends trusted SQL written in this crate.
    pub fn sql(&mut self, fragment: &'static str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// Adds a parameter and returns its number, without writing a placeholder.
    pub fn bind(&mut self, param: Param) -> usize {
        if let Some(i) = self.params.iter().position(|p| *p == param) {
            return i + 1;
        }
        self.params.push(param);
        self.params.len()
    }

    /// Writes the placeholder of parameter `number` (from [`Builder::bind`]) with its cast.
    pub fn placeholder(&mut self, number: usize) -> &mut Self {
        let cast = self.params.get(number - 1).map_or("", Param::cast);
        let _ = write!(self.text, "${number}{cast}");
        self
    }

    /// Adds a parameter and writes its placeholder.
    pub fn param(&mut self, param: Param) -> &mut Self {
        let number = self.bind(param);
        self.placeholder(number)
    }

    /// Runs `build` on a scratch text that shares this builder's parameters, and returns what it
    /// wrote as a fragment to [`Builder::fragment_sql`] later (possibly more than once).
    pub fn capture(&mut self, build: impl FnOnce(&mut Builder)) -> Fragment {
        let saved = std::mem::take(&mut self.text);
        build(self);
        Fragment(std::mem::replace(&mut self.text, saved))
    }

    /// Appends a fragment captured from this builder.
    pub fn fragment_sql(&mut self, fragment: &Fragment) -> &mut Self {
        self.text.push_str(&fragment.0);
        self
    }

    /// The statement.
    pub fn finish(self) -> Statement {
        Statement {
            text: self.text,
            params: self.params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_numbered_parameters_and_repeats_share_one() {
        let mut b = Builder::new();
        b.sql("SELECT ").param(Param::Text("a'; DROP".into()));
        b.sql(", ").param(Param::BigInt(5));
        b.sql(", ").param(Param::Text("a'; DROP".into()));
        let s = b.finish();
        assert_eq!(s.text, "SELECT $1::text, $2::int8, $1::text");
        assert_eq!(s.params.len(), 2);
        assert_eq!(
            s.to_string(),
            "SELECT $1::text, $2::int8, $1::text;\n-- $1 = 'a''; DROP'\n-- $2 = 5\n"
        );
    }
}
