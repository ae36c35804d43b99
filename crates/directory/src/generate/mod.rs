//! The synthetic directory of benchmark.md (`userql gen --users N --seed S`) and the demo directory.
//!
//! Deterministic: one `ChaCha8Rng` seeded from [`GenOptions::seed`], draws in a fixed order, and a
//! fixed "now" ([`GEN_NOW_MS`]) instead of the clock — same options, same model, same bytes.
//! Proportions follow benchmark.md at every size. The output is a valid [`Model`] built directly
//! (no JSON round trip); tests check that it passes `validate` after `to_raw`.
//!
//! Speed: one pass over users; the only maps are login-base and email-base counters (bounded by
//! the number of distinct names, not users). About 15 small strings per user are unavoidable
//! because the model owns them.

mod changes;
mod names;

pub use changes::generate_changes;

use std::collections::HashMap;

use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::model::OptionalMillis;
use crate::model::{shared_user_type, AuthDetails, SshKeys};
use crate::model::{
    AccessLevel, AuthDetail, Ban, Grant, Group, GroupIdx, Membership, Millis, Model, OrgIdx,
    Organization, Permission, PermissionIdx, Project, ProjectIdx, Role, RoleIdx, Row, Scope,
    Service, ServiceIdx, SshKey, State, Subject, Team, TeamIdx, User,
};
use names::{
    AUTH_MODULES, DOMAINS, FIRST, LAST, PERMISSION_NOUNS, PERMISSION_VERBS, ROLES, SERVICES, WORDS,
};

/// The generator's "now": 2026-06-15T12:00:00Z. Fixed so output never depends on the clock;
/// queries over generated data (`{90 days ago}`) should use the same instant.
pub const GEN_NOW_MS: Millis = 1_781_524_800_000;

const DAY_MS: i64 = 24 * 3600 * 1000;
const TEN_YEARS_MS: i64 = 3652 * DAY_MS;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenOptions {
    /// Number of users (every other table scales with it, see benchmark.md).
    pub users: usize,
    /// RNG seed; the benchmark uses 42.
    pub seed: u64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            users: 1000,
            seed: 42,
        }
    }
}

/// Generates the benchmark directory (benchmark.md) deterministically.
pub fn generate(opts: &GenOptions) -> Model {
    if opts.users == 0 {
        return Model::default();
    }
    Generator::new(opts).run(None)
}

/// [`generate`] with a progress bar on stderr, for the CLI when stderr is a terminal.
/// Produces exactly the same model as [`generate`].
pub fn generate_with_progress(opts: &GenOptions) -> Model {
    if opts.users == 0 {
        return Model::default();
    }
    let bar = ProgressBar::new(opts.users as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} generating users {bar:40} {pos}/{len} ({eta})")
    {
        bar.set_style(style);
    }
    let model = Generator::new(opts).run(Some(&bar));
    bar.finish_and_clear();
    model
}

/// The built-in demo directory: 3,000 users (fixed seed) in which every Hub query key has
/// matches — rare features (`openID`, `ldap_blocked`, ghosts, …) are added on top of the
/// benchmark proportions so a demo query never comes back empty by accident.
pub fn demo() -> Model {
    let mut model = generate(&GenOptions {
        users: 3000,
        seed: 2026,
    });
    let openid = AuthDetail {
        module: "openid".into(),
        module_name: Some("OpenID".into()),
        ..AuthDetail::default()
    };
    for row in 1..=5 {
        let user = &mut model.users[row];
        let mut auth = std::mem::take(&mut user.auth).into_vec();
        auth.push(AuthDetail {
            uid: Some(format!("https://openid.example/{}", user.login).into()),
            name: user.name.clone(),
            ..openid.clone()
        });
        user.auth = auth.into();
    }
    let kerberos = &mut model.users[6];
    let mut auth = std::mem::take(&mut kerberos.auth).into_vec();
    auth.push(AuthDetail {
        module: "kerberos".into(),
        module_name: Some("Kerberos".into()),
        login: Some(kerberos.login.clone()),
        ..AuthDetail::default()
    });
    kerberos.auth = auth.into();
    for row in [7, 8, 9] {
        model.users[row].state = State::LdapBlocked;
    }
    for row in [10, 11] {
        model.users[row].state = State::BlockedPendingApproval;
    }
    model.users[12].user_type = "ghost".into();
    model.users[13].user_type = "support_bot".into();
    for row in [14, 15, 16] {
        let user = &mut model.users[row];
        user.refresh_token = true;
        user.approved_resource = true;
        user.permanent_token = true;
        user.accepted_eua = true;
        user.two_factor_capable = true;
    }
    model
}

