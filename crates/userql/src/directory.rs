//! A validated directory, from a file, from bytes, or built in code.
//!
//! A [`Directory`] is loaded whole and kept current with [`crate::Store::apply`]; a durable
//! state directory is opened by [`crate::Store::open_state`] instead.

use std::path::Path;

use userql_directory::model::Model;
use userql_directory::raw;

use crate::error::Error;
use crate::records::{Grant, NewUser};

/// A whole, validated directory: users, groups, projects, organizations, roles, grants.
///
/// Loading checks everything (references, unique ids and logins, the group forest, timestamps)
/// and reports every problem at once as [`Error::Invalid`]. Hand it to [`crate::Store::new`] to
/// query it.
///
/// ```
/// let directory = userql::Directory::from_json(include_bytes!("../tests/data/tiny.json"))?;
/// assert!(directory.user_count() > 0);
/// # Ok::<(), userql::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Directory(pub(crate) Model);

impl Directory {
    /// Loads a file: `.json` (one document) or `.ndjson` / `.jsonl` (one object a line).
    ///
    /// ```no_run
    /// let directory = userql::Directory::open("directory.ndjson")?;
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Directory, Error> {
        Ok(Directory(userql_directory::load_path(path.as_ref())?))
    }

    /// Loads a whole-document JSON directory from bytes.
    ///
    /// ```
    /// let directory = userql::Directory::from_json(br#"{"format": "userql-directory/1"}"#)?;
    /// assert_eq!(directory.user_count(), 0);
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<Directory, Error> {
        Ok(Directory(userql_directory::load_json(bytes)?))
    }

    /// Loads an NDJSON directory from bytes: a `{"format": …}` header line, then one object per
    /// line with a `kind`. Problems name the line.
    ///
    /// ```
    /// let text = "{\"format\":\"userql-directory/1\"}\n\
    ///             {\"kind\":\"user\",\"id\":\"u1\",\"login\":\"ada\",\"created_at\":\"2024-01-01T00:00:00Z\"}\n";
    /// let directory = userql::Directory::from_ndjson(text.as_bytes())?;
    /// assert_eq!(directory.user_count(), 1);
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn from_ndjson(bytes: &[u8]) -> Result<Directory, Error> {
        Ok(Directory(userql_directory::load_ndjson(bytes)?))
    }

    /// Starts a directory built in code.
    ///
    /// ```
    /// use chrono::Utc;
    /// use userql::{Directory, Grant, NewUser};
    ///
    /// let directory = Directory::builder()
    ///     .group("g-eng", "Engineering", None)
    ///     .project("p-web", "Website", None)
    ///     .role("developer", "Developer", &[])
    ///     .user(NewUser::new("u1", "ada", Utc::now()).group("g-eng"))
    ///     .grant(Grant::role("developer").to_group("g-eng").in_project("p-web"))
    ///     .build()?;
    /// assert_eq!(directory.user_count(), 1);
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn builder() -> DirectoryBuilder {
        DirectoryBuilder(raw::Directory {
            format: raw::FORMAT.to_owned(),
            ..raw::Directory::default()
        })
    }

    /// The built-in demo directory: 3,000 synthetic users (fixed seed) in which every Hub query
    /// key has matches. Feature `demo`.
    ///
    /// ```
    /// assert_eq!(userql::Directory::demo().user_count(), 3_000);
    /// ```
    #[cfg(feature = "demo")]
    pub fn demo() -> Directory {
        Directory(userql_directory::generate::demo())
    }

    /// The synthetic benchmark directory with `users` users (and groups, projects, roles,
    /// grants in proportion), the same for the same `seed`: for load tests and demos at
    /// scale. Feature `demo`.
    ///
    /// ```
    /// assert_eq!(userql::Directory::generate(200, 42).user_count(), 200);
    /// ```
    #[cfg(feature = "demo")]
    pub fn generate(users: usize, seed: u64) -> Directory {
        Directory(userql_directory::generate::generate(
            &userql_directory::generate::GenOptions { users, seed },
        ))
    }

    /// How many users it holds.
    pub fn user_count(&self) -> usize {
        self.0.users.count()
    }

    /// The directory as a JSON document (the format [`Directory::from_json`] reads).
    ///
    /// ```
    /// let directory = userql::Directory::from_json(include_bytes!("../tests/data/tiny.json"))?;
    /// let again = userql::Directory::from_json(&directory.to_json())?;
    /// assert_eq!(again.user_count(), directory.user_count());
    /// # Ok::<(), userql::Error>(())
    /// ```
    pub fn to_json(&self) -> Vec<u8> {
        userql_directory::save::save_json(&self.0)
    }

    /// The directory as NDJSON (the format [`Directory::from_ndjson`] reads).
    pub fn to_ndjson(&self) -> Vec<u8> {
        userql_directory::save::save_ndjson(&self.0)
    }
}

/// Builds a [`Directory`] in code; [`DirectoryBuilder::build`] validates it like a loaded file.
#[derive(Debug, Clone)]
pub struct DirectoryBuilder(raw::Directory);

impl DirectoryBuilder {
    /// Adds a user.
    pub fn user(mut self, user: NewUser) -> Self {
        self.0.users.push(user.0);
        self
    }

    /// Adds a group; `parent` is the id of its parent group (a forest: no cycles).
    pub fn group(mut self, id: &str, name: &str, parent: Option<&str>) -> Self {
        self.0.groups.push(raw::Group {
            id: id.to_owned(),
            name: name.to_owned(),
            parent: parent.map(str::to_owned),
        });
        self
    }

    /// Adds a project, optionally inside an organization (by id).
    pub fn project(mut self, id: &str, name: &str, organization: Option<&str>) -> Self {
        self.0.projects.push(raw::Project {
            id: id.to_owned(),
            name: name.to_owned(),
            key: None,
            organization: organization.map(str::to_owned),
        });
        self
    }

    /// Adds an organization.
    pub fn organization(mut self, id: &str, name: &str) -> Self {
        self.0.organizations.push(raw::Organization {
            id: id.to_owned(),
            name: name.to_owned(),
        });
        self
    }

    /// Adds a permission.
    pub fn permission(mut self, id: &str, name: &str) -> Self {
        self.0.permissions.push(raw::Permission {
            id: id.to_owned(),
            name: name.to_owned(),
        });
        self
    }

    /// Adds a role with the ids of its permissions.
    pub fn role(mut self, id: &str, name: &str, permissions: &[&str]) -> Self {
        self.0.roles.push(raw::Role {
            id: id.to_owned(),
            name: name.to_owned(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        });
        self
    }

    /// Adds a service (a license users can hold, or an origin service).
    pub fn service(mut self, id: &str, name: &str) -> Self {
        self.0.services.push(raw::Service {
            id: id.to_owned(),
            name: name.to_owned(),
        });
        self
    }

    /// Adds a project team with its member users and groups (by id).
    pub fn team(
        mut self,
        id: &str,
        name: &str,
        project: Option<&str>,
        users: &[&str],
        groups: &[&str],
    ) -> Self {
        self.0.teams.push(raw::Team {
            id: id.to_owned(),
            name: name.to_owned(),
            project: project.map(str::to_owned),
            users: users.iter().map(|u| (*u).to_owned()).collect(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        });
        self
    }

    /// Adds a grant.
    pub fn grant(mut self, grant: Grant) -> Self {
        self.0.grants.push(grant.0);
        self
    }

    /// Validates and returns the directory, or every problem found.
    pub fn build(self) -> Result<Directory, Error> {
        Ok(Directory(userql_directory::load::validate(self.0)?))
    }
}
