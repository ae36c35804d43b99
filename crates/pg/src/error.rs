//! Errors of the PostgreSQL backend.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server or the connection failed; the message is the server's.
    #[error("PostgreSQL: {0}")]
    Server(String),
    /// The request is valid but PostgreSQL cannot answer it identically; names the construct.
    #[error("not supported by the PostgreSQL backend: {0}")]
    Unsupported(String),
    /// The request is invalid (parse, bind, viewer): the engine's error.
    #[error(transparent)]
    Request(#[from] userql_engine::Error),
    /// The directory holds something PostgreSQL cannot store identically.
    #[error("cannot load: {0}")]
    Unstorable(String),
    /// `--schema` is not a plain identifier.
    #[error("invalid schema name '{0}': use lowercase letters, digits and '_', not starting with a digit")]
    SchemaName(String),
    /// The schema exists and was not created by userql: never dropped.
    #[error(
        "schema '{0}' exists and holds tables that userql did not create; choose another --schema"
    )]
    ForeignSchema(String),
    /// The schema is missing or of another version.
    #[error("schema '{schema}': {message}")]
    Schema {
        /// The schema name.
        schema: String,
        /// What is wrong with it.
        message: String,
    },
    /// A change batch was refused (nothing was written): every problem, placed by change.
    #[error(transparent)]
    Refused(userql_directory::changes::ChangeErrors),
    /// Writing COPY data failed.
    #[error("COPY: {0}")]
    Io(String),
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => Error::Server(format!("{}: {}", db.severity(), db.message())),
            None => Error::Server(e.to_string()),
        }
    }
}
