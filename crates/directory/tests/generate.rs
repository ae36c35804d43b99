//! benchmark.md "Data": the generator is deterministic, valid, and has the stated proportions.

use userql_directory::generate::{demo, generate, GenOptions, GEN_NOW_MS};
use userql_directory::load::validate;
use userql_directory::model::{Model, State};
use userql_directory::save::{save_json, to_raw};

fn share(model: &Model, pred: impl Fn(&userql_directory::model::User) -> bool) -> f64 {
    model.users.records().filter(|u| pred(u)).count() as f64 / model.users.count() as f64
}

fn near(value: f64, target: f64, tolerance: f64) -> bool {
    (value - target).abs() <= tolerance
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let opts = GenOptions {
        users: 2000,
        seed: 7,
    };
    assert_eq!(save_json(&generate(&opts)), save_json(&generate(&opts)));
    let other = GenOptions {
        users: 2000,
        seed: 8,
    };
    assert_ne!(generate(&opts), generate(&other));
}

#[test]
fn generated_model_passes_validation() {
    let model = generate(&GenOptions {
        users: 5000,
        seed: 42,
    });
    let again = validate(to_raw(&model)).map_err(|e| e.to_string());
    assert_eq!(again, Ok(model));
}

#[test]
fn demo_is_valid_and_covers_rare_keys() {
    let model = demo();
    assert_eq!(model.users.count(), 3000);
    let again = validate(to_raw(&model)).map_err(|e| e.to_string());
    assert_eq!(again.as_ref(), Ok(&model));
    let any =
        |pred: &dyn Fn(&userql_directory::model::User) -> bool| model.users.records().any(pred);
    assert!(
        any(&|u| u
            .auth
            .iter()
            .any(|a| a.module == "google" && a.uid.is_some())),
        "googleID"
    );
    assert!(
        any(&|u| u
            .auth
            .iter()
            .any(|a| a.module == "openid" && a.uid.is_some())),
        "openID"
    );
    assert!(any(&|u| !u.vcs_user_names.is_empty()), "vcsUserName");
    assert!(any(&|u| !u.ssh_keys.is_empty()), "sshPublicKey");
    assert!(any(&|u| !u.licenses.is_empty()), "hasLicense");
    assert!(
        any(&|u| u.ban.as_ref().is_some_and(|b| b.status.is_some())),
        "banStatus"
    );
    assert!(any(&|u| u.origin_service.is_some()), "originService");
    assert!(any(&|u| u.guest), "is: guest");
    assert!(any(&|u| u.refresh_token), "has: refresh token");
    assert!(any(&|u| u.approved_resource), "has: approved resource");
    assert!(any(&|u| u.enterprise_group.is_some()), "enterpriseGroup");
    assert!(any(&|u| u.public_email.is_some()), "publicEmail");
    assert!(any(&|u| !u.organizations.is_empty()), "organization");
    assert!(
        any(&|u| u.groups.iter().any(|m| m.access.is_some())),
        "group access"
    );
    for state in State::ALL {
        assert!(any(&|u| u.state == state), "state {state:?}");
    }
    for user_type in ["service_account", "project_bot", "ghost"] {
        assert!(any(&|u| &*u.user_type == user_type), "type {user_type}");
    }
    assert!(!model.teams.is_empty());
    assert!(model.roles.iter().any(|r| r.name == "Developer"));
}

