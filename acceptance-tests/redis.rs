//! `dbaas_shared_redis_namespace` on real Terraform and Redis 7: the namespace user logs
//! in with the generated password and may SET/GET under its prefix and PUBLISH on its
//! channels, and gets NOPERM everywhere else (other keys, FLUSHALL, CONFIG, KEYS); empty
//! plans; drift (rules changed out of band, user deleted); enable switch; import;
//! destroy with and without key deletion; bad input refused on the attribute with nothing
//! created; the write-only password on Terraform 1.11 and its refusal on 1.0.3; backend
//! failures naming host:port and the `redis` block; the memory-policy warning; and 50
//! namespaces at `-parallelism=20`.
//!
//! Every case runs on each Terraform from `terraforms()` with names unique per case and
//! per Terraform version, and holds a [`Cleanup`] guard that deletes its users and keys.

use crate::fixture::{
    apply_clean, apply_in_place, apply_planned, assert_apply_refused, assert_apply_refuses_foreign,
    assert_counted_at_parallelism_20, assert_failures_name_the_server, assert_plan_empty,
    assert_refused_at_plan, config, each_terraform, flat, one_resource, output_str, points_at,
    redis_admin_conn as admin, redis_login as login, redis_run as run, redis_scan, resource,
    Cleanup, RNS as TYPE,
};
use crate::harness::{stack, version_tag as tag, Terraform, Workdir};

/// `acc-rd-<case>-<terraform version digits>`.
fn ns_name(case: &str, tf: &Terraform) -> String {
    format!("acc-rd-{case}-{}", tag(tf))
}

/// The command must be refused with NOPERM.
fn assert_noperm(conn: &mut ::redis::Connection, args: &[&str]) {
    match run(conn, args) {
        Err(e) if e.to_ascii_lowercase().contains("noperm") => {}
        other => panic!("{args:?} must be refused with NOPERM, got {other:?}"),
    }
}

fn user_exists(name: &str) -> bool {
    run(&mut admin(), &["ACL", "GETUSER", name]).unwrap_or_default() != "nil"
}

/// How many keys start with `prefix` (SCAN, as an admin).
fn count_keys(prefix: &str) -> usize {
    redis_scan(&mut admin(), &format!("{prefix}*"))
        .expect("SCAN")
        .len()
}

