-- Secondary indexes, built after COPY (faster than maintaining them row by row).
-- B-tree for exact and ordered keys ("C" collation: prefix LIKE uses them directly),
-- pg_trgm GIN for substring search.
CREATE INDEX users_name_f ON users (name_f);
CREATE INDEX users_email_f ON users (email_f);
CREATE INDEX users_public_email_f ON users (public_email_f);
CREATE INDEX users_state_two_factor ON users (state, f_two_factor);
CREATE INDEX users_created_at ON users (created_at);
CREATE INDEX users_updated_at ON users (updated_at);
CREATE INDEX users_last_access_at ON users (last_access_at);
CREATE INDEX users_user_type_f ON users (user_type_f);
CREATE INDEX users_enterprise_group ON users (enterprise_group);
CREATE INDEX users_login_trgm ON users USING gin (login_f gin_trgm_ops);
CREATE INDEX users_name_trgm ON users USING gin (name_f gin_trgm_ops);
CREATE INDEX users_email_trgm ON users USING gin (email_f gin_trgm_ops);
CREATE INDEX users_public_email_trgm ON users USING gin (public_email_f gin_trgm_ops);
CREATE INDEX user_emails_row ON user_emails (row);
CREATE INDEX user_emails_email_f ON user_emails (email_f);
CREATE INDEX user_emails_trgm ON user_emails USING gin (email_f gin_trgm_ops);
CREATE INDEX memberships_grp ON memberships (grp, row);
CREATE INDEX user_organizations_org ON user_organizations (organization, row);
CREATE INDEX user_licenses_service ON user_licenses (service, row);
CREATE INDEX auth_details_row ON auth_details (row);
CREATE INDEX auth_details_module_f ON auth_details (module_f, row);
CREATE INDEX auth_details_module_name_f ON auth_details (module_name_f, row);
CREATE INDEX auth_details_login_f ON auth_details (login_f);
CREATE INDEX auth_details_email_f ON auth_details (email_f);
CREATE INDEX auth_details_uid ON auth_details (uid);
CREATE INDEX ssh_keys_row ON ssh_keys (row);
CREATE INDEX ssh_keys_key ON ssh_keys (key);
CREATE INDEX ssh_keys_fingerprint ON ssh_keys (fingerprint);
CREATE INDEX vcs_user_names_name_f ON vcs_user_names (name_f, row);
CREATE INDEX group_closure_descendant ON group_closure (descendant, ancestor);
CREATE INDEX team_users_row ON team_users (row);
CREATE INDEX team_groups_grp ON team_groups (grp);
CREATE INDEX grants_user ON grants (user_row, role);
CREATE INDEX grants_grp ON grants (grp, role);
CREATE INDEX grants_team ON grants (team, role);
CREATE INDEX grants_role ON grants (role, project, organization);
CREATE INDEX access_role ON access (role, row);
CREATE INDEX access_project ON access (project, role, row) WHERE project IS NOT NULL;
CREATE INDEX access_organization ON access (organization, role, row) WHERE organization IS NOT NULL;
CREATE INDEX access_global ON access (role, row) WHERE project IS NULL AND organization IS NULL;
-- The dialects' lower-cased copies: GitLab's `username` order, ArcGIS globs (LIKE).
CREATE INDEX users_login_l ON users (login_l, number);
CREATE INDEX users_login_l_trgm ON users USING gin (login_l gin_trgm_ops);
CREATE INDEX users_name_l_trgm ON users USING gin (name_l gin_trgm_ops);
CREATE INDEX users_email_l_trgm ON users USING gin (email_l gin_trgm_ops);