/// Rank-based Zipf sampler over `n` items: item k has weight 1/(k+1)^s.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, exponent: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n.max(1))
            .map(|k| {
                total += 1.0 / ((k + 1) as f64).powf(exponent);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let target = rng.gen::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= target)
            .min(self.cumulative.len() - 1)
    }
}

struct Generator {
    rng: ChaCha8Rng,
    users: usize,
    first: Zipf,
    last: Zipf,
    domain: Zipf,
    group_pop: Zipf,
    project_pop: Zipf,
    role_pop: Zipf,
    /// Login base (`john.smith`) → how many users already took it (the next numeric suffix).
    login_bases: HashMap<String, u32>,
    /// (first, last, domain) → how many emails already use `first.last@domain`.
    email_bases: HashMap<(u16, u16, u8), u32>,
    model: Model,
}

fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.gen::<f64>() < p
}

impl Generator {
    fn new(opts: &GenOptions) -> Generator {
        let n = opts.users.max(1);
        let groups = (n / 500).max(20);
        let projects = (n / 200).max(5);
        Generator {
            rng: ChaCha8Rng::seed_from_u64(opts.seed),
            users: n,
            first: Zipf::new(FIRST.len(), 1.0),
            last: Zipf::new(LAST.len(), 1.0),
            domain: Zipf::new(DOMAINS.len(), 1.0),
            group_pop: Zipf::new(groups, 0.8),
            project_pop: Zipf::new(projects, 1.0),
            role_pop: Zipf::new(ROLES.len(), 1.2),
            login_bases: HashMap::new(),
            email_bases: HashMap::new(),
            model: Model::default(),
        }
    }

    fn run(mut self, progress: Option<&ProgressBar>) -> Model {
        self.tables();
        self.model.users.reserve(self.users);
        self.model.users.push(guest(), OptionalMillis::NONE);
        for row in 1..self.users {
            let (user, last_access) = self.user(row);
            self.model.users.push(user, last_access);
            self.user_grants(row as Row);
            if row % 16384 == 0 {
                if let Some(bar) = progress {
                    bar.set_position(row as u64);
                }
            }
        }
        self.group_grants();
        self.teams();
        self.model
    }

    fn tables(&mut self) {
        let rng = &mut self.rng;
        let m = &mut self.model;
        m.services = SERVICES
            .iter()
            .map(|(id, name)| Service {
                id: (*id).to_owned(),
                name: (*name).to_owned(),
            })
            .collect();
        for verb in PERMISSION_VERBS {
            for noun in PERMISSION_NOUNS {
                m.permissions.push(Permission {
                    id: format!("{}-{}", verb.to_lowercase(), noun.to_lowercase()),
                    name: format!("{verb} {noun}"),
                });
            }
        }
        for name in ROLES {
            let count = rng.gen_range(3..=15);
            let mut permissions: Vec<PermissionIdx> = Vec::with_capacity(count);
            while permissions.len() < count {
                let p = PermissionIdx(rng.gen_range(0..m.permissions.len() as u32));
                if !permissions.contains(&p) {
                    permissions.push(p);
                }
            }
            permissions.sort();
            m.roles.push(Role {
                id: name.to_lowercase().replace(' ', "-"),
                name: (*name).to_owned(),
                permissions,
            });
        }
        let orgs = (self.users / 20000).max(2);
        m.organizations = (0..orgs)
            .map(|i| Organization {
                id: format!("o-{i}"),
                name: numbered(WORDS, i, "Corp"),
            })
            .collect();
        let projects = self.project_pop.cumulative.len();
        m.projects = (0..projects)
            .map(|i| {
                let word = WORDS[i % WORDS.len()];
                let round = i / WORDS.len() + 1;
                Project {
                    id: format!("p-{i}"),
                    name: format!("{word} Project {round}"),
                    key: Some(format!("{}{round}", word[..3].to_uppercase())),
                    organization: Some(OrgIdx(rng.gen_range(0..orgs as u32))),
                }
            })
            .collect();
        self.build_groups();
    }

