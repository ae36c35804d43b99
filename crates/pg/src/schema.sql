-- userql PostgreSQL schema, version 3 (see userql_schema_version).
--
-- Created by `userql pg load` inside one transaction, in the schema named on the command line
-- (`--schema`, default `userql`), which is on the search_path for every statement userql runs.
--
-- Text that queries compare case-insensitively is stored twice: as written, and folded (`*_f`)
-- by the loader with the same Rust function the in-memory engine uses (Unicode lowercase, runs
-- of whitespace collapsed), so PostgreSQL never folds anything itself and the answers cannot
-- depend on the server's locale. Every text column that is compared or ordered uses the "C"
-- collation: byte order, which for UTF-8 is code-point order, exactly Rust's `str` ordering.
-- The dialects compare some text lower-cased but not whitespace-collapsed (GitLab's search
-- relevance and `username` order, ArcGIS globs): those values are stored a third time (`*_l`),
-- lower-cased by the loader with Rust's `to_lowercase`.
--
-- Citus: `users` and every per-user table (`user_emails`, `memberships`, `user_organizations`,
-- `user_licenses`, `auth_details`, `ssh_keys`, `vcs_user_names`, `access`) are distributed on `row` and
-- co-located; the catalog (services … teams, `group_closure`, `team_groups`, `team_users`,
-- `grants`) are reference tables. See docs/postgresql.md.

CREATE TABLE userql_schema_version (
    version integer NOT NULL,
    loaded_users bigint NOT NULL,
    -- Change batches applied since the load (`userql apply --backend`), the store's version.
    batches bigint NOT NULL DEFAULT 0
);

-- Catalog: small, read by the binder (and cached by the backend).
CREATE TABLE services (
    idx integer PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL
);
CREATE TABLE permissions (
    idx integer PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL
);
CREATE TABLE roles (
    idx integer PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL
);
CREATE TABLE role_permissions (
    role integer NOT NULL REFERENCES roles ON UPDATE CASCADE DEFERRABLE,
    permission integer NOT NULL REFERENCES permissions ON UPDATE CASCADE DEFERRABLE,
    position integer NOT NULL,
    PRIMARY KEY (role, permission)
);
CREATE TABLE organizations (
    idx integer PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL
);
CREATE TABLE projects (
    idx integer PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL,
    key text,
    organization integer REFERENCES organizations ON UPDATE CASCADE DEFERRABLE
);
CREATE TABLE groups (
    idx integer PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL,
    parent integer REFERENCES groups ON UPDATE CASCADE DEFERRABLE
);
-- Every (ancestor, descendant) pair of the group forest, a group being its own ancestor:
-- `in: G` is one join closure(ancestor = G) → memberships(group = descendant).
CREATE TABLE group_closure (
    ancestor integer NOT NULL REFERENCES groups ON UPDATE CASCADE DEFERRABLE,
    descendant integer NOT NULL REFERENCES groups ON UPDATE CASCADE DEFERRABLE,
    PRIMARY KEY (ancestor, descendant)
);
CREATE TABLE teams (
    idx integer PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL,
    project integer REFERENCES projects ON UPDATE CASCADE DEFERRABLE
);
CREATE TABLE team_groups (
    team integer NOT NULL REFERENCES teams ON UPDATE CASCADE DEFERRABLE,
    grp integer NOT NULL REFERENCES groups ON UPDATE CASCADE DEFERRABLE,
    position integer NOT NULL,
    PRIMARY KEY (team, grp)
);

