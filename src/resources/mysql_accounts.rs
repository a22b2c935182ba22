//! Which MySQL accounts a destroyed tenant database takes with it (pure rules, used by
//! `dbaas_shared_mysql_database`'s delete): logins Vault issued for it alone are dropped
//! and their sessions ended; every other account loses what it was granted on the
//! database and keeps the rest; grants whose wildcard pattern reaches other databases
//! too are left and named; sessions inside the database end, whoever holds them.

use crate::backends::mysql::{DatabaseAccess, DatabaseAccount, Session};
use crate::sql::mysql::{
    mysql_lock_account, mysql_revoke_grant, mysql_revoke_proxy, MysqlAccount, MysqlGrant,
    MysqlGrantLevel,
};
use crate::sql::BadIdentifier;

/// How a database-level grant pattern reaches a database name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The pattern names exactly this database.
    Exact,
    /// Its unescaped `_`/`%` wildcards match this name, and others.
    Wildcard,
    /// It does not reach the name.
    No,
}

/// One character of a grant pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    One,
    Many,
}

/// A grant pattern as the server reads it: `\x` is `x`, `_` one character, `%` any run.
fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            // A trailing backslash stands for itself.
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            '_' => Token::One,
            '%' => Token::Many,
            c => Token::Char(c),
        });
    }
    out
}

fn like(tokens: &[Token], name: &[char]) -> bool {
    match tokens.split_first() {
        None => name.is_empty(),
        Some((Token::Many, rest)) => (0..=name.len()).any(|i| like(rest, &name[i..])),
        Some((Token::One, rest)) => !name.is_empty() && like(rest, &name[1..]),
        Some((Token::Char(c), rest)) => name.first() == Some(c) && like(rest, &name[1..]),
    }
}

/// How the database-level grant `pattern` reaches database `name`. With `literal`
/// (MySQL 8 `partial_revokes`) patterns have no wildcards: only the name itself (or its
/// escaped form, which the provider writes) is exact.
pub fn pattern_reach(pattern: &str, name: &str, literal: bool) -> Reach {
    let t = tokens(pattern);
    let unescaped: Option<String> = t
        .iter()
        .map(|t| match t {
            Token::Char(c) => Some(*c),
            _ => None,
        })
        .collect();
    if pattern == name && literal || unescaped.as_deref() == Some(name) {
        return Reach::Exact;
    }
    if literal || unescaped.is_some() {
        return Reach::No;
    }
    let chars: Vec<char> = name.chars().collect();
    if like(&t, &chars) {
        Reach::Wildcard
    } else {
        Reach::No
    }
}

/// MySQL's limit on user names (Vault's MySQL username templates truncate to it).
const MAX_USER: usize = 32;

/// Whether `user` has the shape of Vault's MySQL username templates:
/// `v-<display>-<role>-<random>-<time>` truncated to 32 characters (the legacy plugin:
/// `v-<role>-<random>`, 16): `v-`, at least two non-empty `-`-separated parts, the last
/// of them letters and digits (the random part or the time, however it was cut).
pub fn vault_made_mysql_login(user: &str) -> bool {
    let Some(mut rest) = user.strip_prefix("v-") else {
        return false;
    };
    // Cut at 32 right after a separator.
    if user.chars().count() == MAX_USER {
        rest = rest.strip_suffix('-').unwrap_or(rest);
    }
    let parts: Vec<&str> = rest.split('-').collect();
    user.chars().count() <= MAX_USER
        && parts.len() >= 2
        && parts.iter().all(|p| !p.is_empty())
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Accounts destroy never drops, whatever they hold: the provider's admin, `root` and
/// the servers' own accounts.
fn protected_account(user: &str, admin: &str) -> bool {
    user == admin
        || user.eq_ignore_ascii_case("root")
        || user.eq_ignore_ascii_case("PUBLIC")
        || user.starts_with("mysql.")
        || user.starts_with("mariadb.")
}

/// What destroy does to the accounts of a database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Teardown {
    /// Logins Vault issued for this database alone: locked, sessions ended, dropped.
    pub drop: Vec<MysqlAccount>,
    /// Proxy grants on the dropped logins, revoked from these accounts: (login, proxy).
    pub unproxy: Vec<(MysqlAccount, MysqlAccount)>,
    /// Other accounts and roles: these grants on the database are revoked.
    pub revoke: Vec<(MysqlAccount, Vec<MysqlGrant>)>,
    /// Wildcard grants that reach other databases too: left, and named.
    pub kept: Vec<(MysqlAccount, Vec<String>)>,
}