    /// A forest: group 0 ("Engineering") is a root with a fixed 14-group subtree (benchmark h's
    /// "root group with a subtree of ~15 groups"); about a tenth of the rest are roots, and every
    /// other group hangs under a random earlier one, which nests several levels deep.
    fn build_groups(&mut self) {
        const SUBTREE_PARENTS: [u32; 14] = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 11, 7, 9];
        let count = self.group_pop.cumulative.len();
        let roots = (count / 10).max(1);
        let mut groups = Vec::with_capacity(count);
        groups.push(Group {
            id: "g-0".to_owned(),
            name: "Engineering".to_owned(),
            parent: None,
        });
        for (i, parent) in SUBTREE_PARENTS.iter().enumerate() {
            groups.push(Group {
                id: format!("g-{}", i + 1),
                name: numbered(WORDS, i, "Squad"),
                parent: Some(GroupIdx(*parent)),
            });
        }
        let first_free = groups.len();
        for i in first_free..count {
            let parent = if i < first_free + roots - 1 {
                None
            } else {
                Some(GroupIdx(self.rng.gen_range(first_free..i) as u32))
            };
            groups.push(Group {
                id: format!("g-{i}"),
                name: numbered(WORDS, i - first_free, "Team"),
                parent,
            });
        }
        self.model.groups = groups.into();
    }

    /// The user at `row`, with its last access.
    fn user(&mut self, row: usize) -> (User, OptionalMillis) {
        let rng = &mut self.rng;
        let kind = rng.gen::<f64>();
        let first = self.first.sample(rng);
        let last = self.last.sample(rng);
        let (first_name, last_name) = (FIRST[first], LAST[last]);
        let (user_type, name, base) = if kind < 0.01 {
            let word = WORDS[rng.gen_range(0..WORDS.len())];
            (
                "service_account",
                format!("{word} Service"),
                format!("svc-{}", word.to_lowercase()),
            )
        } else if kind < 0.015 {
            let word = WORDS[rng.gen_range(0..WORDS.len())];
            let bot = if chance(rng, 0.5) {
                "project_bot"
            } else {
                "bot"
            };
            (
                bot,
                format!("{word} Bot"),
                format!("bot-{}", word.to_lowercase()),
            )
        } else {
            let (f, l) = (first_name.to_lowercase(), last_name.to_lowercase());
            let style = rng.gen_range(0..4);
            let base = match style {
                0 | 1 => format!("{f}.{l}"),
                2 => format!("{}{l}", &f[..1]),
                _ => format!("{l}{}", &f[..1]),
            };
            ("human", format!("{first_name} {last_name}"), base)
        };
        let human = user_type == "human";
        let login = match self.login_bases.get_mut(base.as_str()) {
            Some(count) => {
                let login = format!("{base}{count}");
                *count += 1;
                login
            }
            None => {
                let login = base.clone();
                self.login_bases.insert(base, 1);
                login
            }
        };

        let email = if human && chance(rng, 0.98) {
            let domain = self.domain.sample(rng);
            let count = self
                .email_bases
                .entry((first as u16, last as u16, domain as u8))
                .or_insert(0);
            let suffix = if *count == 0 {
                String::new()
            } else {
                count.to_string()
            };
            *count += 1;
            Some(format!(
                "{}.{}{suffix}@{}",
                first_name.to_lowercase(),
                last_name.to_lowercase(),
                DOMAINS[domain]
            ))
        } else if !human && chance(rng, 0.5) {
            Some(format!("{login}@noreply.example"))
        } else {
            None
        };
        let emails = if chance(rng, 0.10) {
            vec![format!(
                "{login}@{}",
                DOMAINS[rng.gen_range(0..DOMAINS.len())]
            )]
        } else {
            Vec::new()
        };
        let email_verified = email.is_some() && chance(rng, 0.85);
        let public_email = if email.is_some() && chance(rng, 0.3) {
            email.clone()
        } else {
            None
        };

        let state_roll = rng.gen::<f64>();
        let state = if state_roll < 0.90 {
            State::Active
        } else if state_roll < 0.96 {
            State::Deactivated
        } else if state_roll < 0.99 {
            State::Blocked
        } else {
            State::Banned
        };
        let admin = chance(rng, 0.005);
        let two_factor = chance(rng, 0.35);
        let two_factor_capable = two_factor || chance(rng, 0.15);
        let external = chance(rng, 0.05);

        // Skewed recent: age = ten years × u², so most accounts are young.
        let u: f64 = rng.gen();
        let created_at = GEN_NOW_MS - (TEN_YEARS_MS as f64 * u * u) as i64;
        let span = GEN_NOW_MS - created_at;
        let last_access_at = if chance(rng, 0.10) {
            None
        } else {
            let v: f64 = rng.gen();
            Some(GEN_NOW_MS - (span as f64 * v * v * v) as i64)
        };
        let last_sign_in_at =
            last_access_at.map(|t| (t - rng.gen_range(0..120_000)).max(created_at));
        let updated_at = if chance(rng, 0.3) {
            Some(created_at + rng.gen_range(0..=span))
        } else {
            None
        };
        let confirmed_at = if email_verified {
            Some(created_at + rng.gen_range(0..3_600_000))
        } else {
            None
        };
        let ban = (state == State::Banned).then(|| {
            const STATUSES: [&str; 3] = ["permanent", "temporary", "suspicious"];
            const REASONS: [&str; 4] = ["Spam", "Abuse", "Compromised account", "Policy violation"];
            Ban {
                status: Some(STATUSES[rng.gen_range(0..3)].to_owned()),
                reason: Some(REASONS[rng.gen_range(0..4)].to_owned()),
                at: Some(created_at + rng.gen_range(0..=span)),
            }
        });

        let auth = auth_details(rng, &login, &name, email.as_deref());
        let ssh_keys = if chance(rng, 0.15) {
            (0..rng.gen_range(1..=2))
                .map(|k| ssh_key(rng, &login, k))
                .collect()
        } else {
            Vec::new()
        };
        const LICENSE_SHARE: [f64; 6] = [0.6, 0.3, 0.2, 0.05, 0.05, 0.05];
        let licenses = LICENSE_SHARE
            .iter()
            .enumerate()
            .filter_map(|(s, &p)| chance(rng, p).then_some(ServiceIdx(s as u32)))
            .collect();
        let vcs_user_names = if chance(rng, 0.2) {
            vec![login.clone()]
        } else {
            Vec::new()
        };
        let origin_service =
            chance(rng, 0.05).then(|| ServiceIdx(rng.gen_range(0..SERVICES.len() as u32)));
        let refresh_token = chance(rng, 0.2);
        let permanent_token = chance(rng, if human { 0.1 } else { 0.8 });
        let approved_resource = chance(rng, if human { 0.01 } else { 0.5 });
        let accepted_eua = human && chance(rng, 0.8);

        const GROUP_COUNT_WEIGHTS: [u32; 6] = [25, 30, 20, 12, 8, 5];
        let mut roll = rng.gen_range(0..100);
        let mut group_count = 0;
        while group_count < 5 && roll >= GROUP_COUNT_WEIGHTS[group_count] {
            roll -= GROUP_COUNT_WEIGHTS[group_count];
            group_count += 1;
        }
        let mut groups: Vec<Membership> = Vec::with_capacity(group_count);
        for _ in 0..group_count {
            let group = GroupIdx(self.group_pop.sample(rng) as u32);
            if groups.iter().all(|m| m.group != group) {
                let access = chance(rng, 0.3)
                    .then(|| AccessLevel::ALL[rng.gen_range(0..AccessLevel::ALL.len())]);
                groups.push(Membership { group, access });
            }
        }
        let orgs = self.model.organizations.len() as u32;
        let organizations = if chance(rng, 0.3) {
            vec![OrgIdx(rng.gen_range(0..orgs))]
        } else {
            Vec::new()
        };
        let roots = self.model.groups.len() / 10;
        let enterprise_group = chance(rng, 0.03).then(|| {
            // Group 0 and the roots after the fixed subtree (ids g-15 …).
            let pick = rng.gen_range(0..roots.max(1));
            GroupIdx(if pick == 0 { 0 } else { (14 + pick) as u32 })
        });
        let profile = if chance(rng, 0.05) {
            const CITIES: [&str; 6] = [
                "Prague",
                "Munich",
                "Amsterdam",
                "Boston",
                "Berlin",
                "Belgrade",
            ];
            let mut profile = Map::new();
            profile.insert(
                "location".to_owned(),
                Value::String(CITIES[rng.gen_range(0..6)].to_owned()),
            );
            profile
        } else {
            Map::new()
        };

        let user = User {
            id: format!("u-{row:07}").into(),
            number: row as u64 + 1,
            number_explicit: false,
            login: login.into(),
            name: Some(name.into()),
            email: email.map(Into::into),
            email_verified,
            public_email: public_email.map(Into::into),
            emails: emails.into(),
            state,
            admin,
            guest: false,
            user_type: shared_user_type(user_type),
            external,
            two_factor,
            two_factor_capable,
            created_at,
            updated_at: updated_at.into(),
            last_sign_in_at: last_sign_in_at.into(),
            confirmed_at: confirmed_at.into(),
            ban: ban.map(Box::new),
            auth: auth.into(),
            ssh_keys: ssh_keys.into(),
            licenses,
            vcs_user_names: vcs_user_names.into(),
            origin_service,
            refresh_token,
            permanent_token,
            approved_resource,
            accepted_eua,
            groups: groups.into(),
            organizations: organizations.into(),
            enterprise_group,
            profile: profile.into(),
        };
        (user, last_access_at.into())
    }

    fn scope(&mut self, project_share: f64, org_share: f64) -> Scope {
        let roll = self.rng.gen::<f64>();
        if roll < project_share {
            Scope::Project(ProjectIdx(self.project_pop.sample(&mut self.rng) as u32))
        } else if roll < project_share + org_share {
            let orgs = self.model.organizations.len() as u32;
            Scope::Organization(OrgIdx(self.rng.gen_range(0..orgs)))
        } else {
            Scope::Global
        }
    }

    /// 0–15 direct grants (40 % none), mostly project-scoped.
    fn user_grants(&mut self, row: Row) {
        if chance(&mut self.rng, 0.4) {
            return;
        }
        for _ in 0..self.rng.gen_range(1..=15) {
            let role = RoleIdx(self.role_pop.sample(&mut self.rng) as u32);
            let scope = self.scope(0.97, 0.025);
            self.model.grants.push(Grant {
                role,
                subject: Subject::User(row),
                scope,
            });
        }
    }

    /// 0–20 grants per group, plus the few organization and global ones.
    fn group_grants(&mut self) {
        for g in 0..self.model.groups.len() {
            for _ in 0..self.rng.gen_range(0..=20) {
                let role = RoleIdx(self.role_pop.sample(&mut self.rng) as u32);
                let scope = self.scope(0.9, 0.08);
                self.model.grants.push(Grant {
                    role,
                    subject: Subject::Group(GroupIdx(g as u32)),
                    scope,
                });
            }
        }
    }

    /// Teams for a tenth of the projects (the most popular first), each granted Developer there.
    fn teams(&mut self) {
        let projects = self.model.projects.len();
        let users = self.model.users.slots() as u32;
        for t in 0..(projects / 10).max(1) {
            let project = t * 10;
            let member_count = self.rng.gen_range(3..=20);
            let mut members: Vec<Row> = (0..member_count)
                .map(|_| self.rng.gen_range(1..users.max(2)))
                .collect();
            members.sort_unstable();
            members.dedup();
            members.retain(|&r| r < users);
            let mut groups: Vec<GroupIdx> = (0..self.rng.gen_range(0..=2))
                .map(|_| GroupIdx(self.group_pop.sample(&mut self.rng) as u32))
                .collect();
            groups.sort_unstable();
            groups.dedup();
            self.model.teams.push(Team {
                id: format!("t-{t}"),
                name: format!("{} Team", self.model.projects[project].name),
                project: Some(ProjectIdx(project as u32)),
                users: members,
                groups,
            });
            self.model.grants.push(Grant {
                role: RoleIdx(0),
                subject: Subject::Team(TeamIdx(t as u32)),
                scope: Scope::Project(ProjectIdx(project as u32)),
            });
        }
    }
}