-- Users: one row per user. `row` is a stable key in directory order: the position in the loaded
-- file, and for users added by change batches one past the largest in use (rows of deleted users
-- are not reused), so ordering by `row` is the in-memory store's row order.
CREATE TABLE users (
    row integer PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    number bigint NOT NULL UNIQUE,
    login text NOT NULL,
    login_f text COLLATE "C" NOT NULL UNIQUE,
    name text,
    name_f text COLLATE "C",
    email text,
    email_f text COLLATE "C",
    public_email text,
    public_email_f text COLLATE "C",
    login_l text COLLATE "C" NOT NULL,
    name_l text COLLATE "C",
    email_l text COLLATE "C",
    public_email_l text COLLATE "C",
    state text COLLATE "C" NOT NULL,
    user_type_f text COLLATE "C" NOT NULL,
    ban_status_f text COLLATE "C",
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    last_access_at bigint,
    origin_service integer REFERENCES services ON UPDATE CASCADE DEFERRABLE,
    enterprise_group integer REFERENCES groups ON UPDATE CASCADE DEFERRABLE,
    -- Flags, each computed by the loader with the engine's own definition (hub-query.md).
    f_admin boolean NOT NULL,
    f_guest boolean NOT NULL,
    f_external boolean NOT NULL,
    f_two_factor boolean NOT NULL,
    f_two_factor_capable boolean NOT NULL,
    f_refresh_token boolean NOT NULL,
    f_permanent_token boolean NOT NULL,
    f_approved_resource boolean NOT NULL,
    f_accepted_eua boolean NOT NULL,
    f_has_email boolean NOT NULL,
    f_verified_email boolean NOT NULL,
    f_has_public_email boolean NOT NULL,
    f_has_last_access boolean NOT NULL,
    f_has_group boolean NOT NULL,
    f_has_auth boolean NOT NULL,
    f_has_core_auth boolean NOT NULL,
    f_has_ssh_key boolean NOT NULL,
    f_has_license boolean NOT NULL,
    f_has_origin_service boolean NOT NULL,
    f_bot boolean NOT NULL,
    f_internal boolean NOT NULL,
    f_human boolean NOT NULL,
    f_project_bot boolean NOT NULL,
    f_banned boolean NOT NULL,
    f_has_ldap_auth boolean NOT NULL,
    -- The user as written in the directory file (userql-directory/1, JSON text: key order and
    -- escapes kept), for responses.
    doc text NOT NULL
);
CREATE TABLE user_emails (
    row integer NOT NULL REFERENCES users DEFERRABLE,
    email_f text COLLATE "C" NOT NULL
);
CREATE TABLE memberships (
    row integer NOT NULL REFERENCES users DEFERRABLE,
    grp integer NOT NULL REFERENCES groups ON UPDATE CASCADE DEFERRABLE,
    PRIMARY KEY (row, grp)
);
CREATE TABLE user_organizations (
    row integer NOT NULL REFERENCES users DEFERRABLE,
    organization integer NOT NULL REFERENCES organizations ON UPDATE CASCADE DEFERRABLE,
    PRIMARY KEY (row, organization)
);
CREATE TABLE user_licenses (
    row integer NOT NULL REFERENCES users DEFERRABLE,
    service integer NOT NULL REFERENCES services ON UPDATE CASCADE DEFERRABLE,
    PRIMARY KEY (row, service)
);
CREATE TABLE auth_details (
    row integer NOT NULL REFERENCES users DEFERRABLE,
    module text COLLATE "C" NOT NULL,
    module_f text COLLATE "C" NOT NULL,
    module_name_f text COLLATE "C",
    login_f text COLLATE "C",
    name_f text COLLATE "C",
    email_f text COLLATE "C",
    uid text COLLATE "C",
    uid_f text COLLATE "C"
);
CREATE TABLE ssh_keys (
    row integer NOT NULL REFERENCES users DEFERRABLE,
    key text COLLATE "C" NOT NULL,
    blob text COLLATE "C",
    fingerprint text COLLATE "C"
);
CREATE TABLE vcs_user_names (
    row integer NOT NULL REFERENCES users DEFERRABLE,
    name_f text COLLATE "C" NOT NULL
);
CREATE TABLE team_users (
    team integer NOT NULL REFERENCES teams ON UPDATE CASCADE DEFERRABLE,
    row integer NOT NULL REFERENCES users DEFERRABLE,
    position integer NOT NULL,
    PRIMARY KEY (team, row)
);
-- Grants: exactly one subject, at most one scope (directory.md), enforced here too.
CREATE TABLE grants (
    position integer PRIMARY KEY,
    role integer NOT NULL REFERENCES roles ON UPDATE CASCADE DEFERRABLE,
    user_row integer REFERENCES users DEFERRABLE,
    grp integer REFERENCES groups ON UPDATE CASCADE DEFERRABLE,
    team integer REFERENCES teams ON UPDATE CASCADE DEFERRABLE,
    project integer REFERENCES projects ON UPDATE CASCADE DEFERRABLE,
    organization integer REFERENCES organizations ON UPDATE CASCADE DEFERRABLE,
    CHECK (num_nonnulls(user_row, grp, team) = 1),
    CHECK (num_nonnulls(project, organization) <= 1)
);

-- Members of a team: its users, and the transitive members of its groups.
CREATE VIEW team_members AS
    SELECT tu.team, tu.row FROM team_users tu
    UNION
    SELECT tg.team, m.row
    FROM team_groups tg
    JOIN group_closure c ON c.ancestor = tg.grp
    JOIN memberships m ON m.grp = c.descendant;

-- Who holds which role where: grants to the user, to a group they are in (transitively), to a
-- team they are in. `project`/`organization` both NULL = global. The definition of `access`,
-- and what `access::refresh_*` recompute it from.
CREATE VIEW grant_holders AS
    SELECT g.role, g.project, g.organization, g.user_row AS row
    FROM grants g WHERE g.user_row IS NOT NULL
    UNION ALL
    SELECT g.role, g.project, g.organization, m.row
    FROM grants g
    JOIN group_closure c ON c.ancestor = g.grp
    JOIN memberships m ON m.grp = c.descendant
    UNION ALL
    SELECT g.role, g.project, g.organization, tm.row
    FROM grants g
    JOIN team_members tm ON tm.team = g.team;

-- `grant_holders` materialised, without duplicates: one row per (user, role, scope) the user
-- holds by any path. `access(…)` and `inAnyProject` are one index lookup here instead of
-- expanding group and team grants per query. Kept exact by the loader and by every change batch,
-- which recomputes the rows of the users it can have reached (those it wrote, the members of
-- groups and teams it wrote or granted to); renumbered catalog positions cascade into it.
CREATE TABLE access (
    row integer NOT NULL,
    role integer NOT NULL REFERENCES roles ON UPDATE CASCADE DEFERRABLE,
    project integer REFERENCES projects ON UPDATE CASCADE DEFERRABLE,
    organization integer REFERENCES organizations ON UPDATE CASCADE DEFERRABLE,
    CONSTRAINT access_unique UNIQUE NULLS NOT DISTINCT (row, role, project, organization)
);
