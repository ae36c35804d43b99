//! A valid [`Model`] from a [`DirectorySpec`]: unique logins (case-insensitively) and numbers,
//! parents before children (an acyclic group forest), every index in range.

use std::collections::HashSet;

use userql_directory::model::*;

use crate::spec::{DirectorySpec, UserSpec};
use crate::NOW;

/// Table caps: small directories keep each case fast and still give every index several values.
const MAX_USERS: usize = 24;
const MAX_GROUPS: usize = 6;
const MAX_PROJECTS: usize = 4;
const MAX_ROLES: usize = 4;
const MAX_TEAMS: usize = 2;
const MAX_GRANTS: usize = 12;
const DAY: i64 = 86_400_000;

/// Names with case folding and accent traps (`Émile`, `Zoë`, `ß`, dotted `İ`), shared prefixes
/// (`Mar`/`mark`/`Marsh`) and a quote.
pub(crate) const FIRST: &[&str] = &[
    "Ann", "anna", "Bob", "Émile", "Zoë", "Mar", "mark", "Li", "Ola", "İlker", "Straße",
];
pub(crate) const LAST: &[&str] = &[
    "Smith", "smithers", "Marsh", "Ng", "O'Neil", "Dupré", "Lee", "STRASSE",
];
/// Auth modules (id, name), with the same module in several cases: the case rule of module
/// values is one of the rules a fast path can get wrong.
pub(crate) const MODULES: &[(&str, &str)] = &[
    ("core", "Hub"),
    ("ldap", "Corp LDAP"),
    ("ldapmain", "Main LDAP"),
    ("LDAP", "Upper LDAP"),
    ("Core", "Hub"),
    ("google", "Google"),
    ("Google", "Google"),
    ("github", "GitHub"),
    ("openid", "OpenID"),
];
/// User types, some in a case or spelling the `type:` and `is: bot` rules must fold.
pub(crate) const TYPES: &[&str] = &[
    "human",
    "service_account",
    "project_bot",
    "ghost",
    "bot",
    "support_bot",
    "Project-Bot",
    "SERVICE ACCOUNT",
    "Bot",
];
pub(crate) const BAN_STATUSES: &[&str] = &["permanent", "Temporary", "", "temporary"];

fn pick<'a>(items: &[&'a str], index: u8) -> &'a str {
    items[usize::from(index) % items.len()]
}

fn below(index: u8, len: usize) -> usize {
    usize::from(index) % len.max(1)
}

fn bit(mask: u32, position: usize) -> bool {
    position < 32 && mask & (1 << position) != 0
}

/// The valid model a [`DirectorySpec`] stands for.
pub fn model(spec: &DirectorySpec) -> Model {
    let mut m = Model {
        services: vec![
            Service {
                id: "yt".into(),
                name: "YouTrack".into(),
            },
            Service {
                id: "tc".into(),
                name: "TeamCity".into(),
            },
        ]
        .into(),
        permissions: (0..4)
            .map(|i| Permission {
                id: format!("perm-{i}"),
                name: format!("Perm {i}"),
            })
            .collect(),
        organizations: vec![
            Organization {
                id: "o-1".into(),
                name: "Org One".into(),
            },
            Organization {
                id: "o-2".into(),
                name: "Org Two".into(),
            },
        ]
        .into(),
        ..Model::default()
    };
    // At least one role, so grants always have one to point at.
    let roles: Vec<u8> = if spec.roles.is_empty() {
        vec![0]
    } else {
        spec.roles.clone()
    };
    m.roles = roles
        .iter()
        .take(MAX_ROLES)
        .enumerate()
        .map(|(i, &permissions)| Role {
            id: format!("role-{i}"),
            name: if i == 0 {
                "Developer".into()
            } else {
                format!("Role {i}")
            },
            permissions: (0..4)
                .filter(|&p| bit(u32::from(permissions), p))
                .map(|p| PermissionIdx(p as u32))
                .collect(),
        })
        .collect();
    m.projects = spec
        .projects
        .iter()
        .take(MAX_PROJECTS)
        .enumerate()
        .map(|(i, p)| Project {
            id: format!("p-{i}"),
            name: format!("Project {i}"),
            key: p.keyed.then(|| format!("P{i}")),
            organization: p.organization.map(|o| OrgIdx(below(o, 2) as u32)),
        })
        .collect();
    m.groups = spec
        .groups
        .iter()
        .take(MAX_GROUPS)
        .enumerate()
        .map(|(i, g)| Group {
            id: format!("g-{i}"),
            name: match g.name % 3 {
                0 => format!("Group {i}"),
                1 => format!("team-ish {i}"),
                _ => format!("GROUP {i}"),
            },
            parent: g
                .parent
                .filter(|_| i > 0)
                .map(|p| GroupIdx(below(p, i) as u32)),
        })
        .collect();
    let groups = m.groups.len();
    let projects = m.projects.len();
    let mut logins = HashSet::new();
    for (i, user) in spec.users.iter().take(MAX_USERS).enumerate() {
        let mut login = login_of(user);
        while !logins.insert(login.to_lowercase()) {
            login.push_str(&(i % 10).to_string());
        }
        let (record, last_access) = user_of(i, user, login, groups);
        m.users.push(record, last_access);
    }
    let users = m.users.slots();
    m.teams = spec
        .teams
        .iter()
        .take(MAX_TEAMS)
        .enumerate()
        .map(|(i, t)| Team {
            id: format!("t-{i}"),
            name: format!("Team {i}"),
            project: t
                .project
                .filter(|_| projects > 0)
                .map(|p| ProjectIdx(below(p, projects) as u32)),
            users: (0..users)
                .filter(|&u| bit(t.users, u))
                .map(|u| u as Row)
                .collect(),
            groups: (0..groups)
                .filter(|&g| bit(u32::from(t.groups), g))
                .map(|g| GroupIdx(g as u32))
                .collect(),
        })
        .collect();
    let teams = m.teams.len();
    let role_count = m.roles.len();
    for grant in spec.grants.iter().take(MAX_GRANTS) {
        let subject = match grant.subject_kind % 3 {
            0 if users > 0 => Subject::User(below(grant.subject, users) as Row),
            1 if groups > 0 => Subject::Group(GroupIdx(below(grant.subject, groups) as u32)),
            2 if teams > 0 => Subject::Team(TeamIdx(below(grant.subject, teams) as u32)),
            _ => continue,
        };
        let scope = match grant.scope_kind % 3 {
            0 if projects > 0 => Scope::Project(ProjectIdx(below(grant.scope, projects) as u32)),
            1 => Scope::Organization(OrgIdx(below(grant.scope, 2) as u32)),
            _ => Scope::Global,
        };
        m.grants.push(Grant {
            role: RoleIdx(below(grant.role, role_count) as u32),
            subject,
            scope,
        });
    }
    m
}