/// Whether the account holds nothing but grants that name exactly database `name`.
fn only_on(a: &DatabaseAccount, name: &str, literal: bool) -> bool {
    !a.global
        && !a.is_role
        && a.other_objects == 0
        && a.proxies == 0
        && a.roles_held == 0
        && a.db_patterns
            .iter()
            .all(|p| pattern_reach(p, name, literal) == Reach::Exact)
}

/// Decides, for each account whose grants reach database `name` (but the provider's
/// admin `admin`, left as it is), whether destroy drops it (a login of Vault's username
/// shape, not `root`, holding
/// nothing but grants on exactly this database: no global privilege, no other database,
/// no role, no proxy) or revokes its exact grants on the database (everyone else);
/// wildcard patterns that match the name are left (they are grants on other databases
/// too) and reported.
pub fn teardown(name: &str, admin: &str, access: &DatabaseAccess) -> Teardown {
    let literal = access.literal_patterns;
    let mut t = Teardown::default();
    for a in &access.accounts {
        let mut exact = Vec::new();
        let mut wildcards = Vec::new();
        for g in &a.grants {
            match g.level {
                MysqlGrantLevel::Database => match pattern_reach(&g.db, name, literal) {
                    Reach::Exact => exact.push(g.clone()),
                    Reach::Wildcard => wildcards.push(g.db.clone()),
                    Reach::No => {}
                },
                _ if g.db == name => exact.push(g.clone()),
                _ => {}
            }
        }
        let user = &a.account.user;
        // The provider's own admin: its grants are the platform's, and revoking them
        // first could stop the DROP DATABASE itself.
        if user == admin {
            continue;
        }
        if vault_made_mysql_login(user)
            && !protected_account(user, admin)
            && !exact.is_empty()
            && wildcards.is_empty()
            && only_on(a, name, literal)
        {
            t.drop.push(a.account.clone());
            t.unproxy
                .extend(a.proxied_by.iter().map(|p| (a.account.clone(), p.clone())));
            continue;
        }
        if !exact.is_empty() {
            t.revoke.push((a.account.clone(), exact));
        }
        if !wildcards.is_empty() {
            t.kept.push((a.account.clone(), wildcards));
        }
    }
    t
}

/// The statements run before the sessions end and the database is dropped: the logins
/// to drop are locked (no new session), nobody may proxy as them any more, and the
/// other accounts' grants on the database are revoked.
pub fn teardown_statements(t: &Teardown) -> Result<Vec<String>, BadIdentifier> {
    let mut out = Vec::new();
    for login in &t.drop {
        out.push(mysql_lock_account(login)?);
    }
    for (login, proxy) in &t.unproxy {
        out.push(mysql_revoke_proxy(login, proxy)?);
    }
    for (account, grants) in &t.revoke {
        for g in grants {
            out.extend(mysql_revoke_grant(account, g)?);
        }
    }
    Ok(out)
}

/// The sessions destroy ends: every session of a dropped login, and every session whose
/// current database is this one (MySQL and MariaDB keep a session's access to its
/// current database after its grants are revoked or its user dropped, even into a new
/// database of the same name).
pub fn sessions_to_end(sessions: &[Session], name: &str, dropped: &[MysqlAccount]) -> Vec<u64> {
    sessions
        .iter()
        .filter(|s| s.db == name || dropped.iter().any(|d| d.user == s.user))
        .map(|s| s.id)
        .collect()
}