#[test]
fn redis_namespace_confinement_drift_import_and_destroy() {
    for tf in each_terraform() {
        let a = ns_name("life", &tf);
        let wipe = ns_name("wipe", &tf);
        let (pa, pw) = (format!("{a}:"), format!("{wipe}:"));
        let _guard = Cleanup::redis(&[&a, &wipe], &[&pa, &pw, &format!("{wipe}-")]);
        let body = |a_extra: &str| {
            config(&format!(
                "{}{}\
                 output \"a_password\" {{\n  value = {TYPE}.a.password\n  sensitive = true\n}}\n\
                 output \"wipe_password\" {{\n  value = {TYPE}.wipe.password\n  sensitive = true\n}}\n\
                 output \"a_acl\" {{ value = {TYPE}.a.acl }}\n\
                 output \"a_host\" {{ value = {TYPE}.a.host }}\n",
                resource(TYPE, "a", &a, a_extra),
                resource(TYPE, "wipe", &wipe, "  delete_keys_on_destroy = true"),
            ))
        };
        let w = Workdir::new(&tf, &body(""));
        let r = w.apply().ok();
        let password = output_str(&w, "a_password");
        assert!(password.len() >= 32, "generated password is long");
        assert!(
            !flat(&r.all()).contains(&password),
            "the password must not be printed"
        );
        assert!(output_str(&w, "a_acl").contains(&format!("~{pa}*")));
        assert_eq!(output_str(&w, "a_host"), stack("DBAAS_REDIS_HOST"));

        // The namespace user: its prefix and channels, nothing else.
        let mut c = login(&a, &password).expect("namespace user logs in");
        assert_eq!(
            run(&mut c, &["SET", &format!("{pa}k"), "v"]),
            Ok("OK".into())
        );
        assert_eq!(run(&mut c, &["GET", &format!("{pa}k")]), Ok("v".into()));
        assert!(run(&mut c, &["PUBLISH", &format!("{pa}news"), "hello"]).is_ok());
        assert_noperm(&mut c, &["SET", "other:k", "v"]);
        assert_noperm(&mut c, &["GET", &format!("{pw}k")]);
        assert_noperm(&mut c, &["PUBLISH", "other:news", "x"]);
        assert_noperm(&mut c, &["FLUSHALL"]);
        assert_noperm(&mut c, &["FLUSHDB"]);
        assert_noperm(&mut c, &["CONFIG", "GET", "maxmemory"]);
        assert_noperm(&mut c, &["KEYS", "*"]);
        assert_noperm(&mut c, &["ACL", "LIST"]);
        drop(c);
        assert_plan_empty(&w, "create");

        // Drift: rules widened out of band show a diff; apply confines the user again.
        run(&mut admin(), &["ACL", "SETUSER", &a, "+flushall", "~*"]).expect("ACL SETUSER");
        apply_planned(
            &w,
            &["update in-place", "key_prefix"],
            "repairing the rules",
        );
        let mut c = login(&a, &password).expect("same password after repair");
        assert_noperm(&mut c, &["FLUSHALL"]);
        assert_noperm(&mut c, &["GET", "other:k"]);
        drop(c);

        // Drift: user deleted (as a Redis restart without ACL persistence does).
        run(&mut admin(), &["ACL", "DELUSER", &a]).expect("ACL DELUSER");
        apply_planned(&w, &["will be created", "1 to add"], "re-creating the user");
        let password = output_str(&w, "a_password");
        let mut c = login(&a, &password).expect("re-created user logs in");
        assert_eq!(
            run(&mut c, &["GET", &format!("{pa}k")]),
            Ok("v".into()),
            "keys survive the user"
        );
        drop(c);

        // Disabled: cannot log in; enabled again: can.
        w.write(&body("  enabled = false"));
        w.apply().ok();
        assert!(
            login(&a, &password).is_err(),
            "a disabled user must not log in"
        );
        w.write(&body(""));
        w.apply().ok();
        if let Err(e) = login(&a, &password) {
            panic!(
                "re-enabled user must log in: {e}\nACL: {:?}\noutput password unchanged: {}",
                run(&mut admin(), &["ACL", "LIST"]),
                output_str(&w, "a_password") == password
            );
        }

        // Import by name: the password cannot be read back, so the next apply sets it
        // (an in-place update, never a replacement); then the plan is empty.
        let addr = format!("{TYPE}.a");
        w.state_rm(&[&addr]).ok();
        w.import(&addr, &a).ok();
        apply_in_place(&w, &[], "import and apply");
        let password = output_str(&w, "a_password");
        assert!(login(&a, &password).is_ok());

        // Keys: the wipe namespace gets more than one SCAN/UNLINK batch; a key that only
        // looks similar (no `:`) must survive.
        let wipe_password = output_str(&w, "wipe_password");
        let mut c = login(&wipe, &wipe_password).expect("wipe user logs in");
        let mut pipe = ::redis::pipe();
        for i in 0..1200 {
            pipe.cmd("SET").arg(format!("{pw}{i}")).arg(i).ignore();
        }
        pipe.query::<()>(&mut c).expect("SET 1200 keys");
        drop(c);
        run(&mut admin(), &["SET", &format!("{wipe}-lookalike"), "1"]).expect("SET");
        assert_eq!(count_keys(&pw), 1200);

        w.destroy().ok();
        assert!(!user_exists(&a) && !user_exists(&wipe), "users deleted");
        assert_eq!(
            count_keys(&pa),
            1,
            "keys kept without delete_keys_on_destroy"
        );
        assert_eq!(
            count_keys(&pw),
            0,
            "keys deleted with delete_keys_on_destroy"
        );
        assert_eq!(
            count_keys(&format!("{wipe}-")),
            1,
            "only the prefix is deleted"
        );
    }
}