#[test]
fn proportions_at_20k_users() {
    let model = generate(&GenOptions {
        users: 20_000,
        seed: 42,
    });
    assert_eq!(model.users.count(), 20_000);
    assert!(near(
        share(&model, |u| u.state == State::Active),
        0.90,
        0.02
    ));
    assert!(near(
        share(&model, |u| u.state == State::Deactivated),
        0.06,
        0.01
    ));
    assert!(near(
        share(&model, |u| u.state == State::Blocked),
        0.03,
        0.01
    ));
    assert!(near(
        share(&model, |u| u.state == State::Banned),
        0.01,
        0.005
    ));
    assert!(near(share(&model, |u| u.admin), 0.005, 0.003));
    assert!(near(share(&model, |u| u.two_factor), 0.35, 0.02));
    assert!(near(share(&model, |u| u.external), 0.05, 0.01));
    assert!(near(
        share(&model, |u| &*u.user_type == "service_account"),
        0.01,
        0.004
    ));
    assert!(near(share(&model, |u| !u.emails.is_empty()), 0.10, 0.02));
    let never = model
        .users
        .iter()
        .filter(|&(row, _)| model.users.last_access(row as usize).is_none())
        .count();
    assert!(near(never as f64 / model.users.count() as f64, 0.10, 0.02));
    assert_eq!(model.users.records().filter(|u| u.guest).count(), 1);
    let module = |m: &str| share(&model, |u| u.auth.first().is_some_and(|a| a.module == m));
    assert!(near(module("core"), 0.40, 0.02));
    assert!(near(module("ldap"), 0.20, 0.02));
    assert!(near(module("google"), 0.15, 0.02));
    assert!(near(module("jba"), 0.02, 0.01));
    // Times: within ten years, never after "now", skewed recent.
    assert!(model.users.records().all(|u| u.created_at <= GEN_NOW_MS));
    assert!(model.users.iter().all(|(row, u)| model
        .users
        .last_access(row as usize)
        .is_none_or(|t| t >= u.created_at && t <= GEN_NOW_MS)));
    let recent = share(&model, |u| u.created_at > GEN_NOW_MS - 5 * 365 * 86_400_000);
    assert!(recent > 0.6, "skewed recent: {recent}");
    // Tables scale with N.
    assert_eq!(model.groups.len(), 40);
    assert_eq!(model.projects.len(), 100);
    assert_eq!(model.organizations.len(), 2);
    assert_eq!(model.roles.len(), 20);
    assert_eq!(model.teams.len(), 10);
    assert!(model.groups.iter().filter(|g| g.parent.is_none()).count() >= 2);
    // Substring-heavy names: "smi" hits many users.
    let smi = share(&model, |u| u.login.contains("smi"));
    assert!(smi > 0.02, "smi share {smi}");
    // Direct grants: 40 % of users have none.
    let mut with_grant = vec![false; model.users.count()];
    for grant in &model.grants {
        if let userql_directory::model::Subject::User(row) = grant.subject {
            with_grant[row as usize] = true;
        }
    }
    let none = with_grant.iter().filter(|g| !**g).count() as f64 / model.users.count() as f64;
    assert!(near(none, 0.40, 0.03), "no grants: {none}");
}

/// The benchmark's lookups exist at 1 M users with seed 42, and how long generating, saving and
/// loading take (printed, never asserted). Slow in debug: run
/// `cargo test --release -p userql-directory --test generate -- --ignored --nocapture`.
#[test]
#[ignore]
fn benchmark_lookups_exist_at_one_million() {
    let started = std::time::Instant::now();
    let model = generate(&GenOptions {
        users: 1_000_000,
        seed: 42,
    });
    println!(
        "generate 1M: {:?} ({} grants)",
        started.elapsed(),
        model.grants.len()
    );
    assert!(model
        .users
        .records()
        .any(|u| &*u.login == "petra.hernandez1"));
    assert!(model
        .users
        .records()
        .any(|u| u.email.as_deref() == Some("timothy.herrera6@example.com")));

    let started = std::time::Instant::now();
    let json = save_json(&model);
    println!(
        "save_json: {:?} ({} MB)",
        started.elapsed(),
        json.len() / 1_000_000
    );
    let started = std::time::Instant::now();
    let loaded = userql_directory::load_json(&json).map_err(|e| e.to_string());
    println!("load_json: {:?}", started.elapsed());
    assert!(loaded.as_ref().is_ok_and(|m| *m == model));
    drop((json, loaded));

    let started = std::time::Instant::now();
    let ndjson = userql_directory::save::save_ndjson(&model);
    println!(
        "save_ndjson: {:?} ({} MB)",
        started.elapsed(),
        ndjson.len() / 1_000_000
    );
    let started = std::time::Instant::now();
    let loaded = userql_directory::load_ndjson(&ndjson).map_err(|e| e.to_string());
    println!("load_ndjson: {:?}", started.elapsed());
    assert!(loaded.is_ok_and(|m| m == model));
}