/// `'a'@'%' (`db`.*, `db`.`t`)` lines for a warning.
pub fn describe_grants(list: &[(MysqlAccount, Vec<MysqlGrant>)]) -> String {
    list.iter()
        .map(|(a, grants)| {
            let on: Vec<String> = grants.iter().map(MysqlGrant::display).collect();
            format!("{} ({})", a.display(), on.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::mysql::RoutineKind;

    #[test]
    fn grant_patterns_reach_as_the_server_reads_them() {
        use Reach::*;
        for (pattern, name, literal, want) in [
            ("mb", "mb", false, Exact),
            ("m\\_b", "m_b", false, Exact),
            ("m_b", "m_b", false, Wildcard),
            ("m_b", "mxb", false, Wildcard),
            ("m\\_b", "mxb", false, No),
            ("m%", "m_b", false, Wildcard),
            ("%", "m_b", false, Wildcard),
            ("m\\%", "m_b", false, No),
            ("other", "m_b", false, No),
            ("m_b_", "m_b", false, No),
            ("M\\_b", "m_b", false, No),
            // partial_revokes: no wildcards.
            ("m_b", "m_b", true, Exact),
            ("m\\_b", "m_b", true, Exact),
            ("m%", "m_b", true, No),
            ("m_b", "mxb", true, No),
        ] {
            assert_eq!(
                pattern_reach(pattern, name, literal),
                want,
                "{pattern} vs {name} (literal {literal})"
            );
        }
    }

    #[test]
    fn vault_username_shapes() {
        for yes in [
            "v-token-h19myd_103-A2WpInf3K082I",
            "v-token-h19m-appli-HOpXQEQG6NnRo",
            "v-root-ap-abcdefghij0123456789-1",
            "v-kubernete-mysql-app-AbCdEfGh12",
            "v-app-Ab12",
            "v-token-ab-abcdefghij0123456789-",
        ] {
            assert!(vault_made_mysql_login(yes), "{yes}");
        }
        for no in [
            "app",
            "root",
            "v-",
            "v-app",
            "v--x",
            "x-token-app-Ab12",
            "v-token-app-",
            "v-token-app-a_b",
            "v-token-averyveryverylongrolename-Ab1",
        ] {
            assert!(!vault_made_mysql_login(no), "{no}");
        }
    }

    fn acct(user: &str) -> MysqlAccount {
        MysqlAccount {
            user: user.into(),
            host: "%".into(),
            mariadb_role: false,
        }
    }

    fn on_db(pattern: &str) -> MysqlGrant {
        MysqlGrant {
            level: MysqlGrantLevel::Database,
            db: pattern.into(),
            object: String::new(),
            grant_option: false,
        }
    }

    fn on(level: MysqlGrantLevel, db: &str, object: &str) -> MysqlGrant {
        MysqlGrant {
            level,
            db: db.into(),
            object: object.into(),
            grant_option: false,
        }
    }

    /// An account with these grants on `m_b`, holding only them.
    fn only(user: &str, grants: Vec<MysqlGrant>) -> DatabaseAccount {
        DatabaseAccount {
            account: acct(user),
            db_patterns: grants
                .iter()
                .filter(|g| g.level == MysqlGrantLevel::Database)
                .map(|g| g.db.clone())
                .collect(),
            grants,
            ..DatabaseAccount::default()
        }
    }

    const LOGIN: &str = "v-token-mb-Ab12Cd34Ef56Gh78Ij90";

    #[test]
    fn who_is_dropped_and_who_is_revoked() {
        let proc = MysqlGrantLevel::Routine(RoutineKind::Procedure);
        let vault = only(
            LOGIN,
            vec![
                on_db("m\\_b"),
                on(proc, "m_b", "p"),
                on(MysqlGrantLevel::Table, "m_b", "t"),
            ],
        );
        let mut proxied = only("v-token-mb-proxied0000", vec![on_db("m\\_b")]);
        proxied.proxied_by = vec![acct("app_proxy")];
        let by_hand = only("reporting", vec![on_db("m\\_b")]);
        let mut global = only("v-token-mb-global00000", vec![on_db("m\\_b")]);
        global.global = true;
        let mut elsewhere = only("v-token-mb-elsewhere00", vec![on_db("m\\_b")]);
        elsewhere.db_patterns.push("other".into());
        let mut other_table = only("v-token-mb-othertable0", vec![on_db("m\\_b")]);
        other_table.other_objects = 1;
        let mut in_role = only("v-token-mb-inrole00000", vec![on_db("m\\_b")]);
        in_role.roles_held = 1;
        let mut proxy = only("v-token-mb-proxy000000", vec![on_db("m\\_b")]);
        proxy.proxies = 1;
        let mut role = only("v-token-mb-role0000000", vec![on_db("m\\_b")]);
        role.is_role = true;
        let admin = only("v-token-mb-admin000000", vec![on_db("m\\_b")]);
        let root = only("root", vec![on_db("m\\_b")]);
        let wildcard = only("v-token-mb-wild0000000", vec![on_db("m_b")]);
        let broad = only("analytics", vec![on_db("m%"), on_db("m\\_b")]);
        let table_only = only(
            "v-token-mb-tableonly00",
            vec![on(MysqlGrantLevel::Table, "m_b", "t")],
        );
        let access = DatabaseAccess {
            accounts: vec![
                vault.clone(),
                proxied,
                by_hand,
                global,
                elsewhere,
                other_table,
                in_role,
                proxy,
                role,
                admin,
                root,
                wildcard,
                broad,
                table_only,
            ],
            literal_patterns: false,
        };
        let t = teardown("m_b", "v-token-mb-admin000000", &access);
        let users = |l: &[MysqlAccount]| l.iter().map(|a| a.user.clone()).collect::<Vec<_>>();
        assert_eq!(
            users(&t.drop),
            [LOGIN, "v-token-mb-proxied0000", "v-token-mb-tableonly00"]
        );
        assert_eq!(
            t.unproxy,
            vec![(acct("v-token-mb-proxied0000"), acct("app_proxy"))]
        );
        let revoked: Vec<&str> = t.revoke.iter().map(|(a, _)| a.user.as_str()).collect();
        assert_eq!(
            revoked,
            [
                "reporting",
                "v-token-mb-global00000",
                "v-token-mb-elsewhere00",
                "v-token-mb-othertable0",
                "v-token-mb-inrole00000",
                "v-token-mb-proxy000000",
                "v-token-mb-role0000000",
                "root",
                "analytics",
            ]
        );
        // Only the exact grant is revoked from `analytics`; its `m%` is named and kept.
        let analytics = &t
            .revoke
            .iter()
            .find(|(a, _)| a.user == "analytics")
            .unwrap()
            .1;
        assert_eq!(analytics, &vec![on_db("m\\_b")]);
        assert_eq!(
            t.kept,
            vec![
                (acct("v-token-mb-wild0000000"), vec!["m_b".to_string()]),
                (acct("analytics"), vec!["m%".to_string()]),
            ]
        );
    }

    #[test]
    fn with_partial_revokes_an_unescaped_name_is_exact() {
        let access = DatabaseAccess {
            accounts: vec![
                only(LOGIN, vec![on_db("m_b")]),
                only("x", vec![on_db("m%")]),
            ],
            literal_patterns: true,
        };
        let t = teardown("m_b", "root", &access);
        assert_eq!(t.drop, vec![acct(LOGIN)]);
        assert!(t.revoke.is_empty() && t.kept.is_empty(), "{t:?}");
    }

    #[test]
    fn teardown_statements_lock_unproxy_then_revoke() {
        let role = MysqlAccount {
            user: "readers".into(),
            host: String::new(),
            mariadb_role: true,
        };
        let t = Teardown {
            drop: vec![acct(LOGIN)],
            unproxy: vec![(acct(LOGIN), acct("px"))],
            revoke: vec![
                (
                    acct("o`x"),
                    vec![
                        MysqlGrant {
                            grant_option: true,
                            ..on_db("m\\_b")
                        },
                        on(MysqlGrantLevel::Table, "m_b", "t"),
                    ],
                ),
                (
                    role,
                    vec![on(
                        MysqlGrantLevel::Routine(RoutineKind::PackageBody),
                        "m_b",
                        "pk",
                    )],
                ),
            ],
            kept: vec![],
        };
        assert_eq!(
            teardown_statements(&t).unwrap_or_default(),
            [
                format!("ALTER USER IF EXISTS `{LOGIN}`@`%` ACCOUNT LOCK"),
                format!("REVOKE PROXY ON `{LOGIN}`@`%` FROM `px`@`%`"),
                "REVOKE ALL PRIVILEGES ON `m\\_b`.* FROM `o``x`@`%`".to_string(),
                "REVOKE GRANT OPTION ON `m\\_b`.* FROM `o``x`@`%`".to_string(),
                "REVOKE ALL PRIVILEGES ON `m_b`.`t` FROM `o``x`@`%`".to_string(),
                "REVOKE ALL PRIVILEGES ON PACKAGE BODY `m_b`.`pk` FROM `readers`".to_string(),
            ]
        );
        let nul = Teardown {
            drop: vec![acct("v-a-b\0")],
            ..Teardown::default()
        };
        assert!(teardown_statements(&nul).is_err());
    }

    #[test]
    fn sessions_in_the_database_or_of_dropped_logins_end() {
        let s = |id, user: &str, db: &str| Session {
            id,
            user: user.into(),
            db: db.into(),
        };
        let sessions = [
            s(1, LOGIN, "m_b"),
            s(2, LOGIN, ""),
            s(3, "reporting", "m_b"),
            s(4, "reporting", "other"),
            s(5, "root", ""),
            s(6, "x", "m_bb"),
        ];
        assert_eq!(sessions_to_end(&sessions, "m_b", &[acct(LOGIN)]), [1, 2, 3]);
        assert_eq!(sessions_to_end(&sessions, "m_b", &[]), [1, 3]);
    }
}
