//! Every key, tuple, `is:`/`has:` value and extension of hub-query.md on tiny.json, with the
//! expected ids written by hand from the fixture (`--now 2026-06-15T12:00:00Z`, login order).
//! Each answer is also checked against the reference evaluator.

mod common;

use common::*;

#[test]
fn worked_examples() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("in: {Imperial Army}", &["u-finn", "u-tk421", "u-vader"]),
        (
            "access(project: DS, with: Developer)",
            &["u-finn", "u-tarkin", "u-tk421", "u-vader"],
        ),
        (
            "access(organization: {Galactic Empire})",
            &[
                "u-finn", "u-luke", "u-tarkin", "u-tk421", "u-vader", "u-yoda",
            ],
        ),
        (
            "authModule: Google group: {Rogue Squadron} group: Rebels",
            &["u-luke"],
        ),
        (
            "team: {Yavin Team}",
            &["u-leia", "u-luke", "u-r2d2", "u-wedge"],
        ),
        (
            "not has: lastAccess",
            &[
                "u-ackbar", "u-c3po", "u-chewie", "u-ghost", "u-guest", "u-jabba", "u-yoda",
            ],
        ),
        ("created: 2018-01-01 .. 2018-01-01", &["u-chewie", "u-han"]),
        (
            "lastAccess(after: {30 days ago})",
            &[
                "u-finn",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-r2d2",
                "u-vader",
            ],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn identity_keys() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("id: u-vader", &["u-vader"]),
        ("id: U-VADER", &[]),
        ("login: VADER", &["u-vader"]),
        ("username: vader", &["u-vader"]),
        ("loginStartsWith: l", &["u-lando", "u-leia", "u-luke"]),
        ("LOGINSTARTSWITH: tk", &["u-tk421"]),
        ("name: {darth   vader}", &["u-vader"]),
        ("name: Finn", &["u-finn"]),
        ("nameStartsWith: han", &["u-han"]),
        ("nameStartsWith: c", &["u-c3po", "u-chewie"]),
        ("nameStartsWith: fn", &["u-finn"]),
        ("nameStartsWith: w", &["u-tarkin", "u-wedge"]),
        ("email: ANAKIN@jedi.example", &["u-vader"]),
        ("email: vader@empire.example", &["u-vader"]),
        ("email: fn2187@empire.example", &["u-finn"]),
        ("email: nobody@nowhere.example", &[]),
        ("publicEmail: LUKE@rebellion.example", &["u-luke"]),
        ("vcsUserName: ANAKIN", &["u-vader"]),
        ("vcsUserName: yoda", &["u-yoda"]),
        ("number: 66", &["u-vader"]),
        ("number: 1 .. 3", &["u-palpatine", "u-tarkin"]),
        ("number: 19 .. *", &["u-ghost", "u-vader", "u-yoda"]),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn time_keys() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("after: 2026-06-14", &["u-ackbar"]),
        ("after: 2024", &["u-ackbar"]),
        ("after: {2024-12-19T16:59}", &["u-ackbar", "u-finn"]),
        ("after: {2024-12-19T17:00}", &["u-ackbar"]),
        ("before: 2015-01-02", &["u-ghost", "u-guest", "u-yoda"]),
        ("before: {2015-01-01T00:00:01Z}", &["u-guest", "u-yoda"]),
        ("lastAccess(before: 2017-01-02)", &["u-tk421"]),
        (
            "lastAccess(after: 2026-06-01, before: 2026-06-13)",
            &["u-luke", "u-mothma"],
        ),
        (
            "lastAccess(after: 2026-06-01 before: 2026-06-13)",
            &["u-luke", "u-mothma"],
        ),
        ("lastAccess: 2026-06-15 .. *", &["u-finn", "u-r2d2"]),
        ("lastAccess: today", &["u-finn", "u-r2d2"]),
        ("lastAccess: yesterday", &["u-palpatine"]),
        (
            "created: * .. 2015",
            &["u-ghost", "u-guest", "u-palpatine", "u-yoda"],
        ),
        ("created: 2022-02", &["u-piett"]),
        ("created: 2026-06-15 .. 2026-06-14", &[]),
        ("created: 06-15 .. *", &["u-ackbar"]),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn structure_keys() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("ownRole: Observer", &["u-tarkin"]),
        ("ownRole: {Project Admin}", &["u-mothma", "u-piett"]),
        ("ownRole: Developer", &["u-vader"]),
        ("ownRole: darth", &["u-vader"]),
        (
            "group: {Imperial Navy}",
            &["u-piett", "u-tarkin", "u-vader"],
        ),
        ("group: Stormtroopers", &["u-tk421"]),
        ("group: g-501", &["u-finn"]),
        (
            "in: Rebels",
            &[
                "u-ackbar", "u-chewie", "u-han", "u-leia", "u-luke", "u-mothma", "u-r2d2",
                "u-wedge",
            ],
        ),
        (
            "in: {Yavin Team}",
            &["u-leia", "u-luke", "u-r2d2", "u-wedge"],
        ),
        ("in: g-troopers", &["u-finn", "u-tk421"]),
        (
            "team: {Death Star Team}",
            &["u-finn", "u-tarkin", "u-tk421"],
        ),
        ("team: t-yavin", &["u-leia", "u-luke", "u-r2d2", "u-wedge"]),
        (
            "organization: {Rebel Alliance}",
            &["u-leia", "u-luke", "u-mothma"],
        ),
        (
            "organization: o-empire",
            &["u-palpatine", "u-tarkin", "u-vader"],
        ),
        (
            "enterpriseGroup: g-rebels",
            &["u-ackbar", "u-leia", "u-luke", "u-wedge"],
        ),
        (
            "enterpriseGroup: Rebels",
            &["u-ackbar", "u-leia", "u-luke", "u-wedge"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn access_tuples() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        (
            "access(project: {Death Star})",
            &[
                "u-finn", "u-luke", "u-tarkin", "u-tk421", "u-vader", "u-yoda",
            ],
        ),
        (
            "access(project: YB)",
            &[
                "u-ackbar", "u-chewie", "u-han", "u-leia", "u-luke", "u-mothma", "u-r2d2",
                "u-tarkin", "u-vader", "u-wedge", "u-yoda",
            ],
        ),
        ("access(with: {Low-level Admin Read})", &["u-vader"]),
        (
            "access(project: EX, permission: {admin-project})",
            &["u-piett"],
        ),
        (
            "access(project: EX, with: {Administer Project})",
            &["u-piett"],
        ),
        (
            "access(organization: o-rebels, role: Developer)",
            &[
                "u-ackbar", "u-chewie", "u-han", "u-leia", "u-luke", "u-mothma", "u-r2d2",
                "u-wedge",
            ],
        ),
        (
            "access(project: p-ex with: Observer)",
            &[
                "u-finn", "u-luke", "u-tarkin", "u-tk421", "u-vader", "u-yoda",
            ],
        ),
        ("access(with: {Project Admin})", &["u-mothma", "u-piett"]),
        (
            "access(project: DS, EX, with: {Project Admin})",
            &["u-piett"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn auth_keys() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("authModule: Google", &["u-luke"]),
        ("authMethod: ldap", &["u-palpatine", "u-vader", "u-wedge"]),
        ("authModule: {Corporate LDAP}", &["u-vader"]),
        ("authModule: kerberos", &[]),
        ("authLogin: sidious", &["u-palpatine"]),
        ("authUsername: FINN-CODES", &["u-finn"]),
        ("authName: {Darth Sidious}", &["u-palpatine"]),
        ("authEmail: dvader@corp.example", &["u-vader"]),
        ("googleID: 104882910293847", &["u-luke"]),
        ("openID: https://id.example/han", &["u-han"]),
        ("openID: {https://id.example/han}", &["u-han"]),
        ("identity(provider: github, uid: 1977)", &["u-leia"]),
        (
            "identity(provider: ldap)",
            &["u-palpatine", "u-vader", "u-wedge"],
        ),
        ("identity(uid: jba-5531)", &["u-piett"]),
        ("identity(provider: github, uid: jba-5531)", &[]),
        (
            "sshPublicKey: {SHA256:vaderLaptopFingerprint0000000000000000000001}",
            &["u-vader"],
        ),
        (
            "sshPublicKey: AAAAB3NzaC1yc2EAAAADAQABAAABgQLukeXWingKey02",
            &["u-luke"],
        ),
        (
            "sshPublicKey: {ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVaderLaptopKey0001 vader@ds}",
            &["u-vader"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn service_keys() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("originService: TeamCity", &["u-r2d2"]),
        ("originService: youtrack", &["u-c3po"]),
        ("hasLicense: TeamCity", &["u-lando", "u-palpatine"]),
        (
            "hasLicense: YouTrack",
            &["u-c3po", "u-luke", "u-palpatine", "u-piett", "u-vader"],
        ),
        ("banStatus: Permanent", &["u-lando"]),
        ("type: {Service account}", &["u-c3po"]),
        ("type: project-bot", &["u-r2d2"]),
        ("type: GHOST", &["u-ghost"]),
        ("type: alien", &[]),
        ("state: ldap_blocked", &["u-wedge"]),
        (
            "state: ACTIVE, banned",
            &[
                "u-c3po",
                "u-chewie",
                "u-finn",
                "u-ghost",
                "u-guest",
                "u-han",
                "u-lando",
                "u-leia",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-piett",
                "u-r2d2",
                "u-tarkin",
                "u-vader",
                "u-yoda",
            ],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn is_values() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("is: banned", &["u-lando"]),
        ("is: guest", &["u-guest"]),
        (
            "is: supporting2FA",
            &[
                "u-leia",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-tarkin",
                "u-vader",
            ],
        ),
        ("is: admin", &["u-palpatine"]),
        ("is: external", &["u-finn", "u-han"]),
        ("is: bot", &["u-c3po", "u-r2d2"]),
        ("is: internal", &["u-ghost"]),
        (
            "is: suspended",
            &["u-ackbar", "u-jabba", "u-lando", "u-tk421", "u-wedge"],
        ),
        ("is: admin, external", &["u-finn", "u-han", "u-palpatine"]),
        ("is: admin is: external", &[]),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn has_values() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        (
            "has: ownRole",
            &["u-mothma", "u-piett", "u-tarkin", "u-vader"],
        ),
        (
            "has: group",
            &[
                "u-ackbar", "u-chewie", "u-finn", "u-han", "u-leia", "u-luke", "u-mothma",
                "u-piett", "u-r2d2", "u-tarkin", "u-tk421", "u-vader", "u-wedge", "u-yoda",
            ],
        ),
        ("has: 2FA", &["u-leia", "u-luke", "u-palpatine", "u-vader"]),
        (
            "has: authMethod",
            &[
                "u-finn",
                "u-han",
                "u-jabba",
                "u-lando",
                "u-leia",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-piett",
                "u-tarkin",
                "u-tk421",
                "u-vader",
                "u-wedge",
                "u-yoda",
            ],
        ),
        (
            "has: email",
            &[
                "u-ackbar",
                "u-c3po",
                "u-finn",
                "u-han",
                "u-jabba",
                "u-lando",
                "u-leia",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-piett",
                "u-tarkin",
                "u-tk421",
                "u-vader",
                "u-wedge",
                "u-yoda",
            ],
        ),
        (
            "has: verifiedEmail",
            &[
                "u-c3po",
                "u-finn",
                "u-jabba",
                "u-lando",
                "u-leia",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-piett",
                "u-tarkin",
                "u-vader",
                "u-wedge",
                "u-yoda",
            ],
        ),
        ("has: originService", &["u-c3po", "u-r2d2"]),
        (
            "has: login",
            &[
                "u-han",
                "u-jabba",
                "u-lando",
                "u-palpatine",
                "u-tarkin",
                "u-tk421",
                "u-vader",
            ],
        ),
        ("has: sshPublicKey", &["u-luke", "u-vader"]),
        (
            "has: license",
            &[
                "u-c3po",
                "u-lando",
                "u-luke",
                "u-palpatine",
                "u-piett",
                "u-vader",
            ],
        ),
        ("has: {approved resource}", &["u-c3po"]),
        ("has: {refresh token}", &["u-luke"]),
        (
            "has: {permanent token}",
            &["u-c3po", "u-palpatine", "u-vader"],
        ),
        (
            "has: {accepted end-user agreement}",
            &[
                "u-leia",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-tarkin",
                "u-vader",
            ],
        ),
        ("has: publicEmail", &["u-finn", "u-luke", "u-vader"]),
        (
            "has: lastAccess",
            &[
                "u-finn",
                "u-han",
                "u-lando",
                "u-leia",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-piett",
                "u-r2d2",
                "u-tarkin",
                "u-tk421",
                "u-vader",
                "u-wedge",
            ],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn text_and_phrases() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("sky", &["u-luke"]),
        ("anakin", &["u-vader"]),
        ("jedi", &["u-vader", "u-yoda"]),
        ("\"Darth Vader\"", &["u-vader"]),
        ("\"darth  vader\"", &["u-vader"]),
        (
            "rebellion",
            &[
                "u-ackbar", "u-c3po", "u-leia", "u-luke", "u-mothma", "u-wedge",
            ],
        ),
        ("sky walker", &["u-luke"]),
        ("luke sky", &["u-luke"]),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn operators() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        (
            "not state: active or is: admin",
            &[
                "u-ackbar",
                "u-jabba",
                "u-lando",
                "u-palpatine",
                "u-tk421",
                "u-wedge",
            ],
        ),
        ("-is: banned and is: external", &["u-finn", "u-han"]),
        (
            "has: 2FA and not is: admin",
            &["u-leia", "u-luke", "u-vader"],
        ),
        (
            "(group: Rebels or group: {Jedi Order}) and not has: email",
            &["u-chewie"],
        ),
        (
            "group: Rebels group: {Jedi Order}",
            &[
                "u-chewie", "u-han", "u-leia", "u-luke", "u-mothma", "u-ackbar", "u-yoda",
            ],
        ),
        (
            "not (in: Rebels or in: {Imperial Army}) and has: group",
            &["u-piett", "u-tarkin", "u-yoda"],
        ),
        (
            "is: admin or not has: group",
            &[
                "u-c3po",
                "u-ghost",
                "u-guest",
                "u-jabba",
                "u-lando",
                "u-palpatine",
            ],
        ),
        (
            "",
            &[
                "u-ackbar",
                "u-c3po",
                "u-chewie",
                "u-finn",
                "u-ghost",
                "u-guest",
                "u-han",
                "u-jabba",
                "u-lando",
                "u-leia",
                "u-luke",
                "u-mothma",
                "u-palpatine",
                "u-piett",
                "u-r2d2",
                "u-tarkin",
                "u-tk421",
                "u-vader",
                "u-wedge",
                "u-yoda",
            ],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

#[test]
fn dialect_extension_keys() {
    let snapshot = tiny();
    let cases: &[(&str, &[&str])] = &[
        ("loginContains: DA", &["u-yoda"]),
        ("nameContains: {organa}", &["u-leia"]),
        (
            "emailContains: rebellion",
            &[
                "u-ackbar", "u-c3po", "u-leia", "u-luke", "u-mothma", "u-wedge",
            ],
        ),
        ("has: ldapIdentity", &["u-palpatine", "u-vader", "u-wedge"]),
        (
            "has: projectRole",
            &[
                "u-ackbar", "u-chewie", "u-finn", "u-han", "u-leia", "u-luke", "u-mothma",
                "u-piett", "u-r2d2", "u-tarkin", "u-tk421", "u-vader", "u-wedge", "u-yoda",
            ],
        ),
        (
            "not has: projectRole",
            &[
                "u-c3po",
                "u-ghost",
                "u-guest",
                "u-jabba",
                "u-lando",
                "u-palpatine",
            ],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            ids(&snapshot, query),
            sorted_by_login(&snapshot, expected),
            "{query}"
        );
    }
}

/// Expected lists are written in login order except where noted; sorting them here keeps the
/// hand-written lists readable.
fn sorted_by_login(snapshot: &userql_directory::Snapshot, ids: &[&str]) -> Vec<String> {
    let mut rows: Vec<&userql_directory::model::User> = ids
        .iter()
        .map(|id| {
            snapshot
                .model
                .users
                .records()
                .find(|u| *u.id == **id)
                .unwrap_or_else(|| panic!("no user {id}"))
        })
        .collect();
    rows.sort_by_key(|u| u.login.to_lowercase());
    rows.into_iter().map(|u| u.id.to_string()).collect()
}