/// `Word Suffix`, then `Word Suffix 2`, … once the word list wraps, so names stay unique.
fn numbered(words: &[&str], i: usize, suffix: &str) -> String {
    let round = i / words.len();
    if round == 0 {
        format!("{} {suffix}", words[i % words.len()])
    } else {
        format!("{} {suffix} {}", words[i % words.len()], round + 1)
    }
}

fn guest() -> User {
    User {
        id: "u-guest".into(),
        number: 1,
        number_explicit: false,
        login: "guest".into(),
        name: Some("Guest".into()),
        email: None,
        email_verified: false,
        public_email: None,
        emails: Box::default(),
        state: State::Active,
        admin: false,
        guest: true,
        user_type: shared_user_type("human"),
        external: false,
        two_factor: false,
        two_factor_capable: false,
        created_at: GEN_NOW_MS - TEN_YEARS_MS,
        updated_at: None.into(),
        last_sign_in_at: None.into(),
        confirmed_at: None.into(),
        ban: None,
        auth: AuthDetails::default(),
        ssh_keys: SshKeys::default(),
        licenses: Box::default(),
        vcs_user_names: Box::default(),
        origin_service: None,
        refresh_token: false,
        permanent_token: false,
        approved_resource: false,
        accepted_eua: false,
        groups: Box::default(),
        organizations: Box::default(),
        enterprise_group: None,
        profile: Map::new().into(),
    }
}

