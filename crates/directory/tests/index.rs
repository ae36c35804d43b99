//! The directory's indexes: hand-written cases that read like hub-query.md / dialects.md, and a
//! property test comparing every index with a brute-force computation over `Model::users`.

use std::cmp::Ordering;
use std::ops::{Bound, RangeBounds};

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use userql_directory::index::{
    AccessScope, Flag, Indexes, PrefixField, RoaringBitmap, SortKey, TermField, TextField,
    TimeColumn,
};
use userql_directory::model::*;
use userql_directory::text::{fold, fold_user_type};

// ---------------------------------------------------------------------------------------------
// Model builders
// ---------------------------------------------------------------------------------------------

fn user(id: &str, login: &str) -> User {
    User {
        id: id.to_owned().into(),
        number: 0,
        number_explicit: false,
        login: login.to_owned().into(),
        name: None,
        email: None,
        email_verified: false,
        public_email: None,
        emails: Box::default(),
        state: State::Active,
        admin: false,
        guest: false,
        user_type: "human".into(),
        external: false,
        two_factor: false,
        two_factor_capable: false,
        created_at: 0,
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
        profile: Default::default(),
    }
}

fn named(id: &str, name: &str) -> (String, String) {
    (id.to_owned(), name.to_owned())
}

/// A small Star Wars directory in the spirit of tiny.json.
fn empire() -> Model {
    let mut vader = user("u-vader", "Vader");
    vader.number = 66;
    vader.name = Some("Darth  Vader".into());
    vader.email = Some("Vader@Empire.example".into());
    vader.email_verified = true;
    vader.emails = vec!["anakin@jedi.example".into()].into();
    vader.created_at = 1_000;
    vader.admin = true;
    vader.two_factor = true;
    vader.groups = vec![Membership {
        group: GroupIdx(1),
        access: None,
    }]
    .into();
    vader.auth = vec![AuthDetail {
        module: "ldap".into(),
        module_name: Some("Corporate LDAP".into()),
        login: Some("dvader".into()),
        uid: Some("CN=Darth Vader,OU=Sith".into()),
        ..Default::default()
    }]
    .into();
    vader.ssh_keys = vec![SshKey {
        title: None,
        key: "ssh-ed25519 AAAAblob vader@ds".into(),
        fingerprint: Some("SHA256:xyz".into()),
    }]
    .into();

    let mut tarkin = user("u-tarkin", "tarkin");
    tarkin.number = 2;
    tarkin.name = Some("Wilhuff Tarkin".into());
    tarkin.created_at = 2_000;
    tarkin.user_type = "Service account".into();
    tarkin.groups = vec![Membership {
        group: GroupIdx(2),
        access: Some(AccessLevel::Owner),
    }]
    .into();

    let mut trooper = user("u-tk421", "TK-421");
    trooper.number = 3;
    trooper.name = Some("Élodie Trooper".into());
    trooper.email = Some("tk421@empire.example".into());
    trooper.created_at = 1_000;
    trooper.updated_at = Some(9_000).into();
    trooper.groups = vec![Membership {
        group: GroupIdx(2),
        access: None,
    }]
    .into();
    trooper.ban = Some(Box::new(Ban {
        status: Some("Spam".into()),
        reason: None,
        at: None,
    }));
    trooper.auth = vec![AuthDetail {
        module: "google".into(),
        uid: Some("g-123".into()),
        ..Default::default()
    }]
    .into();

    let mut luke = user("a-luke", "luke");
    luke.number = 4;
    luke.created_at = 3_000;
    luke.state = State::Blocked;
    luke.user_type = "project_bot".into();

    let (service_id, service_name) = named("youtrack", "YouTrack");
    Model {
        services: vec![Service {
            id: service_id,
            name: service_name,
        }]
        .into(),
        permissions: vec![Permission {
            id: "read-issue".into(),
            name: "Read Issue".into(),
        }]
        .into(),
        roles: vec![
            Role {
                id: "developer".into(),
                name: "Developer".into(),
                permissions: vec![PermissionIdx(0)],
            },
            Role {
                id: "observer".into(),
                name: "Observer".into(),
                permissions: vec![],
            },
        ]
        .into(),
        organizations: vec![Organization {
            id: "o-empire".into(),
            name: "Empire".into(),
        }]
        .into(),
        projects: vec![
            Project {
                id: "p-ds".into(),
                name: "Death Star".into(),
                key: Some("DS".into()),
                organization: Some(OrgIdx(0)),
            },
            // A project whose name is another project's key: the key level wins.
            Project {
                id: "p-other".into(),
                name: "ds".into(),
                key: None,
                organization: None,
            },
        ]
        .into(),
        groups: vec![
            Group {
                id: "g-army".into(),
                name: "Army".into(),
                parent: None,
            },
            Group {
                id: "g-sith".into(),
                name: "Sith".into(),
                parent: Some(GroupIdx(0)),
            },
            Group {
                id: "g-troopers".into(),
                name: "Stormtroopers".into(),
                parent: Some(GroupIdx(0)),
            },
        ]
        .into(),
        teams: vec![Team {
            id: "t-ds".into(),
            name: "Death Star Team".into(),
            project: Some(ProjectIdx(0)),
            users: vec![3],
            groups: vec![GroupIdx(1)],
        }]
        .into(),
        grants: vec![
            Grant {
                role: RoleIdx(0),
                subject: Subject::User(0),
                scope: Scope::Project(ProjectIdx(0)),
            },
            Grant {
                role: RoleIdx(0),
                subject: Subject::Group(GroupIdx(2)),
                scope: Scope::Organization(OrgIdx(0)),
            },
            Grant {
                role: RoleIdx(1),
                subject: Subject::User(1),
                scope: Scope::Global,
            },
            Grant {
                role: RoleIdx(1),
                subject: Subject::Team(TeamIdx(0)),
                scope: Scope::Project(ProjectIdx(1)),
            },
        ]
        .into(),
        users: vec![
            (vader, Some(5_000).into()),
            (tarkin, OptionalMillis::NONE),
            (trooper, OptionalMillis::NONE),
            (luke, OptionalMillis::NONE),
        ]
        .into(),
    }
}

fn rows(set: &RoaringBitmap) -> Vec<Row> {
    set.iter().collect()
}