fn login_of(user: &UserSpec) -> String {
    let first = pick(FIRST, user.first);
    let last = pick(LAST, user.last);
    let login = match user.login_style % 3 {
        0 => format!("{first}.{last}"),
        1 => format!("{}{last}", first.chars().next().unwrap_or('x')),
        _ => last.to_owned(),
    };
    if user.upper_login {
        login.to_uppercase()
    } else {
        login
    }
}

/// User `i` of the spec, with its last access.
fn user_of(i: usize, u: &UserSpec, login: String, groups: usize) -> (User, OptionalMillis) {
    let first = pick(FIRST, u.first);
    let last = pick(LAST, u.last);
    let created =
        NOW - i64::from(u.created_days % 4000) * DAY - i64::from(u.created_ms % 86_400_000);
    let email = u.email.map(|domain| {
        format!(
            "{first}.{last}@{}.example",
            pick(&["corp", "mail", "Corp"], domain)
        )
    });
    let state = State::ALL[usize::from(u.state) % State::ALL.len()];
    let last_access = u
        .last_access_days
        .map(|d| created + i64::from(d % 3000) * DAY / 2);
    let record = User {
        id: format!("u-{i:02}").into(),
        number: (i + 1) as u64,
        number_explicit: false,
        name: (u.name.map(|style| match style % 3 {
            0 => format!("{first} {last}"),
            1 => format!("{last}, {first}"),
            _ => first.to_owned(),
        }))
        .map(Into::into),
        auth: u
            .auth
            .iter()
            .take(3)
            .map(|a| {
                let (module, module_name) = MODULES[usize::from(a.module) % MODULES.len()];
                AuthDetail {
                    module: module.into(),
                    module_name: Some(module_name.into()),
                    login: (a.login.then(|| login.to_lowercase())).map(Into::into),
                    name: Some(format!("{first} {last}").into()),
                    email: email.clone().map(Into::into),
                    uid: (a.uid.map(|n| format!("UID-{}", n % 5))).map(Into::into),
                    saml_provider_id: None,
                }
            })
            .collect(),
        login: login.into(),
        email_verified: u.email_verified,
        public_email: if u.public_email {
            email.clone().map(Into::into)
        } else {
            None
        },
        emails: if u.alt_email {
            vec![format!("{last}{i}@alt.example")].into()
        } else {
            vec![].into()
        },
        email: email.map(Into::into),
        state,
        admin: u.admin,
        guest: u.guest,
        user_type: pick(TYPES, u.user_type).into(),
        external: u.external,
        two_factor: u.two_factor,
        two_factor_capable: u.two_factor_capable,
        created_at: created,
        updated_at: u.updated_days.map(|d| created + i64::from(d) * DAY).into(),
        last_sign_in_at: None.into(),
        confirmed_at: None.into(),
        ban: (state == State::Banned).then(|| {
            Box::new(Ban {
                status: Some(pick(BAN_STATUSES, u.ban_status).into())
                    .filter(|s: &String| !s.is_empty()),
                reason: None,
                at: None,
            })
        }),
        ssh_keys: u
            .ssh_key
            .map(|k| SshKey {
                title: None,
                key: format!("ssh-ed25519 AAAA{i} me@host").into(),
                fingerprint: Some(format!("SHA256:fp{}", k % 20).into()),
            })
            .into_iter()
            .collect(),
        licenses: (0..2)
            .filter(|&s| bit(u32::from(u.licenses), s))
            .map(|s| ServiceIdx(s as u32))
            .collect(),
        vcs_user_names: u.vcs.map(|v| format!("vcs{}", v % 4)).into_iter().collect(),
        origin_service: u.origin.map(|s| ServiceIdx(below(s, 2) as u32)),
        refresh_token: bit(u32::from(u.tokens), 0),
        permanent_token: bit(u32::from(u.tokens), 1),
        approved_resource: bit(u32::from(u.tokens), 2),
        accepted_eua: bit(u32::from(u.tokens), 3),
        groups: (0..groups)
            .filter(|&g| bit(u32::from(u.groups), g))
            .map(|g| Membership {
                group: GroupIdx(g as u32),
                access: AccessLevel::ALL
                    .get(usize::from(u.access >> g.min(7)) % 8)
                    .copied(),
            })
            .collect(),
        organizations: (0..2)
            .filter(|&o| bit(u32::from(u.organizations), o))
            .map(|o| OrgIdx(o as u32))
            .collect(),
        enterprise_group: (u.enterprise && groups > 0).then_some(GroupIdx(0)),
        profile: Default::default(),
    };
    (record, last_access.into())
}