/// One identity by the benchmark's module shares; a tenth of non-core users also get a password.
fn auth_details(
    rng: &mut ChaCha8Rng,
    login: &str,
    name: &str,
    email: Option<&str>,
) -> Vec<AuthDetail> {
    let mut roll = rng.gen_range(0..100);
    let mut pick = 0;
    while pick + 1 < AUTH_MODULES.len() && roll >= AUTH_MODULES[pick].2 {
        roll -= AUTH_MODULES[pick].2;
        pick += 1;
    }
    let (module, module_name, _) = AUTH_MODULES[pick];
    let uid = match module {
        "core" => None,
        "ldap" => Some(format!("CN={name},OU=Users,DC=corp,DC=example")),
        "google" => Some(format!("1{:014}", rng.gen_range(0..100_000_000_000_000u64))),
        "github" => Some(rng.gen_range(1..90_000_000u32).to_string()),
        "saml" => email.map(str::to_owned),
        "azure" => Some(format!(
            "{:08x}-0000-4000-8000-{:012x}",
            rng.gen::<u32>(),
            rng.gen_range(0..1u64 << 48)
        )),
        _ => Some(format!("jba-{}", rng.gen_range(1..10_000_000u32))),
    };
    let primary = AuthDetail {
        module: module.into(),
        module_name: Some(module_name.into()),
        login: Some(login.into()),
        name: Some(name.into()),
        email: email.map(Into::into),
        uid: uid.map(Into::into),
        saml_provider_id: (module == "saml").then(|| "saml-okta".into()),
    };
    if module != "core" && chance(rng, 0.1) {
        let core = AuthDetail {
            module: "core".into(),
            module_name: Some("Hub".into()),
            login: Some(login.into()),
            name: Some(name.into()),
            email: email.map(Into::into),
            uid: None,
            saml_provider_id: None,
        };
        vec![primary, core]
    } else {
        vec![primary]
    }
}

fn ssh_key(rng: &mut ChaCha8Rng, login: &str, k: u32) -> SshKey {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut blob = String::from("AAAAC3NzaC1lZDI1NTE5AAAAI");
    let mut fingerprint = String::from("SHA256:");
    for _ in 0..43 {
        blob.push(ALPHABET[rng.gen_range(0..64)] as char);
        fingerprint.push(ALPHABET[rng.gen_range(0..64)] as char);
    }
    SshKey {
        title: Some(if k == 0 {
            "laptop".into()
        } else {
            "desktop".into()
        }),
        key: format!("ssh-ed25519 {blob} {login}@host").into(),
        fingerprint: Some(fingerprint.into()),
    }
}