fn set_of(rows: impl IntoIterator<Item = Row>) -> RoaringBitmap {
    rows.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// hub-query.md "Values" and "Keys for users"
// ---------------------------------------------------------------------------------------------

mod keys_for_users {
    use super::*;

    #[test]
    fn login_and_email_compare_case_insensitively() {
        let index = Indexes::build(&empire());
        assert_eq!(rows(&index.term(TermField::Login, "VADER")), [0]);
        assert_eq!(
            rows(&index.term(TermField::Email, "ANAKIN@jedi.example")),
            [0]
        );
        assert_eq!(
            rows(&index.term(TermField::Email, "vader@empire.example")),
            [0]
        );
        assert_eq!(
            rows(&index.term(TermField::PrimaryEmail, "anakin@jedi.example")),
            [] as [Row; 0]
        );
        assert_eq!(index.row_of_login("tk-421"), Some(2));
        assert_eq!(index.row_of_login("nobody"), None);
    }

    #[test]
    fn ids_and_uids_are_exact() {
        let index = Indexes::build(&empire());
        assert_eq!(index.row_of_id("u-vader"), Some(0));
        assert_eq!(index.row_of_id("U-VADER"), None);
        assert_eq!(rows(&index.term(TermField::GoogleId, "g-123")), [2]);
        assert_eq!(
            rows(&index.term(TermField::GoogleId, "G-123")),
            [] as [Row; 0]
        );
        assert_eq!(
            rows(&index.term(TermField::OpenId, "g-123")),
            [] as [Row; 0]
        );
        assert_eq!(
            rows(&index.term(TermField::AuthUid, "CN=Darth Vader,OU=Sith")),
            [0]
        );
    }

    #[test]
    fn name_runs_of_whitespace_count_as_one_space() {
        let index = Indexes::build(&empire());
        assert_eq!(rows(&index.term(TermField::Name, "darth vader")), [0]);
        assert_eq!(rows(&index.term(TermField::Name, "  DARTH \t VADER ")), [0]);
        assert_eq!(index.term_count(TermField::Name, "darth vader"), 1);
    }

    #[test]
    fn auth_module_matches_type_or_module_name() {
        let index = Indexes::build(&empire());
        assert_eq!(rows(&index.term(TermField::AuthModule, "LDAP")), [0]);
        assert_eq!(
            rows(&index.term(TermField::AuthModule, "corporate ldap")),
            [0]
        );
        assert_eq!(
            rows(&index.term(TermField::AuthModuleType, "corporate ldap")),
            [] as [Row; 0]
        );
        assert_eq!(rows(&index.term(TermField::AuthLogin, "DVader")), [0]);
    }

    #[test]
    fn ssh_key_matches_text_blob_or_fingerprint() {
        let index = Indexes::build(&empire());
        for value in ["ssh-ed25519 AAAAblob vader@ds", "AAAAblob", "SHA256:xyz"] {
            assert_eq!(rows(&index.term(TermField::SshKey, value)), [0], "{value}");
        }
        assert_eq!(
            rows(&index.term(TermField::SshKey, "aaaablob")),
            [] as [Row; 0]
        );
    }

    #[test]
    fn type_ignores_case_spaces_underscores_and_dashes() {
        let index = Indexes::build(&empire());
        for value in ["service_account", "Service account", "SERVICE-ACCOUNT"] {
            assert_eq!(
                rows(&index.term(TermField::UserType, value)),
                [1],
                "{value}"
            );
        }
        assert_eq!(rows(index.flag(Flag::Bot)), [1, 3]);
        assert_eq!(rows(index.flag(Flag::Internal)), [] as [Row; 0]);
        assert_eq!(rows(index.flag(Flag::ProjectBot)), [3]);
    }

    #[test]
    fn ban_status_and_origin_service() {
        let index = Indexes::build(&empire());
        assert_eq!(rows(&index.term(TermField::BanStatus, "spam")), [2]);
        assert_eq!(rows(index.flag(Flag::Banned)), [2]);
        assert_eq!(
            rows(&index.term(TermField::OriginService, "youtrack")),
            [] as [Row; 0]
        );
    }

    #[test]
    fn name_starts_with_is_a_prefix_of_the_full_name() {
        let index = Indexes::build(&empire());
        assert_eq!(rows(&index.prefix(PrefixField::Name, "darth")), [0]);
        assert_eq!(
            rows(&index.prefix(PrefixField::Name, "vader")),
            [] as [Row; 0]
        );
        assert_eq!(rows(&index.prefix(PrefixField::Login, "T")), [1, 2]);
        assert_eq!(index.prefix_count(PrefixField::Login, "t"), 2);
        assert_eq!(rows(&index.prefix(PrefixField::Name, "élo")), [2]);
    }

    #[test]
    fn text_search_is_a_folded_substring_including_non_ascii() {
        let index = Indexes::build(&empire());
        assert_eq!(rows(&index.substring(TextField::Name, "TH VA")), [0]);
        assert_eq!(rows(&index.substring(TextField::Name, "ÉLO")), [2]);
        assert_eq!(rows(&index.substring(TextField::Name, "é")), [2]);
        assert_eq!(rows(&index.substring(TextField::Login, "a")), [0, 1]);
        assert_eq!(
            rows(&index.substring(TextField::SecondaryEmail, "jedi")),
            [0]
        );
        assert_eq!(
            rows(&index.substring(TextField::PrimaryEmail, "empire.ex")),
            [0, 2]
        );
        assert_eq!(
            rows(&index.substring(TextField::PublicEmail, "x")),
            [] as [Row; 0]
        );
    }

    #[test]
    fn created_ranges_honour_every_bound_kind() {
        let index = Indexes::build(&empire());
        use Bound::*;
        let created = |lo, hi| rows(&index.time_range(TimeColumn::Created, lo, hi));
        assert_eq!(created(Excluded(1_000), Unbounded), [1, 3]);
        assert_eq!(created(Included(1_000), Excluded(3_000)), [0, 1, 2]);
        assert_eq!(created(Included(3_000), Included(1_000)), [] as [Row; 0]);
        assert_eq!(
            index.time_range_count(TimeColumn::Created, Unbounded, Included(2_000)),
            3
        );
        assert_eq!(
            rows(&index.time_range(TimeColumn::LastAccess, Unbounded, Unbounded)),
            [0]
        );
        assert_eq!(
            rows(&index.time_range(TimeColumn::Updated, Included(9_000), Unbounded)),
            [2]
        );
        assert_eq!(index.number(66), Some(0));
        assert_eq!(rows(&index.number_range(Included(2), Excluded(4))), [1, 2]);
    }

    #[test]
    fn group_in_and_team_membership() {
        let index = Indexes::build(&empire());
        assert_eq!(
            rows(&index.group_direct(GroupIdx(0)).to_bitmap()),
            [] as [Row; 0]
        );
        assert_eq!(
            rows(&index.group_transitive(GroupIdx(0)).to_bitmap()),
            [0, 1, 2]
        );
        assert_eq!(index.group_ancestors(GroupIdx(2)), [GroupIdx(0)]);
        assert_eq!(
            index.group_descendants(GroupIdx(0)),
            [GroupIdx(1), GroupIdx(2)]
        );
        assert_eq!(rows(&index.team_members(TeamIdx(0)).to_bitmap()), [0, 3]);
        assert_eq!(
            rows(&index.group_direct(GroupIdx(99)).to_bitmap()),
            [] as [Row; 0]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// hub-query.md `access(…)` and `ownRole:`; dialects.md `without_projects`
// ---------------------------------------------------------------------------------------------

mod access {
    use super::*;

    #[test]
    fn project_access_counts_project_organization_and_global_grants() {
        let index = Indexes::build(&empire());
        let developer = [RoleIdx(0)];
        // vader: project grant; tarkin + tk421: group grant on the organization.
        assert_eq!(
            rows(&index.access(AccessScope::Project(ProjectIdx(0)), Some(&developer))),
            [0, 1, 2]
        );
        // tarkin's global observer grant covers every project.
        assert_eq!(
            rows(&index.access(AccessScope::Project(ProjectIdx(1)), None)),
            [0, 1, 3]
        );
    }

    #[test]
    fn organization_access_ignores_project_grants_inside_it() {
        let index = Indexes::build(&empire());
        assert_eq!(
            rows(&index.access(AccessScope::Organization(OrgIdx(0)), Some(&[RoleIdx(0)]))),
            [1, 2]
        );
    }

    #[test]
    fn permission_reaches_roles_containing_it() {
        let index = Indexes::build(&empire());
        assert_eq!(index.roles_with_permission(PermissionIdx(0)), [RoleIdx(0)]);
        assert_eq!(rows(&index.own_role(RoleIdx(0)).to_bitmap()), [0]);
        assert_eq!(rows(&index.own_role(RoleIdx(1)).to_bitmap()), [1]);
        assert_eq!(rows(index.flag(Flag::HasOwnRole)), [0, 1]);
    }

    #[test]
    fn without_projects_is_the_complement_of_in_any_project() {
        let index = Indexes::build(&empire());
        assert_eq!(rows(&index.in_any_project().to_bitmap()), [0, 1, 2, 3]);
        let mut model = empire();
        model.projects.clear();
        model.grants.retain(|g| g.scope == Scope::Global);
        let index = Indexes::build(&model);
        assert_eq!(rows(&index.in_any_project().to_bitmap()), [] as [Row; 0]);
    }
}

// ---------------------------------------------------------------------------------------------
// hub-query.md "Entity references" and "Request options" (orderBy)
// ---------------------------------------------------------------------------------------------

mod references_and_order {
    use super::*;

    #[test]
    fn references_resolve_by_id_then_key_then_name() {
        let index = Indexes::build(&empire());
        assert_eq!(index.resolve_project("p-other"), [ProjectIdx(1)]);
        assert_eq!(index.resolve_project("ds"), [ProjectIdx(0)]);
        assert_eq!(index.resolve_project("death  STAR"), [ProjectIdx(0)]);
        assert_eq!(index.resolve_group("army"), [GroupIdx(0)]);
        assert_eq!(index.resolve_role("developer"), [RoleIdx(0)]);
        assert_eq!(index.resolve_permission("read issue"), [PermissionIdx(0)]);
        assert_eq!(index.resolve_service("YOUTRACK"), [ServiceIdx(0)]);
        assert_eq!(index.resolve_team("t-ds"), [TeamIdx(0)]);
        assert_eq!(index.resolve_organization("nope"), [] as [OrgIdx; 0]);
    }

    #[test]
    fn order_breaks_ties_by_id_and_puts_missing_values_last_both_ways() {
        let index = Indexes::build(&empire());
        // Created: vader 1000 (u-vader), tk421 1000 (u-tk421), tarkin 2000, luke 3000.
        assert_eq!(index.order(SortKey::Created, false), [2, 0, 1, 3]);
        assert_eq!(index.order(SortKey::Created, true), [3, 1, 2, 0]);
        // Email: vader, tk421 have one; luke ("a-luke") sorts before tarkin by id.
        assert_eq!(index.order(SortKey::Email, false), [2, 0, 3, 1]);
        assert_eq!(index.order(SortKey::Email, true), [0, 2, 3, 1]);
        assert_eq!(index.order(SortKey::Login, false), [3, 1, 2, 0]);
        assert_eq!(index.rank(SortKey::Login, false), [3, 1, 2, 0]);
    }

    #[test]
    fn stats_name_every_index() {
        let index = Indexes::build(&empire());
        index.order(SortKey::Login, false);
        let stats = index.stats();
        let orders = stats.iter().find(|s| s.name == "orders").map(|s| s.entries);
        assert_eq!(orders, Some(1));
        assert!(stats
            .iter()
            .any(|s| s.name == "trigrams.name" && s.entries > 0));
        assert!(stats.iter().all(|s| !s.name.is_empty()));
    }
}

// ---------------------------------------------------------------------------------------------
// Property test: every index agrees with a brute-force oracle over `model.users`.
// ---------------------------------------------------------------------------------------------

const SYLLABLES: [&str; 10] = ["ab", "Ba", "cé", "ÉC", "da", "\tX", "ö", "Ab ", " ab", "ß"];

fn word(rng: &mut ChaCha8Rng, max: usize) -> String {
    let count = rng.gen_range(0..=max);
    (0..count)
        .map(|_| *SYLLABLES.choose(rng).unwrap_or(&"a"))
        .collect()
}

fn maybe<T>(rng: &mut ChaCha8Rng, value: impl FnOnce(&mut ChaCha8Rng) -> T) -> Option<T> {
    rng.gen_bool(0.6).then(|| value(rng))
}

fn subset<T: Copy>(rng: &mut ChaCha8Rng, items: &[T], p: f64) -> Vec<T> {
    items.iter().copied().filter(|_| rng.gen_bool(p)).collect()
}

fn entity_name(rng: &mut ChaCha8Rng, ids: &[&str]) -> String {
    // Names sometimes collide with each other (several matches) or with another entity's id.
    let pool = ["Alpha", "alpha ", "Beta", "ÉTÉ"];
    if rng.gen_bool(0.2) {
        ids.choose(rng).map_or("x".into(), |s| s.to_string())
    } else {
        pool.choose(rng).unwrap_or(&"x").to_string()
    }
}

fn random_model(seed: u64) -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let user_count = rng.gen_range(0..40usize);
    let group_count = rng.gen_range(0..7usize);
    let org_count = rng.gen_range(0..3usize);
    let project_count = rng.gen_range(0..4usize);
    let role_count = rng.gen_range(1..4usize);
    let permission_count = rng.gen_range(0..4usize);
    let service_count = rng.gen_range(0..3usize);
    let team_count = rng.gen_range(0..3usize);

    let ids = |prefix: &str, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    };
    let group_ids = ids("g", group_count);
    let all_ids: Vec<&str> = ["g0", "p1", "o0", "r0"].to_vec();

    // A forest with parents among earlier groups, then indices shuffled so that a child may
    // come before its parent.
    let mut parents: Vec<Option<usize>> = (0..group_count)
        .map(|i| (i > 0 && rng.gen_bool(0.7)).then(|| rng.gen_range(0..i)))
        .collect();
    let mut permutation: Vec<usize> = (0..group_count).collect();
    permutation.shuffle(&mut rng);
    let mut groups: Vec<Option<Group>> = vec![None; group_count];
    for old in 0..group_count {
        let parent = parents[old].take().map(|p| GroupIdx(permutation[p] as u32));
        groups[permutation[old]] = Some(Group {
            id: group_ids[old].clone(),
            name: entity_name(&mut rng, &all_ids),
            parent,
        });
    }
    let groups: Vec<Group> = groups.into_iter().flatten().collect();

    let organizations = (0..org_count)
        .map(|i| Organization {
            id: format!("o{i}"),
            name: entity_name(&mut rng, &all_ids),
        })
        .collect();
    let projects = (0..project_count)
        .map(|i| Project {
            id: format!("p{i}"),
            name: entity_name(&mut rng, &all_ids),
            key: maybe(&mut rng, |r| {
                ["DS", "ds", "Alpha", "g0"]
                    .choose(r)
                    .unwrap_or(&"k")
                    .to_string()
            }),
            organization: (org_count > 0 && rng.gen_bool(0.7))
                .then(|| OrgIdx(rng.gen_range(0..org_count) as u32)),
        })
        .collect();
    let permission_idx: Vec<PermissionIdx> =
        (0..permission_count as u32).map(PermissionIdx).collect();
    let permissions = (0..permission_count)
        .map(|i| Permission {
            id: format!("perm{i}"),
            name: entity_name(&mut rng, &all_ids),
        })
        .collect();
    let roles = (0..role_count)
        .map(|i| Role {
            id: format!("r{i}"),
            name: entity_name(&mut rng, &all_ids),
            permissions: subset(&mut rng, &permission_idx, 0.5),
        })
        .collect();
    let services = (0..service_count)
        .map(|i| Service {
            id: format!("s{i}"),
            name: entity_name(&mut rng, &all_ids),
        })
        .collect();
    let group_idx: Vec<GroupIdx> = (0..group_count as u32).map(GroupIdx).collect();
    let org_idx: Vec<OrgIdx> = (0..org_count as u32).map(OrgIdx).collect();
    let service_idx: Vec<ServiceIdx> = (0..service_count as u32).map(ServiceIdx).collect();
    let all_rows: Vec<Row> = (0..user_count as u32).collect();
    let teams = (0..team_count)
        .map(|i| Team {
            id: format!("t{i}"),
            name: entity_name(&mut rng, &all_ids),
            project: None,
            users: subset(&mut rng, &all_rows, 0.2),
            groups: subset(&mut rng, &group_idx, 0.3),
        })
        .collect();

    let mut numbers: Vec<u64> = (1..=(user_count as u64 * 2 + 1)).collect();
    numbers.shuffle(&mut rng);
    let types = [
        "human",
        "Service account",
        "project_bot",
        "bot",
        "ghost",
        "service_user",
        "SUPPORT-BOT",
    ];
    let modules = [
        "core", "ldap", "google", "openid", "ldaps", "github", "CORE", " Ldap", "Google", "OpenID",
    ];
    let users = (0..user_count)
        .map(|i| {
            let mut u = user(
                &format!("{}{i}", word(&mut rng, 1)),
                &format!("{}{i}", word(&mut rng, 3)),
            );
            u.number = numbers[i];
            u.name = (maybe(&mut rng, |r| word(r, 4))).map(Into::into);
            u.email =
                (maybe(&mut rng, |r| format!("{}@{}", word(r, 2), word(r, 1)))).map(Into::into);
            u.email_verified = rng.gen_bool(0.5);
            u.public_email = (maybe(&mut rng, |r| format!("{}@P", word(r, 2)))).map(Into::into);
            u.emails = (0..rng.gen_range(0..3))
                .map(|_| format!("{}@s", word(&mut rng, 2)))
                .collect();
            u.state = *State::ALL.choose(&mut rng).unwrap_or(&State::Active);
            u.admin = rng.gen_bool(0.3);
            u.guest = rng.gen_bool(0.1);
            u.external = rng.gen_bool(0.3);
            u.two_factor = rng.gen_bool(0.3);
            u.two_factor_capable = rng.gen_bool(0.3);
            u.refresh_token = rng.gen_bool(0.3);
            u.permanent_token = rng.gen_bool(0.3);
            u.approved_resource = rng.gen_bool(0.3);
            u.accepted_eua = rng.gen_bool(0.3);
            u.user_type = (types.choose(&mut rng).unwrap_or(&"human").to_string()).into();
            u.created_at = rng.gen_range(0..6) * 10;
            u.updated_at = maybe(&mut rng, |r| r.gen_range(0..8) * 10).into();
            let last_access = maybe(&mut rng, |r| r.gen_range(0..6) * 10).into();
            u.ban = maybe(&mut rng, |r| Ban {
                status: maybe(r, |r| {
                    ["Spam", " spam", "Abuse"]
                        .choose(r)
                        .unwrap_or(&"x")
                        .to_string()
                }),
                reason: None,
                at: None,
            })
            .map(Box::new);
            u.auth = (0..rng.gen_range(0..3))
                .map(|_| AuthDetail {
                    module: (modules.choose(&mut rng).unwrap_or(&"core").to_string()).into(),
                    module_name: (maybe(&mut rng, |r| {
                        ["Corporate LDAP", "corporate  ldap", "Google"]
                            .choose(r)
                            .unwrap_or(&"x")
                            .to_string()
                    }))
                    .map(Into::into),
                    login: (maybe(&mut rng, |r| word(r, 2))).map(Into::into),
                    name: (maybe(&mut rng, |r| word(r, 2))).map(Into::into),
                    email: (maybe(&mut rng, |r| format!("{}@a", word(r, 1)))).map(Into::into),
                    uid: (maybe(&mut rng, |r| word(r, 2))).map(Into::into),
                    saml_provider_id: None,
                })
                .collect();
            u.ssh_keys = (0..rng.gen_range(0..3))
                .map(|_| SshKey {
                    title: None,
                    key: format!(
                        "ssh-ed25519 AAA{} c{}",
                        word(&mut rng, 1),
                        word(&mut rng, 1)
                    )
                    .into(),
                    fingerprint: (maybe(&mut rng, |r| format!("SHA256:{}", word(r, 1))))
                        .map(Into::into),
                })
                .collect();
            u.licenses = subset(&mut rng, &service_idx, 0.4).into();
            u.vcs_user_names = (0..rng.gen_range(0..2))
                .map(|_| word(&mut rng, 2))
                .collect();
            u.origin_service = (service_count > 0 && rng.gen_bool(0.4))
                .then(|| ServiceIdx(rng.gen_range(0..service_count) as u32));
            u.groups = subset(&mut rng, &group_idx, 0.25)
                .into_iter()
                .map(|group| Membership {
                    group,
                    access: None,
                })
                .collect();
            u.organizations = subset(&mut rng, &org_idx, 0.4).into();
            u.enterprise_group = (group_count > 0 && rng.gen_bool(0.3))
                .then(|| GroupIdx(rng.gen_range(0..group_count) as u32));
            (u, last_access)
        })
        .collect();

    let grants = (0..rng.gen_range(0..12))
        .filter_map(|_| {
            let subject = match rng.gen_range(0..3) {
                0 if user_count > 0 => Subject::User(rng.gen_range(0..user_count) as u32),
                1 if group_count > 0 => {
                    Subject::Group(GroupIdx(rng.gen_range(0..group_count) as u32))
                }
                2 if team_count > 0 => Subject::Team(TeamIdx(rng.gen_range(0..team_count) as u32)),
                _ => return None,
            };
            let scope = match rng.gen_range(0..3) {
                1 if org_count > 0 => {
                    Scope::Organization(OrgIdx(rng.gen_range(0..org_count) as u32))
                }
                2 if project_count > 0 => {
                    Scope::Project(ProjectIdx(rng.gen_range(0..project_count) as u32))
                }
                _ => Scope::Global,
            };
            Some(Grant {
                role: RoleIdx(rng.gen_range(0..role_count) as u32),
                subject,
                scope,
            })
        })
        .collect();

    Model {
        services,
        permissions,
        roles,
        organizations,
        projects,
        groups: groups.into(),
        teams,
        grants,
        users,
    }
}

/// Brute-force definitions, straight from the spec, over `model.users`.
mod oracle {
    use super::*;

    pub fn filter(model: &Model, keep: impl Fn(&User) -> bool) -> RoaringBitmap {
        set_of(
            model
                .users
                .iter()
                .map(|(r, u)| (r as usize, u))
                .filter(|(_, u)| keep(u))
                .map(|(row, _)| row as Row),
        )
    }

    fn folded_eq(a: &str, b: &str) -> bool {
        fold(a) == fold(b)
    }

    pub fn term(model: &Model, field: TermField, value: &str) -> RoaringBitmap {
        filter(model, |u| match field {
            TermField::Id => &*u.id == value,
            TermField::Login => folded_eq(&u.login, value),
            TermField::Email => u
                .email
                .as_deref()
                .into_iter()
                .chain(u.emails.iter().map(String::as_str))
                .any(|e| folded_eq(e, value)),
            TermField::PrimaryEmail => u.email.iter().any(|e| folded_eq(e, value)),
            TermField::PublicEmail => u.public_email.iter().any(|e| folded_eq(e, value)),
            TermField::Name => u.name.iter().any(|e| folded_eq(e, value)),
            TermField::AuthModule => u.auth.iter().any(|a| {
                folded_eq(a.module, value) || a.module_name.iter().any(|m| folded_eq(m, value))
            }),
            TermField::AuthModuleType => u.auth.iter().any(|a| folded_eq(a.module, value)),
            TermField::AuthLogin => u
                .auth
                .iter()
                .filter_map(|a| a.login)
                .any(|v| folded_eq(v, value)),
            TermField::AuthName => u
                .auth
                .iter()
                .filter_map(|a| a.name)
                .any(|v| folded_eq(v, value)),
            TermField::AuthEmail => u
                .auth
                .iter()
                .filter_map(|a| a.email)
                .any(|v| folded_eq(v, value)),
            TermField::AuthUid => u.auth.iter().any(|a| a.uid == Some(value)),
            TermField::GoogleId => u
                .auth
                .iter()
                .any(|a| fold(a.module) == "google" && a.uid == Some(value)),
            TermField::OpenId => u
                .auth
                .iter()
                .any(|a| fold(a.module) == "openid" && a.uid == Some(value)),
            TermField::VcsUserName => u.vcs_user_names.iter().any(|v| folded_eq(v, value)),
            TermField::SshKey => u.ssh_keys.iter().any(|k| {
                k.key == value
                    || k.key.split_whitespace().nth(1) == Some(value)
                    || k.fingerprint == Some(value)
            }),
            TermField::OriginService => u.origin_service.is_some_and(|s| {
                resolve(
                    model
                        .services
                        .iter()
                        .map(|s| (s.id.as_str(), None, s.name.as_str())),
                    value,
                )
                .contains(&s.0)
            }),
            TermField::BanStatus => u
                .ban
                .as_ref()
                .and_then(|b| b.status.as_deref())
                .is_some_and(|s| folded_eq(s, value)),
            TermField::UserType => fold_user_type(&u.user_type) == fold_user_type(value),
        })
    }

    pub fn text_values(u: &User, field: TextField) -> Vec<String> {
        match field {
            TextField::Login => vec![u.login.to_string()],
            TextField::Name => u.name.iter().map(|s| s.to_string()).collect(),
            TextField::PrimaryEmail => u.email.iter().map(|s| s.to_string()).collect(),
            TextField::SecondaryEmail => u.emails.clone().into_vec(),
            TextField::PublicEmail => u.public_email.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn substring(model: &Model, field: TextField, needle: &str) -> RoaringBitmap {
        let needle = fold(needle);
        filter(model, |u| {
            text_values(u, field)
                .iter()
                .any(|v| fold(v).contains(&needle))
        })
    }

    pub fn prefix(model: &Model, field: PrefixField, prefix: &str) -> RoaringBitmap {
        let prefix = fold(prefix);
        filter(model, |u| {
            let value = match field {
                PrefixField::Login => Some(&u.login),
                PrefixField::Name => u.name.as_ref(),
            };
            value.is_some_and(|v| fold(v).starts_with(&prefix))
        })
    }

    pub fn time(model: &Model, row: usize, column: TimeColumn) -> Option<Millis> {
        let u = &model.users[row];
        match column {
            TimeColumn::Created => Some(u.created_at),
            TimeColumn::LastAccess => model.users.last_access(row),
            TimeColumn::Updated => Some(u.updated_at.get().unwrap_or(u.created_at)),
        }
    }

    pub fn flag(model: &Model, row: usize, flag: Flag) -> bool {
        let u = &model.users[row];
        let t = fold_user_type(&u.user_type);
        match flag {
            Flag::Admin => u.admin,
            Flag::Guest => u.guest,
            Flag::External => u.external,
            Flag::TwoFactor => u.two_factor,
            Flag::TwoFactorCapable => u.two_factor_capable,
            Flag::RefreshToken => u.refresh_token,
            Flag::PermanentToken => u.permanent_token,
            Flag::ApprovedResource => u.approved_resource,
            Flag::AcceptedEua => u.accepted_eua,
            Flag::HasEmail => u.email.is_some(),
            Flag::VerifiedEmail => u.email.is_some() && u.email_verified,
            Flag::HasPublicEmail => u.public_email.is_some(),
            Flag::HasLastAccess => model.users.last_access(row).is_some(),
            Flag::HasOwnRole => model
                .grants
                .iter()
                .any(|g| g.subject == Subject::User(row as u32)),
            Flag::HasGroup => !u.groups.is_empty(),
            Flag::HasAuth => !u.auth.is_empty(),
            Flag::HasCoreAuth => u.auth.iter().any(|a| fold(a.module) == "core"),
            Flag::HasSshKey => !u.ssh_keys.is_empty(),
            Flag::HasLicense => !u.licenses.is_empty(),
            Flag::HasOriginService => u.origin_service.is_some(),
            Flag::Bot => [
                "bot",
                "alert_bot",
                "project_bot",
                "support_bot",
                "visual_review_bot",
                "security_bot",
                "automation_bot",
                "security_policy_bot",
                "admin_bot",
                "service_account",
                "duo_code_review_bot",
            ]
            .iter()
            .any(|b| fold_user_type(b) == t),
            Flag::Internal => !["human", "project_bot", "service_user", "service_account"]
                .iter()
                .any(|b| fold_user_type(b) == t),
            Flag::Human => t == "human",
            Flag::ProjectBot => t == "projectbot",
            Flag::Banned => u.ban.is_some(),
            Flag::HasLdapAuth => u.auth.iter().any(|a| fold(a.module).starts_with("ldap")),
        }
    }

    /// `g` and its ancestors.
    pub fn self_and_ancestors(model: &Model, g: GroupIdx) -> Vec<GroupIdx> {
        let mut chain = vec![g];
        let mut next = model.groups[g.index()].parent;
        while let Some(p) = next {
            chain.push(p);
            next = model.groups[p.index()].parent;
        }
        chain
    }

    pub fn transitive(model: &Model, g: GroupIdx) -> RoaringBitmap {
        filter(model, |u| {
            u.groups
                .iter()
                .any(|m| self_and_ancestors(model, m.group).contains(&g))
        })
    }

    pub fn team(model: &Model, t: TeamIdx) -> RoaringBitmap {
        let team = &model.teams[t.index()];
        let mut members = set_of(team.users.iter().copied());
        for g in &team.groups {
            members |= transitive(model, *g);
        }
        members
    }

    pub fn access(model: &Model, scope: AccessScope, roles: Option<&[RoleIdx]>) -> RoaringBitmap {
        let mut result = RoaringBitmap::new();
        for grant in &model.grants {
            if roles.is_some_and(|roles| !roles.contains(&grant.role)) {
                continue;
            }
            let covers = match (scope, grant.scope) {
                (AccessScope::Any, _) | (_, Scope::Global) => true,
                (AccessScope::Project(p), Scope::Project(q)) => p == q,
                (AccessScope::Project(p), Scope::Organization(o)) => {
                    model.projects[p.index()].organization == Some(o)
                }
                (AccessScope::Organization(o), Scope::Organization(q)) => o == q,
                (AccessScope::Organization(_), Scope::Project(_)) => false,
            };
            if !covers {
                continue;
            }
            result |= match grant.subject {
                Subject::User(row) => set_of([row]),
                Subject::Group(g) => transitive(model, g),
                Subject::Team(t) => team(model, t),
            };
        }
        result
    }

    /// (id, key, name) of an entity.
    type Entity<'a> = (&'a str, Option<&'a str>, &'a str);

    pub fn resolve<'a>(
        entities: impl Iterator<Item = (&'a str, Option<&'a str>, &'a str)> + Clone,
        reference: &str,
    ) -> Vec<u32> {
        let by = |pick: &dyn Fn(&Entity) -> bool| -> Vec<u32> {
            entities
                .clone()
                .enumerate()
                .filter(|(_, e)| pick(e))
                .map(|(i, _)| i as u32)
                .collect()
        };
        let by_id = by(&|e| e.0 == reference);
        if !by_id.is_empty() {
            return by_id;
        }
        let by_key = by(&|e| e.1.is_some_and(|k| fold(k) == fold(reference)));
        if !by_key.is_empty() {
            return by_key;
        }
        by(&|e| fold(e.2) == fold(reference))
    }

    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    pub enum Key {
        Text(String),
        Time(i64),
        Number(u64),
    }

    pub fn sort_key(model: &Model, row: usize, key: SortKey) -> Option<Key> {
        let u = &model.users[row];
        match key {
            SortKey::Login => Some(Key::Text(fold(&u.login))),
            SortKey::Name => u.name.as_deref().map(|v| Key::Text(fold(v))),
            SortKey::Email => u.email.as_deref().map(|v| Key::Text(fold(v))),
            SortKey::Id => Some(Key::Text(u.id.to_string())),
            SortKey::Created => Some(Key::Time(u.created_at)),
            SortKey::LastAccess => model.users.last_access(row).map(Key::Time),
            SortKey::Updated => Some(Key::Time(u.updated_at.get().unwrap_or(u.created_at))),
            SortKey::Number => Some(Key::Number(u.number)),
        }
    }

    pub fn order(model: &Model, key: SortKey, descending: bool) -> Vec<Row> {
        let mut rows: Vec<Row> = (0..model.users.count() as u32).collect();
        rows.sort_by(|&a, &b| {
            let (ua, ub) = (&model.users[a as usize], &model.users[b as usize]);
            let by_id = ua.id.cmp(&ub.id);
            match (
                sort_key(model, a as usize, key),
                sort_key(model, b as usize, key),
            ) {
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => by_id,
                (Some(x), Some(y)) => {
                    let by_key = if descending { y.cmp(&x) } else { x.cmp(&y) };
                    by_key.then(by_id)
                }
            }
        });
        rows
    }
}

/// Values worth querying: every value present in the model, variants of them, and noise.
fn probe_values(model: &Model, pick: impl Fn(&User) -> Vec<String>) -> Vec<String> {
    let mut values: Vec<String> = model.users.records().flat_map(pick).collect();
    let variants: Vec<String> = values
        .iter()
        .flat_map(|v| {
            [
                v.to_uppercase(),
                format!(" {v} "),
                v.chars().take(2).collect(),
            ]
        })
        .collect();
    values.extend(variants);
    values.extend(["", "a", "zz", "ab", "ÉC", "xyz"].map(String::from));
    values.sort();
    values.dedup();
    values.truncate(60);
    values
}

fn term_values(u: &User, field: TermField) -> Vec<String> {
    let opt = |v: &Option<Box<str>>| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match field {
        TermField::Id => vec![u.id.to_string()],
        TermField::Login => vec![u.login.to_string()],
        TermField::Email => opt(&u.email)
            .into_iter()
            .chain(u.emails.iter().cloned())
            .collect(),
        TermField::PrimaryEmail => opt(&u.email),
        TermField::PublicEmail => opt(&u.public_email),
        TermField::Name => opt(&u.name),
        TermField::AuthModule | TermField::AuthModuleType => u
            .auth
            .iter()
            .flat_map(|a| {
                std::iter::once(a.module.to_string()).chain(a.module_name.map(String::from))
            })
            .collect(),
        TermField::AuthLogin => u
            .auth
            .iter()
            .flat_map(|a| a.login.map(String::from))
            .collect(),
        TermField::AuthName => u
            .auth
            .iter()
            .flat_map(|a| a.name.map(String::from))
            .collect(),
        TermField::AuthEmail => u
            .auth
            .iter()
            .flat_map(|a| a.email.map(String::from))
            .collect(),
        TermField::AuthUid | TermField::GoogleId | TermField::OpenId => u
            .auth
            .iter()
            .flat_map(|a| a.uid.map(String::from))
            .collect(),
        TermField::VcsUserName => u.vcs_user_names.clone().into_vec(),
        TermField::SshKey => u
            .ssh_keys
            .iter()
            .flat_map(|k| {
                [
                    Some(k.key.to_string()),
                    k.key.split_whitespace().nth(1).map(String::from),
                    k.fingerprint.map(Into::into),
                ]
            })
            .flatten()
            .collect(),
        TermField::OriginService => vec!["s0".into(), "s1".into(), "alpha".into()],
        TermField::BanStatus => u.ban.iter().filter_map(|b| b.status.clone()).collect(),
        TermField::UserType => vec![u.user_type.to_string()],
    }
}

fn bounds(values: &[i64]) -> Vec<Bound<i64>> {
    let mut out = vec![Bound::Unbounded];
    for &v in values.iter().take(4) {
        for w in [v - 1, v, v + 1] {
            out.push(Bound::Included(w));
            out.push(Bound::Excluded(w));
        }
    }
    out
}

fn check_model(model: &Model) -> Result<(), TestCaseError> {
    let index = Indexes::build(model);
    let n = model.users.count() as u32;
    prop_assert_eq!(index.user_count(), n);
    prop_assert_eq!(index.all(), &set_of(0..n));

    for field in TermField::ALL {
        for value in probe_values(model, |u| term_values(u, field)) {
            let expected = oracle::term(model, field, &value);
            prop_assert_eq!(
                &index.term(field, &value),
                &expected,
                "{:?} {:?}",
                field,
                value
            );
            let count = index.term_count(field, &value);
            prop_assert!(count >= expected.len(), "{:?} {:?}", field, value);
            if !matches!(
                field,
                TermField::Email | TermField::AuthModule | TermField::OriginService
            ) {
                prop_assert_eq!(count, expected.len(), "{:?} {:?}", field, value);
            }
        }
    }
    for (row, u) in model.users.iter().map(|(r, u)| (r as usize, u)) {
        prop_assert_eq!(index.row_of_id(&u.id), Some(row as Row));
        prop_assert_eq!(
            index.row_of_login(&u.login.to_ascii_uppercase()),
            Some(row as Row)
        );
        prop_assert_eq!(index.number(u.number), Some(row as Row));
    }

    for field in [PrefixField::Login, PrefixField::Name] {
        let values = probe_values(model, |u| {
            let v = match field {
                PrefixField::Login => Some(u.login.to_string()),
                PrefixField::Name => u.name.as_deref().map(str::to_owned),
            };
            v.into_iter()
                .flat_map(|v| [v.chars().take(1).collect(), v.chars().take(3).collect(), v])
                .collect()
        });
        for value in values {
            let expected = oracle::prefix(model, field, &value);
            prop_assert_eq!(
                &index.prefix(field, &value),
                &expected,
                "{:?} {:?}",
                field,
                value
            );
            prop_assert_eq!(index.prefix_count(field, &value), expected.len());
        }
    }

    for field in TextField::ALL {
        let values = probe_values(model, |u| {
            oracle::text_values(u, field)
                .into_iter()
                .flat_map(|v| {
                    let chars: Vec<char> = v.chars().collect();
                    let mid = chars.len() / 3;
                    [
                        chars.iter().skip(mid).take(1).collect::<String>(),
                        chars.iter().skip(mid).take(2).collect(),
                        chars.iter().skip(mid).take(4).collect(),
                        v.clone(),
                    ]
                })
                .collect()
        });
        for value in values {
            let expected = oracle::substring(model, field, &value);
            prop_assert_eq!(
                &index.substring(field, &value),
                &expected,
                "{:?} {:?}",
                field,
                value
            );
            prop_assert!(index.substring_estimate(field, &value) >= expected.len());
        }
    }

    for column in [
        TimeColumn::Created,
        TimeColumn::LastAccess,
        TimeColumn::Updated,
    ] {
        let values: Vec<i64> = model
            .users
            .iter()
            .filter_map(|(row, _)| oracle::time(model, row as usize, column))
            .collect();
        let all_bounds = bounds(&values);
        for lo in &all_bounds {
            for hi in &all_bounds {
                let expected: RoaringBitmap = model
                    .users
                    .iter()
                    .map(|(row, _)| row)
                    .filter(|&row| {
                        oracle::time(model, row as usize, column)
                            .is_some_and(|t| (*lo, *hi).contains(&t))
                    })
                    .collect();
                prop_assert_eq!(&index.time_range(column, *lo, *hi), &expected);
                prop_assert_eq!(index.time_range_count(column, *lo, *hi), expected.len());
            }
        }
    }
    let numbers: Vec<i64> = model.users.records().map(|u| u.number as i64).collect();
    for lo in bounds(&numbers) {
        for hi in bounds(&numbers) {
            let to_u64 = |b: Bound<i64>| match b {
                Bound::Included(v) => Bound::Included(v.max(0) as u64),
                Bound::Excluded(v) => Bound::Excluded(v.max(0) as u64),
                Bound::Unbounded => Bound::Unbounded,
            };
            let (lo, hi) = (to_u64(lo), to_u64(hi));
            let expected = oracle::filter(model, |u| (lo, hi).contains(&u.number));
            prop_assert_eq!(&index.number_range(lo, hi), &expected);
        }
    }

    for flag in Flag::ALL {
        let expected = set_of((0..n).filter(|&row| oracle::flag(model, row as usize, flag)));
        prop_assert_eq!(index.flag(flag), &expected, "{:?}", flag);
    }
    for state in State::ALL {
        prop_assert_eq!(
            index.state(state),
            &oracle::filter(model, |u| u.state == state)
        );
    }

    for g in (0..model.groups.len() as u32).map(GroupIdx) {
        let direct = oracle::filter(model, |u| u.groups.iter().any(|m| m.group == g));
        prop_assert_eq!(index.group_direct(g).to_bitmap(), direct);
        prop_assert_eq!(
            index.group_transitive(g).to_bitmap(),
            oracle::transitive(model, g)
        );
        let ancestors = oracle::self_and_ancestors(model, g);
        prop_assert_eq!(index.group_ancestors(g), &ancestors[1..]);
        let descendants: Vec<GroupIdx> = (0..model.groups.len() as u32)
            .map(GroupIdx)
            .filter(|&d| d != g && oracle::self_and_ancestors(model, d).contains(&g))
            .collect();
        prop_assert_eq!(index.group_descendants(g), &descendants[..]);
        prop_assert_eq!(
            index.enterprise_users(g),
            &oracle::filter(model, |u| u.enterprise_group == Some(g))
        );
    }
    for t in (0..model.teams.len() as u32).map(TeamIdx) {
        prop_assert_eq!(index.team_members(t).to_bitmap(), oracle::team(model, t));
    }
    for o in (0..model.organizations.len() as u32).map(OrgIdx) {
        prop_assert_eq!(
            index.org_members(o),
            &oracle::filter(model, |u| u.organizations.contains(&o))
        );
    }
    for s in (0..model.services.len() as u32).map(ServiceIdx) {
        prop_assert_eq!(
            index.license(s),
            &oracle::filter(model, |u| u.licenses.contains(&s))
        );
        prop_assert_eq!(
            index.origin_service(s),
            &oracle::filter(model, |u| u.origin_service == Some(s))
        );
    }

    let role_sets: Vec<Option<Vec<RoleIdx>>> = std::iter::once(None)
        .chain((0..model.roles.len() as u32).map(|r| Some(vec![RoleIdx(r)])))
        .chain(std::iter::once(Some(
            (0..model.roles.len() as u32).map(RoleIdx).collect(),
        )))
        .chain(std::iter::once(Some(vec![RoleIdx(0), RoleIdx(0)])))
        .chain(std::iter::once(Some(Vec::new())))
        .collect();
    let scopes: Vec<AccessScope> = std::iter::once(AccessScope::Any)
        .chain((0..model.projects.len() as u32).map(|p| AccessScope::Project(ProjectIdx(p))))
        .chain((0..model.organizations.len() as u32).map(|o| AccessScope::Organization(OrgIdx(o))))
        .collect();
    for scope in &scopes {
        for roles in &role_sets {
            let expected = oracle::access(model, *scope, roles.as_deref());
            prop_assert_eq!(
                &index.access(*scope, roles.as_deref()),
                &expected,
                "{:?} {:?}",
                scope,
                roles
            );
            prop_assert!(index.access_estimate(*scope, roles.as_deref()) >= expected.len());
        }
    }
    for r in (0..model.roles.len() as u32).map(RoleIdx) {
        let own = set_of(model.grants.iter().filter_map(|g| match g.subject {
            Subject::User(row) if g.role == r => Some(row),
            _ => None,
        }));
        prop_assert_eq!(index.own_role(r).to_bitmap(), own);
    }
    for p in (0..model.permissions.len() as u32).map(PermissionIdx) {
        let expected: Vec<RoleIdx> = (0..model.roles.len() as u32)
            .map(RoleIdx)
            .filter(|r| model.roles[r.index()].permissions.contains(&p))
            .collect();
        prop_assert_eq!(index.roles_with_permission(p), &expected[..]);
    }
    let mut in_project = RoaringBitmap::new();
    for p in (0..model.projects.len() as u32).map(ProjectIdx) {
        in_project |= oracle::access(model, AccessScope::Project(p), None);
    }
    prop_assert_eq!(index.in_any_project().to_bitmap(), in_project);

    for key in SortKey::ALL {
        for descending in [false, true] {
            let expected = oracle::order(model, key, descending);
            prop_assert_eq!(
                index.order(key, descending),
                &expected[..],
                "{:?} {}",
                key,
                descending
            );
            let rank = index.rank(key, descending);
            for (position, &row) in expected.iter().enumerate() {
                prop_assert_eq!(rank[row as usize], position as u32);
            }
        }
    }

    let references = [
        "g0", "p1", "o0", "r0", "s0", "t0", "perm0", "DS", "ds", "alpha", "ALPHA ", "Beta", "été",
        "nope",
    ];
    for reference in references {
        let project_expected = oracle::resolve(
            model
                .projects
                .iter()
                .map(|p| (p.id.as_str(), p.key.as_deref(), p.name.as_str())),
            reference,
        );
        let got: Vec<u32> = index
            .resolve_project(reference)
            .iter()
            .map(|p| p.0)
            .collect();
        prop_assert_eq!(got, project_expected);
        macro_rules! check {
            ($table:expr, $method:ident) => {{
                let expected = oracle::resolve(
                    $table
                        .iter()
                        .map(|e| (e.id.as_str(), None, e.name.as_str())),
                    reference,
                );
                let got: Vec<u32> = index.$method(reference).iter().map(|e| e.0).collect();
                prop_assert_eq!(got, expected, "{} {:?}", stringify!($method), reference);
            }};
        }
        check!(model.organizations, resolve_organization);
        check!(model.groups, resolve_group);
        check!(model.teams, resolve_team);
        check!(model.roles, resolve_role);
        check!(model.permissions, resolve_permission);
        check!(model.services, resolve_service);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_index_agrees_with_a_scan_of_the_users(seed in any::<u64>()) {
        check_model(&random_model(seed))?;
    }
}

#[test]
fn empty_directory_has_empty_indexes() {
    let index = Indexes::build(&Model::default());
    assert_eq!(index.user_count(), 0);
    assert!(index.all().is_empty());
    assert!(index.order(SortKey::Login, true).is_empty());
    assert!(index.substring(TextField::Name, "a").is_empty());
    assert!(index.access(AccessScope::Any, None).is_empty());
    assert!(index.group_transitive(GroupIdx(0)).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Scale: `cargo test --release -p userql-directory --test index -- --ignored --nocapture`
// ---------------------------------------------------------------------------------------------

/// A synthetic directory of `user_count` users, deterministic (fixed seed), shaped like a company
/// directory: unique logins and emails, shared first/last names, a group forest, some grants.
fn synthetic_model(user_count: usize) -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    const FIRST: [&str; 12] = [
        "Anakin", "Leia", "Han", "Élodie", "Wilhuff", "Padmé", "Luke", "Mara", "Ben", "Rey",
        "Finn", "Poe",
    ];
    const LAST: [&str; 10] = [
        "Skywalker",
        "Organa",
        "Solo",
        "Tarkin",
        "Amidala",
        "Jade",
        "Kenobi",
        "Dameron",
        "Andor",
        "Erso",
    ];
    let group_count = 1_000;
    let groups = (0..group_count)
        .map(|i| Group {
            id: format!("g-{i}"),
            name: format!("Group {i}"),
            parent: (i >= 10).then(|| GroupIdx(rng.gen_range(0..i as u32 / 2))),
        })
        .collect();
    let projects = (0..200)
        .map(|i| Project {
            id: format!("p-{i}"),
            name: format!("Project {i}"),
            key: Some(format!("P{i}")),
            organization: Some(OrgIdx(i % 20)),
        })
        .collect();
    let organizations = (0..20)
        .map(|i| Organization {
            id: format!("o-{i}"),
            name: format!("Org {i}"),
        })
        .collect();
    let roles = (0..20)
        .map(|i| Role {
            id: format!("r-{i}"),
            name: format!("Role {i}"),
            permissions: vec![PermissionIdx(i % 5)],
        })
        .collect();
    let permissions = (0..5)
        .map(|i| Permission {
            id: format!("perm-{i}"),
            name: format!("Permission {i}"),
        })
        .collect();
    let users: Vec<(User, OptionalMillis)> = (0..user_count)
        .map(|i| {
            let first = FIRST[rng.gen_range(0..FIRST.len())];
            let last = LAST[rng.gen_range(0..LAST.len())];
            let mut u = user(
                &format!("u-{:x}", rng.gen::<u64>() ^ i as u64),
                &format!("{}.{}{i}", first.to_lowercase(), last.to_lowercase()),
            );
            u.number = i as u64 + 1;
            u.name = Some(format!("{first} {last}").into());
            u.email = Some(
                format!(
                    "{}.{}{i}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                )
                .into(),
            );
            u.email_verified = rng.gen_bool(0.8);
            if rng.gen_bool(0.3) {
                u.emails = vec![format!("{}{i}@personal.example", last.to_lowercase())].into();
            }
            u.created_at = 1_600_000_000_000 + rng.gen_range(0..200_000_000_000);
            let last_access = rng
                .gen_bool(0.7)
                .then(|| u.created_at + rng.gen_range(0..10_000_000_000))
                .into();
            u.admin = rng.gen_bool(0.01);
            u.two_factor = rng.gen_bool(0.4);
            u.auth = vec![AuthDetail {
                module: if rng.gen_bool(0.5) {
                    "ldap".into()
                } else {
                    "core".into()
                },
                module_name: Some("Corporate LDAP".into()),
                login: Some(format!("user{i}").into()),
                uid: Some(format!("uid-{i}").into()),
                ..Default::default()
            }]
            .into();
            u.groups = (0..rng.gen_range(1..3))
                .map(|_| Membership {
                    group: GroupIdx(rng.gen_range(0..group_count as u32)),
                    access: None,
                })
                .collect();
            (u, last_access)
        })
        .collect();
    let grants = (0..20_000)
        .map(|i| Grant {
            role: RoleIdx(rng.gen_range(0..20)),
            subject: if i % 10 == 0 {
                Subject::Group(GroupIdx(rng.gen_range(0..group_count as u32)))
            } else {
                Subject::User(rng.gen_range(0..user_count as u32))
            },
            scope: match i % 3 {
                0 => Scope::Global,
                1 => Scope::Organization(OrgIdx(rng.gen_range(0..20))),
                _ => Scope::Project(ProjectIdx(rng.gen_range(0..200))),
            },
        })
        .collect();
    Model {
        organizations,
        projects,
        groups,
        roles,
        permissions,
        grants,
        users: users.into(),
        ..Model::default()
    }
}

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// CPU seconds (user + system) this process has used: wall time is meaningless on a machine
/// shared by several builds.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after_name = s.rsplit(") ").next()?.to_owned();
            let fields: Vec<&str> = after_name.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0)
}

#[test]
#[ignore = "scale measurement; run in release"]
fn build_at_one_million_users() {
    let user_count = 1_000_000;
    let started = std::time::Instant::now();
    let model = synthetic_model(user_count);
    println!("model generated in {:?}", started.elapsed());
    let before = resident_bytes();
    let started = std::time::Instant::now();
    let cpu_before = cpu_seconds();
    let index = Indexes::build(&model);
    let build = started.elapsed();
    let build_cpu = cpu_seconds() - cpu_before;
    let after = resident_bytes();
    let stats = index.stats();
    for stat in &stats {
        println!(
            "{:32} {:>12} entries {:>14} bytes",
            stat.name, stat.entries, stat.bytes
        );
    }
    let total: u64 = stats.iter().map(|s| s.bytes).sum();
    println!("build: {build:?} wall, {build_cpu:.2} s CPU");
    println!(
        "stats heap: {total} bytes = {:.1} bytes/user",
        total as f64 / user_count as f64
    );
    println!(
        "RSS growth: {} bytes = {:.1} bytes/user",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / user_count as f64
    );
    let started = std::time::Instant::now();
    let order = index.order(SortKey::Name, true);
    println!("order(name, desc) built in {:?}", started.elapsed());
    assert_eq!(order.len(), user_count);
    let started = std::time::Instant::now();
    let hits = index.substring(TextField::Name, "sky");
    println!(
        "substring(name, sky): {} rows in {:?}",
        hits.len(),
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let hits = index.substring(TextField::PrimaryEmail, "ker12345");
    println!(
        "substring(email, ker12345): {} rows in {:?}",
        hits.len(),
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let hits = index.prefix(PrefixField::Login, "leia.s");
    println!(
        "prefix(login, leia.s): {} rows in {:?}",
        hits.len(),
        started.elapsed()
    );
    assert_eq!(index.user_count() as usize, user_count);
}

/// Wide ranges over a large directory go through the block bitmaps (`index/blocks.rs`, used
/// from 16k users); they must equal the direct computation.
#[test]
fn wide_time_and_prefix_ranges_on_a_large_directory_match_a_scan() {
    use std::ops::Bound;
    use userql_directory::generate::{generate, GenOptions};
    use userql_directory::index::{PrefixField, TimeColumn};
    use userql_directory::text::fold;

    let model = generate(&GenOptions {
        users: 40_000,
        seed: 11,
    });
    let index = Indexes::build(&model);
    let day = 86_400_000i64;
    let now = userql_directory::generate::GEN_NOW_MS;
    for (lo, hi) in [
        (Bound::Included(now - 90 * day), Bound::Unbounded),
        (Bound::Unbounded, Bound::Excluded(now - 400 * day)),
        (
            Bound::Included(now - 2000 * day),
            Bound::Excluded(now - 10 * day),
        ),
        (Bound::Excluded(now - 3 * day), Bound::Included(now)),
    ] {
        for column in [
            TimeColumn::Created,
            TimeColumn::LastAccess,
            TimeColumn::Updated,
        ] {
            let expected: RoaringBitmap = model
                .users
                .iter()
                .map(|(r, u)| (r as usize, u))
                .filter(|&(row, u)| {
                    let value = match column {
                        TimeColumn::Created => Some(u.created_at),
                        TimeColumn::LastAccess => model.users.last_access(row),
                        TimeColumn::Updated => Some(u.updated_or_created()),
                    };
                    value.is_some_and(|v| (lo, hi).contains(&v))
                })
                .map(|(r, _)| r as u32)
                .collect();
            assert_eq!(
                index.time_range(column, lo, hi),
                expected,
                "{column:?} {lo:?} {hi:?}"
            );
        }
    }
    for prefix in ["m", "ma", "mar", "j", "a", "z", ""] {
        for field in [PrefixField::Login, PrefixField::Name] {
            let expected: RoaringBitmap = model
                .users
                .iter()
                .map(|(r, u)| (r as usize, u))
                .filter(|(_, u)| match field {
                    PrefixField::Login => fold(&u.login).starts_with(prefix),
                    PrefixField::Name => {
                        u.name.as_ref().is_some_and(|n| fold(n).starts_with(prefix))
                    }
                })
                .map(|(r, _)| r as u32)
                .collect();
            assert_eq!(
                index.prefix(field, prefix),
                expected,
                "{field:?} {prefix:?}"
            );
        }
    }
}