#[test]
fn redis_bad_input_is_refused_on_the_attribute_and_nothing_is_created() {
    for tf in each_terraform() {
        let name = ns_name("bad", &tf);
        let _guard = Cleanup::redis(&[&name], &[]);
        let long = "a".repeat(65);
        let mut cases: Vec<(String, &str, &str)> = [
            ("bad name", "may contain only"),
            ("default", "built-in"),
            (long.as_str(), "at most 64"),
        ]
        .into_iter()
        .map(|(bad, says)| (resource(TYPE, "x", bad, ""), "name", says))
        .collect();
        // Each value of `attr` (an HCL expression) on an otherwise valid namespace.
        let values: [(&str, &str, &[&str]); 4] = [
            (
                "key_prefix",
                "glob",
                &[r#""app*""#, r#""a?b:""#, r#""a[b]:""#, r#""a\\b:""#],
            ),
            ("key_prefix", "empty", &[r#""""#]),
            (
                "commands",
                "escape",
                &[
                    r#"["+@all", "~*"]"#,
                    r#"["allkeys"]"#,
                    r#"["%R~*"]"#,
                    r#"["&*"]"#,
                    r#"["allchannels"]"#,
                    r#"["resetkeys"]"#,
                    r#"["nopass"]"#,
                    r#"[">secret"]"#,
                    r#"["<secret"]"#,
                    r#"["on"]"#,
                    r#"["off"]"#,
                ],
            ),
            (
                "channels",
                "does not start with",
                &[r#"["*"]"#, r#"["other:*"]"#],
            ),
        ];
        for (attr, says, exprs) in values {
            for e in exprs {
                cases.push((
                    resource(TYPE, "x", &name, &format!("  {attr} = {e}")),
                    attr,
                    says,
                ));
            }
        }
        for (hcl, attr, says) in cases {
            let w = Workdir::new(&tf, &config(&hcl));
            assert_refused_at_plan(&w, attr, says, &hcl);
            assert_apply_refused(&w);
        }
        assert!(!user_exists(&name), "nothing may be created");
        assert!(!user_exists("bad name"));
    }
}

#[test]
fn redis_write_only_password_on_terraform_1_11_and_refused_on_1_0() {
    for tf in each_terraform() {
        let name = ns_name("wo", &tf);
        let _guard = Cleanup::redis(&[&name], &[]);
        let (one, two) = (
            format!("wo-secret-one-{}", tag(&tf)),
            format!("wo-secret-two-{}", tag(&tf)),
        );
        let body = |pw: &str, version: u32| {
            config(&resource(
                TYPE,
                "x",
                &name,
                &format!("  password_wo = \"{pw}\"\n  password_wo_version = {version}"),
            ))
        };
        let w = Workdir::new(&tf, &body(&one, 1));
        if tf.version.starts_with("v1.0.") {
            let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
            let all = r.all();
            assert!(
                flat(&all).contains("password_wo") && flat(&all).contains("1.11"),
                "{all}"
            );
            assert!(points_at(&all, "password_wo"), "{all}");
            assert!(!user_exists(&name));
            continue;
        }
        w.apply().ok();
        assert!(
            login(&name, &one).is_ok(),
            "the write-only password opens the user"
        );
        assert!(!w.state_text().contains(&one), "write-only value in state");
        assert!(!w.show_json().to_string().contains(&one));
        assert_plan_empty(&w, "create with password_wo");

        // Both set: refused on the attribute.
        let both = config(&resource(
            TYPE,
            "x",
            &name,
            &format!("  password = \"p\"\n  password_wo = \"{one}\""),
        ));
        let wb = Workdir::new(&tf, &both);
        let r = wb.run(&["plan", "-no-color", "-input=false"]).failed();
        assert!(
            flat(&r.all()).contains("Conflicting") && points_at(&r.all(), "password_wo"),
            "{}",
            r.all()
        );

        // A new password with a new version: re-applied in place.
        w.write(&body(&two, 2));
        apply_planned(
            &w,
            &["update in-place", "password_wo_version"],
            "rotating password_wo",
        );
        assert!(login(&name, &two).is_ok(), "new password works");
        let old = login(&name, &one).err().unwrap_or_default();
        assert!(
            old.to_ascii_lowercase().contains("authentication failed"),
            "old password must fail: {old}"
        );
        assert!(!w.state_text().contains(&two));
        w.destroy().ok();
        assert!(!user_exists(&name));
    }
}

#[test]
fn redis_failures_name_the_server_foreign_users_are_not_adopted_and_memory_policy_warns() {
    for tf in each_terraform() {
        let name = ns_name("fail", &tf);
        let foreign = ns_name("foreign", &tf);
        let _guard = Cleanup::redis(&[&name, &foreign], &[]);
        let x = resource(TYPE, "x", &name, "");
        assert_failures_name_the_server(&tf, "redis", "Redis", None, &x);
        assert!(!user_exists(&name));

        // A user this state does not own is never taken over.
        run(
            &mut admin(),
            &["ACL", "SETUSER", &foreign, "on", ">x", "~elsewhere:*"],
        )
        .expect("SETUSER");
        let w = one_resource(&tf, TYPE, &foreign, "");
        assert_apply_refuses_foreign(&w);
        let acl = run(&mut admin(), &["ACL", "GETUSER", &foreign]).unwrap_or_default();
        assert!(acl.contains("elsewhere"), "left untouched: {acl}");

        // A prefix overlapping another user's keys is refused.
        let w = one_resource(&tf, TYPE, &name, "  key_prefix = \"elsewhere:sub:\"");
        let r = w.apply().failed();
        assert!(
            flat(&r.all()).contains("overlaps") && flat(&r.all()).contains(&foreign),
            "{}",
            r.all()
        );
        assert!(points_at(&r.all(), "key_prefix"), "{}", r.all());
        assert!(!user_exists(&name));
    }
}

/// Restores the shared Redis's eviction policy when dropped.
struct PolicyGuard(String);

impl Drop for PolicyGuard {
    fn drop(&mut self) {
        let _ = run(
            &mut admin(),
            &["CONFIG", "SET", "maxmemory-policy", &self.0],
        );
    }
}

#[test]
fn redis_warns_about_a_noeviction_policy() {
    let current: Vec<String> = ::redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query(&mut admin())
        .expect("CONFIG GET");
    let _restore = PolicyGuard(
        current
            .get(1)
            .cloned()
            .unwrap_or_else(|| "allkeys-lru".into()),
    );
    for tf in each_terraform() {
        let name = ns_name("warn", &tf);
        let _guard = Cleanup::redis(&[&name], &[]);
        run(
            &mut admin(),
            &["CONFIG", "SET", "maxmemory-policy", "noeviction"],
        )
        .expect("CONFIG SET");
        let w = one_resource(&tf, TYPE, &name, "");
        let r = w.apply().ok();
        assert!(
            r.all()
                .contains("Shared Redis can refuse every tenant's writes")
                && flat(&r.all()).contains("noeviction"),
            "{}",
            r.all()
        );
        w.destroy().ok();
    }
}

#[test]
fn redis_fifty_namespaces_at_parallelism_20() {
    for tf in each_terraform() {
        let prefix = format!("acc-rd-many-{}-", tag(&tf));
        assert_counted_at_parallelism_20(
            &tf,
            (TYPE, &prefix, 50, "  delete_keys_on_destroy = true"),
            |users| Cleanup::redis(users, &[]),
            |names| names.iter().filter(|n| user_exists(n)).count(),
        );
    }
}

// ---------------------------------------------------------------------------------------
// Safety (issue 10): guard rules, the recorded prefix, overlap races, a fault mid-create
// ---------------------------------------------------------------------------------------

/// `acc_rsafe_<case>_<terraform version digits>`: unique to these cases.
fn safe_name(case: &str, tf: &Terraform) -> String {
    format!("acc_rsafe_{case}_{}", tag(tf))
}

/// The commands no tenant login may run whatever its configured rules: they reveal other
/// tenants' key names, scripts or channels, or destroy every tenant's scripts. Each with
/// arguments of the right arity, so Redis answers with the ACL verdict.
const CROSS_TENANT: &[&[&str]] = &[
    &["FUNCTION", "FLUSH"],
    &["FUNCTION", "DELETE", "acc_rsafe_lib"],
    &[
        "FUNCTION",
        "LOAD",
        "REPLACE",
        "#!lua name=acc_rsafe_lib\nredis.register_function('acc_rsafe_f', function() return 1 end)",
    ],
    &["FUNCTION", "RESTORE", "payload"],
    &["SCRIPT", "FLUSH"],
    &["PUBSUB", "CHANNELS"],
    &["PUBSUB", "SHARDCHANNELS"],
];

/// Item 2: a tenant login cannot list other tenants' keys (SCAN, RANDOMKEY), scripts or
/// channels, nor flush every tenant's scripts; configured rules cannot re-allow them;
/// `allow_keyspace_scan` opts into SCAN/RANDOMKEY only; DBSIZE is closed too (issue 19:
/// it shows every tenant's activity); an out-of-band edit
/// that removes a guard shows in the plan and is reverted.
#[test]
fn redis_guard_rules_hide_other_tenants_and_survive_configured_rules() {
    for tf in each_terraform() {
        let (a, undo, scan) = (
            safe_name("guard", &tf),
            safe_name("undo", &tf),
            safe_name("scan", &tf),
        );
        let prefixes: Vec<String> = [&a, &undo, &scan].iter().map(|n| format!("{n}:")).collect();
        let _guard = Cleanup::redis(
            &[&a, &undo, &scan],
            &prefixes.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let out = |label: &str| {
            format!("output \"{label}\" {{\n  value = {TYPE}.{label}.password\n  sensitive = true\n}}\n")
        };
        let w = Workdir::new(
            &tf,
            &config(&format!(
                "{}{}{}{}{}{}",
                resource(TYPE, "a", &a, ""),
                resource(TYPE, "undo",
                    &undo,
                    "  commands = [\"+@all\", \"+scan\", \"+randomkey\", \"+function\", \"+script\", \"+pubsub\", \"allcommands\"]"
                ),
                resource(TYPE, "scan", &scan, "  allow_keyspace_scan = true"),
                out("a"),
                out("undo"),
                out("scan"),
            )),
        );
        apply_clean(&w, "create");
        run(&mut admin(), &["SET", &format!("{a}:k"), "v"]).expect("SET");

        for (label, user, may_scan) in [
            ("a", &a, false),
            ("undo", &undo, false),
            ("scan", &scan, true),
        ] {
            let password = output_str(&w, label);
            let mut c = login(user, &password).expect("namespace user logs in");
            for cmd in CROSS_TENANT {
                assert_noperm(&mut c, cmd);
            }
            if may_scan {
                run(&mut c, &["SCAN", "0", "COUNT", "1000"])
                    .unwrap_or_else(|e| panic!("{user}: allow_keyspace_scan allows SCAN: {e}"));
                run(&mut c, &["RANDOMKEY"]).unwrap_or_else(|e| {
                    panic!("{user}: allow_keyspace_scan allows RANDOMKEY: {e}")
                });
            } else {
                assert_noperm(&mut c, &["SCAN", "0", "COUNT", "1000"]);
                assert_noperm(&mut c, &["RANDOMKEY"]);
            }
            assert_noperm(&mut c, &["DBSIZE"]);
            assert_eq!(
                run(&mut c, &["SET", &format!("{user}:x"), "1"]),
                Ok("OK".into())
            );
        }

        // An out-of-band edit removing guards is drift: planned and reverted.
        run(
            &mut admin(),
            &["ACL", "SETUSER", &a, "+scan", "+function|flush"],
        )
        .expect("ACL SETUSER");
        apply_planned(&w, &["update in-place"], "repairing the guards");
        let mut c = login(&a, &output_str(&w, "a")).expect("login after repair");
        assert_noperm(&mut c, &["SCAN", "0"]);
        assert_noperm(&mut c, &["FUNCTION", "FLUSH"]);
        drop(c);
        w.destroy().ok();
        assert!(!user_exists(&a) && !user_exists(&undo) && !user_exists(&scan));
    }
}

/// Item 7: `delete_keys_on_destroy` deletes by the prefix recorded at apply, and refuses
/// (error, nothing deleted) when the live ACL's key pattern drifted from it: an ACL
/// edited to another tenant's prefix must not make destroy delete that tenant's keys.
#[test]
fn redis_delete_keys_uses_the_recorded_prefix_and_refuses_on_drift() {
    for tf in each_terraform() {
        let name = safe_name("wipe", &tf);
        let victim = format!("{}:", safe_name("victim", &tf));
        let own = format!("{name}:");
        let _guard = Cleanup::redis(&[&name], &[&own, &victim]);
        let w = one_resource(&tf, TYPE, &name, "  delete_keys_on_destroy = true");
        w.apply().ok();
        let mut c = admin();
        for i in 0..5 {
            run(&mut c, &["SET", &format!("{own}{i}"), "1"]).expect("SET own");
            run(&mut c, &["SET", &format!("{victim}{i}"), "1"]).expect("SET victim");
        }
        run(
            &mut c,
            &["ACL", "SETUSER", &name, "resetkeys", &format!("~{victim}*")],
        )
        .expect("ACL SETUSER");

        let r = w.destroy().failed();
        assert!(
            flat(&r.all()).contains("drifted") && flat(&r.all()).contains(&own),
            "destroy must refuse and name the recorded prefix:\n{}",
            r.all()
        );
        assert_eq!(count_keys(&victim), 5, "another tenant's keys must survive");
        assert_eq!(count_keys(&own), 5, "nothing is deleted on refusal");
        assert!(user_exists(&name), "nothing is deleted on refusal");

        // Repaired by apply, destroy deletes exactly the recorded prefix.
        w.apply().ok();
        w.destroy().ok();
        assert!(!user_exists(&name));
        assert_eq!(count_keys(&own), 0);
        assert_eq!(count_keys(&victim), 5);
    }
}

/// Item 7: namespaces whose prefixes overlap (`p:` and `p:admin:`) created in one
/// parallel apply: the overlap check and `ACL SETUSER` are serialised, so for every pair
/// exactly one is created and the other is refused with the overlap error.
#[test]
fn redis_overlapping_prefixes_in_one_parallel_apply_are_refused() {
    for tf in each_terraform() {
        let pairs: Vec<(String, String, String)> = (0..6)
            .map(|i| {
                let base = safe_name(&format!("ovl{i}"), &tf);
                (format!("{base}_a"), format!("{base}_b"), format!("{base}:"))
            })
            .collect();
        let users: Vec<&str> = pairs
            .iter()
            .flat_map(|(a, b, _)| [a.as_str(), b.as_str()])
            .collect();
        let _guard = Cleanup::redis(&users, &[]);
        let mut body = String::new();
        for (i, (a, b, p)) in pairs.iter().enumerate() {
            body += &resource(
                TYPE,
                &format!("a{i}"),
                a,
                &format!("  key_prefix = \"{p}\""),
            );
            body += &resource(
                TYPE,
                &format!("b{i}"),
                b,
                &format!("  key_prefix = \"{p}admin:\""),
            );
        }
        let w = Workdir::new(&tf, &config(&body));
        let r = w
            .run(&[
                "apply",
                "-auto-approve",
                "-no-color",
                "-input=false",
                "-parallelism=12",
            ])
            .failed();
        assert!(flat(&r.all()).contains("overlaps"), "{}", r.all());
        for (a, b, _) in &pairs {
            assert!(
                user_exists(a) != user_exists(b),
                "exactly one of {a} and {b} may exist (a: {}, b: {})",
                user_exists(a),
                user_exists(b)
            );
        }
        w.destroy().ok();
        assert!(users.iter().all(|u| !user_exists(u)));
    }
}

/// A TCP proxy in front of the dev Redis that plays "the server dropped mid-create": it
/// forwards everything until a client sends `ACL SETUSER <name>`, passes that command to
/// Redis, then drops the reply and both sockets; with `refuse_reconnects` it also refuses
/// every later connection. The provider thus sees its connection lost after the user was
/// made, and (refusing) cannot reconnect to look (Redis itself is never restarted: other
/// tests share it).
struct DroppingProxy {
    port: u16,
    /// Set once the `ACL SETUSER` went through and its connection was cut.
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl DroppingProxy {
    fn start(user: &str, refuse_reconnects: bool) -> DroppingProxy {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listens");
        let port = listener.local_addr().expect("proxy address").port();
        let upstream = format!(
            "{}:{}",
            stack("DBAAS_REDIS_HOST"),
            stack("DBAAS_REDIS_PORT")
        );
        let cut = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let needle = format!("SETUSER\r\n${}\r\n{user}\r\n", user.len()).into_bytes();
        let (cut2, stop2) = (cut.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if refuse_reconnects && cut2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                // Each connection gets its own cut flag once the first cut happened, so a
                // reconnect is forwarded normally.
                let cut2 = if cut2.load(Ordering::SeqCst) {
                    Arc::new(AtomicBool::new(false))
                } else {
                    cut2.clone()
                };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (mut c_in, mut s_out) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let (cut_up, needle) = (cut2.clone(), needle.clone());
                let (client_up, server_up) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                std::thread::spawn(move || {
                    let mut window: Vec<u8> = Vec::new();
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = c_in.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        window.extend_from_slice(&buf[..n]);
                        let hit = window.windows(needle.len()).any(|w| w == needle.as_slice());
                        if hit {
                            // No reply may reach the client from here on.
                            cut_up.store(true, Ordering::SeqCst);
                        }
                        if s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        if hit {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            let _ = client_up.shutdown(Shutdown::Both);
                            let _ = server_up.shutdown(Shutdown::Both);
                            break;
                        }
                        let keep = window.len().saturating_sub(needle.len());
                        window.drain(..keep);
                    }
                    let _ = server_up.shutdown(Shutdown::Both);
                });
                let (mut s_in, mut c_out) = (server, client);
                let cut_down = cut2.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = s_in.read(&mut buf) {
                        if n == 0 || cut_down.load(Ordering::SeqCst) {
                            break;
                        }
                        if c_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_out.shutdown(Shutdown::Both);
                });
            }
        });
        DroppingProxy { port, cut, stop }
    }
}

impl Drop for DroppingProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The namespace `name` (`x`, with its password as output `password`) made through a
/// provider whose Redis is at `port` on the dev stack's host.
fn namespace_via(name: &str, port: u16) -> String {
    format!(
        "provider \"dbaas\" {{\n  redis {{\n    host     = \"{}\"\n    port     = {port}\n    password = \"{}\"\n  }}\n}}\n{}output \"password\" {{\n  value     = {TYPE}.x.password\n  sensitive = true\n}}\n",
        stack("DBAAS_REDIS_HOST"),
        stack("DBAAS_REDIS_PASSWORD"),
        resource(TYPE, "x", name, ""),
    )
}

/// A case behind a [`DroppingProxy`]: the namespace `safe_name(case)`, its guard, the proxy
/// and a working directory whose provider reaches Redis through the proxy.
fn behind_proxy(
    tf: &Terraform,
    case: &str,
    refuse_reconnects: bool,
) -> (String, Cleanup, DroppingProxy, Workdir) {
    let name = safe_name(case, tf);
    let guard = Cleanup::redis(&[&name], &[]);
    let proxy = DroppingProxy::start(&name, refuse_reconnects);
    let w = Workdir::new(tf, &namespace_via(&name, proxy.port));
    (name, guard, proxy, w)
}

/// Item 4 (Redis): the server drops after `ACL SETUSER` reached it (simulated by
/// [`DroppingProxy`]: the provider's connection is cut and reconnects are refused, so the
/// provider cannot tell whether the user was made). The create fails, but returns the
/// partial state, so Terraform records the instance as tainted; the next apply replaces it
/// with no manual step, the plan is then empty, and destroy leaves no user behind.
#[test]
fn redis_server_drop_mid_create_taints_and_the_next_apply_converges() {
    for tf in each_terraform() {
        let (name, _guard, proxy, w) = behind_proxy(&tf, "drop", true);
        let r = w.apply().failed();
        assert!(
            flat(&r.all()).contains(&format!("Cannot create Redis namespace \"{name}\"")),
            "{}",
            r.all()
        );
        assert!(
            user_exists(&name),
            "the SETUSER reached Redis (the fault under test)"
        );
        drop(proxy);

        let real: u16 = stack("DBAAS_REDIS_PORT").parse().expect("port");
        w.write(&namespace_via(&name, real));
        apply_planned(
            &w,
            &["tainted", "must be replaced"],
            "the apply after the fault",
        );
        let password = output_str(&w, "password");
        assert!(login(&name, &password).is_ok(), "the replaced user logs in");
        w.destroy().ok();
        assert!(!user_exists(&name), "destroy leaves nothing");
    }
}

/// Item 4 (Redis), the other outcome: the connection breaks after `ACL SETUSER` reached
/// Redis, but a reconnect works ([`DroppingProxy`] without refusing). The provider looks
/// the user up, finds the one it wrote (its password hash), and the create completes in
/// the same apply: no error, an empty plan, a user that logs in.
#[test]
fn redis_connection_lost_after_setuser_is_resolved_by_looking() {
    for tf in each_terraform() {
        let (name, _guard, proxy, w) = behind_proxy(&tf, "look", false);
        w.apply().ok();
        assert!(
            proxy.cut.load(std::sync::atomic::Ordering::SeqCst),
            "the proxy cut the connection after ACL SETUSER"
        );
        assert!(login(&name, &output_str(&w, "password")).is_ok());
        assert_plan_empty(&w, "a create whose connection broke after the write");
        w.destroy().ok();
        assert!(!user_exists(&name));
        drop(proxy);
    }
}
