//! Issue 19, item 4: on the shared Redis, a tenant holding a real login (its namespace's
//! password, or a login Vault issued for its namespace) attacks another tenant: RESP3
//! `CLIENT TRACKING on BCAST` to receive invalidations for every key anyone writes,
//! `SCRIPT KILL` / `FUNCTION KILL` of someone else's running script, `SELECT` / `MOVE` /
//! `SWAPDB` / `COPY ... DB` to hide keys in another logical database (where destroy does not
//! look and a later namespace of the same name finds them), `PUBSUB NUMSUB|NUMPAT` to probe
//! other tenants' channels, `FUNCTION LIST|DUMP|STATS` to read the platform's libraries and
//! what is running, `DBSIZE` / `MEMORY STATS` to watch everyone's activity, `PSUBSCRIBE *`.
//! Everything must be refused (NOPERM) while the tenant's own work goes on. A namespace with
//! `allow_scripting = false` (and the logins Vault issues for it) cannot run Lua at all.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::fixture::{
    apply_clean, assert_plan_in_place, config, each_terraform, name_of, output_str, read_creds,
    redis_admin, redis_cli as redis, redis_try_admin, resource, tagged, Cleanup, Stack, RNS,
};
use crate::harness::{stack, Terraform};

/// One command in RESP (an array of bulk strings).
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).into_bytes());
        out.extend(a.as_bytes());
        out.extend(b"\r\n");
    }
    out
}

/// A raw RESP3 connection as `user` (`HELLO 3 AUTH`): the redis crate hides push
/// messages, which are what the tracking attack receives.
struct Raw(TcpStream);

impl Raw {
    fn login(user: &str, password: &str) -> Raw {
        let addr = format!(
            "{}:{}",
            stack("DBAAS_REDIS_HOST"),
            stack("DBAAS_REDIS_PORT")
        );
        let s = TcpStream::connect(&addr).expect("TCP to the dev Redis");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        let mut raw = Raw(s);
        let hello = raw.send(&["HELLO", "3", "AUTH", user, password]);
        assert!(
            hello.contains("proto") && !hello.starts_with('-'),
            "RESP3 login as {user} failed: {hello}"
        );
        raw
    }

    /// Sends one command and returns what arrives within 300 ms.
    fn send(&mut self, args: &[&str]) -> String {
        self.0.write_all(&resp(args)).expect("write");
        self.drain(Duration::from_millis(300))
    }

    /// Whatever the server sends within `wait`.
    fn drain(&mut self, wait: Duration) -> String {
        let mut got = Vec::new();
        let end = Instant::now() + wait;
        let mut buf = [0u8; 4096];
        while Instant::now() < end {
            match self.0.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }
}

/// Commands no tenant login may run (each with arguments of the right arity, so Redis
/// answers with its ACL verdict), given the other tenant's key prefix `theirs` and a key
/// of our own `mine`.
fn hostile_commands(mine: &str, theirs: &str) -> Vec<Vec<String>> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        // Another tenant's running script or function.
        v(&["SCRIPT", "KILL"]),
        v(&["FUNCTION", "KILL"]),
        // Keys moved into another logical database, out of reach of destroy.
        v(&["SELECT", "1"]),
        v(&["SELECT", "15"]),
        v(&["MOVE", mine, "1"]),
        v(&["SWAPDB", "0", "1"]),
        v(&["COPY", mine, &format!("{mine}2"), "DB", "1"]),
        // Probing other tenants' channels.
        v(&["PUBSUB", "NUMSUB", &format!("{theirs}events")]),
        v(&["PUBSUB", "NUMPAT"]),
        v(&["PUBSUB", "SHARDNUMSUB", &format!("{theirs}events")]),
        v(&["PUBSUB", "CHANNELS"]),
        // The platform's libraries and what runs right now.
        v(&["FUNCTION", "LIST"]),
        v(&["FUNCTION", "LIST", "WITHCODE"]),
        v(&["FUNCTION", "DUMP"]),
        v(&["FUNCTION", "STATS"]),
        v(&["SCRIPT", "DEBUG", "NO"]),
        // Client-side caching: invalidations of every tenant's keys (BCAST), redirects.
        v(&["CLIENT", "TRACKING", "ON", "BCAST"]),
        v(&["CLIENT", "TRACKING", "ON"]),
        // Whole-instance counters that show everyone's activity.
        v(&["DBSIZE"]),
        v(&["MEMORY", "STATS"]),
        v(&["MEMORY", "DOCTOR"]),
        v(&["MEMORY", "MALLOC-STATS"]),
        v(&["MEMORY", "PURGE"]),
        v(&["INFO", "keyspace"]),
        // Key names by slot (cluster deployments).
        v(&["CLUSTER", "GETKEYSINSLOT", "0", "10"]),
        v(&["CLUSTER", "COUNTKEYSINSLOT", "0"]),
        // Already closed before issue 19; kept so a regression shows.
        v(&["SCAN", "0"]),
        v(&["KEYS", "*"]),
        v(&["RANDOMKEY"]),
        v(&["CLIENT", "LIST"]),
        v(&["CLIENT", "KILL", "ID", "1"]),
        v(&["CLIENT", "PAUSE", "10"]),
        v(&["CLIENT", "NO-EVICT", "ON"]),
        v(&["MONITOR"]),
        v(&["FLUSHALL"]),
        v(&["FLUSHDB"]),
        v(&["SCRIPT", "FLUSH"]),
        v(&["FUNCTION", "FLUSH"]),
        v(&["OBJECT", "FREQ", &format!("{theirs}k")]),
        v(&["SORT", mine, "BY", &format!("{theirs}*")]),
        v(&["SLOWLOG", "GET"]),
        v(&["LATENCY", "LATEST"]),
        // (DEBUG is `@admin` too; the server refuses it before ACLs unless
        // `enable-debug-command` is set.)
    ]
}

/// `user` attacks the tenant whose prefix is `theirs` and whose login `(b_user, b_pw)`
/// writes keys meanwhile: every hostile command is refused, BCAST tracking delivers no
/// invalidation of the other tenant's keys, and the tenant's own work still runs.
fn assert_confined(who: &str, user: &str, password: &str, mine: &str, theirs: (&str, &str, &str)) {
    let (b_prefix, b_user, b_pw) = theirs;
    let own_key = format!("{mine}k");
    redis(user, password, &["SET", &own_key, "v"])
        .unwrap_or_else(|e| panic!("{who}: SET under its own prefix: {e}"));
    let mut open = Vec::new();
    for cmd in hostile_commands(&own_key, b_prefix) {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let out = redis(user, password, &args);
        let refused = matches!(&out, Err(e) if e.contains("NOPERM"))
            || matches!(&out, Ok(o) if o.contains("NOPERM"));
        if !refused {
            let shown: String = format!("{out:?}").chars().take(160).collect();
            open.push(format!("{args:?} -> {shown}"));
        }
    }
    assert!(
        open.is_empty(),
        "{who} ({user}) ran commands that reach other tenants:\n  {}",
        open.join("\n  ")
    );

    // The same from inside a script: scripts run with the caller's ACL. (FUNCTION,
    // CLIENT, SCRIPT and the Pub/Sub subscriptions are never allowed from a script.)
    for call in [
        "redis.call('select', '1')".to_string(),
        format!("redis.call('move', '{own_key}', '1')"),
        format!("redis.call('pubsub', 'numsub', '{b_prefix}events')"),
        "redis.call('dbsize')".to_string(),
        "redis.call('info', 'keyspace')".to_string(),
    ] {
        let out = redis(user, password, &["EVAL", &format!("return {call}"), "0"]);
        assert!(
            matches!(&out, Err(e) if e.contains("can't run this command")),
            "{who}: EVAL {call} must be refused inside the script, got {out:?}"
        );
    }

    // RESP3 tracking in broadcasting mode, no prefix: the other tenant's write must not
    // reach us as an invalidation.
    let mut raw = Raw::login(user, password);
    let tracking = raw.send(&["CLIENT", "TRACKING", "ON", "BCAST"]);
    let psub = raw.send(&["PSUBSCRIBE", "*"]);
    let secret = format!("{b_prefix}user:carol@example.com");
    redis(b_user, b_pw, &["SET", &secret, "1"])
        .unwrap_or_else(|e| panic!("the other tenant writes its key: {e}"));
    let leaked = raw.drain(Duration::from_millis(700));
    assert!(
        tracking.contains("NOPERM"),
        "{who}: CLIENT TRACKING ON BCAST must be refused, got {tracking:?}"
    );
    assert!(
        psub.contains("NOPERM"),
        "{who}: PSUBSCRIBE * must be refused, got {psub:?}"
    );
    assert!(
        !leaked.contains("carol@example.com"),
        "{who}: received the other tenant's key name: {leaked:?}"
    );

    // What an app needs keeps working.
    for ok in [
        &["GET", &own_key][..],
        &["SELECT", "0"],
        &["PING"],
        &["CLIENT", "ID"],
        &["CLIENT", "SETNAME", "app"],
        &["HELLO", "2"],
        &["OBJECT", "ENCODING", &own_key],
        &["MEMORY", "USAGE", &own_key],
        &["PUBLISH", &format!("{mine}events"), "x"],
    ] {
        redis(user, password, ok).unwrap_or_else(|e| panic!("{who}: {ok:?} must work: {e}"));
    }
}

/// Removes the platform library the case loads, also when the case fails.
struct Library(String);

impl Drop for Library {
    fn drop(&mut self) {
        let _ = redis_try_admin(&["FUNCTION", "DELETE", &self.0]);
    }
}

/// Lua that does nothing but shows whether scripting is open.
const EVAL_ONE: &[&str] = &["EVAL", "return 1", "0"];

fn scripting_refused(who: &str, user: &str, password: &str, lib_fn: &str) {
    let sha = redis_admin(&["SCRIPT", "LOAD", "return 1"]);
    for cmd in [
        EVAL_ONE,
        &["EVAL_RO", "return 1", "0"],
        &["EVALSHA", &sha, "0"],
        &["SCRIPT", "LOAD", "return 2"],
        &["SCRIPT", "EXISTS", &sha],
        &["FCALL", lib_fn, "0"],
        &["FCALL_RO", lib_fn, "0"],
    ] {
        let out = redis(user, password, cmd);
        assert!(
            matches!(&out, Err(e) if e.contains("NOPERM"))
                || matches!(&out, Ok(o) if o.contains("NOPERM")),
            "{who}: {cmd:?} must be refused with allow_scripting = false, got {out:?}"
        );
    }
}

fn password_output(label: &str) -> String {
    format!("output \"{label}\" {{\n  value = {RNS}.{label}.password\n  sensitive = true\n}}\n")
}

/// Tenant A (its namespace login, and logins Vault issues for it, owner and readonly)
/// attacks tenant B: refused everywhere, and its own work still runs. Tenant C
/// (`allow_scripting = false`) and its Vault logins cannot run Lua; A still can.
#[test]
fn hostile_redis_tenants_cannot_see_or_disturb_each_other() {
    for tf in each_terraform() {
        run_case(&tf);
    }
}

fn run_case(tf: &Terraform) {
    let [a, b, c, conn, lib] = tagged(tf, ["h19r_a", "h19r_b", "h19r_c", "h19rd", "h19r_lib"]);
    let (app_a, ro_a, app_c) = (
        format!("{conn}-a"),
        format!("{conn}-ro"),
        format!("{conn}-c"),
    );
    let prefixes = [&a, &b, &c].map(|n| format!("{n}:"));
    let _sweep = Cleanup::redis(
        &[&a, &b, &c],
        &prefixes.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    // A library the platform loaded for some tenant: others must not read it.
    let lib_fn = format!("{lib}_f");
    let _ = redis_try_admin(&["FUNCTION", "DELETE", &lib]);
    redis_admin(&[
        "FUNCTION",
        "LOAD",
        &format!("#!lua name={lib}\nredis.register_function{{function_name='{lib_fn}', callback=function() return 'secret-of-b' end, flags={{'no-writes'}}}}"),
    ]);
    let _lib = Library(lib.clone());

    let stack = Stack::default()
        .hcl(&resource(RNS, "a", &a, ""))
        .hcl(&resource(RNS, "b", &b, ""))
        .hcl(&resource(RNS, "c", &c, "  allow_scripting = false"))
        .connection("rd", &conn, "redis", "")
        .role("app", &app_a, "rd", &name_of(RNS, "a"), "")
        .role(
            "ro",
            &ro_a,
            "rd",
            &name_of(RNS, "a"),
            "  access = \"readonly\"\n",
        )
        .role("appc", &app_c, "rd", &name_of(RNS, "c"), "")
        .hcl(&password_output("a"))
        .hcl(&password_output("b"))
        .hcl(&password_output("c"))
        .guard(|g| {
            g.redis_users.extend([a.clone(), b.clone(), c.clone()]);
            g.redis_keys
                .extend(prefixes.iter().map(|p| format!("{p}*")));
        });
    let body = stack.body().to_string();
    let mut g = stack.case(tf);
    g.apply_clean();
    let pw = |label: &str| output_str(&g.w, label);
    let (pa, pb, pc) = (pw("a"), pw("b"), pw("c"));
    let theirs = (prefixes[1].as_str(), b.as_str(), pb.as_str());

    // The namespace login of A.
    assert_confined("namespace login", &a, &pa, &prefixes[0], theirs);
    redis(&a, &pa, EVAL_ONE).unwrap_or_else(|e| panic!("scripting stays on by default: {e}"));

    // Logins Vault issues for A.
    let owner = read_creds(&format!("database/creds/{app_a}"));
    g.redis_users.push(owner.username.clone());
    assert_confined(
        "Vault-issued owner login",
        &owner.username,
        &owner.password,
        &prefixes[0],
        theirs,
    );
    redis(&owner.username, &owner.password, EVAL_ONE)
        .unwrap_or_else(|e| panic!("Vault login of a scripting namespace may EVAL: {e}"));
    let reader = read_creds(&format!("database/creds/{ro_a}"));
    g.redis_users.push(reader.username.clone());
    for cmd in hostile_commands(&format!("{}k", prefixes[0]), &prefixes[1]) {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let out = redis(&reader.username, &reader.password, &args);
        assert!(
            matches!(&out, Err(e) if e.contains("NOPERM"))
                || matches!(&out, Ok(o) if o.contains("NOPERM")),
            "Vault-issued readonly login: {args:?} must be refused, got {out:?}"
        );
    }

    // C: no scripting, for its namespace login and the logins Vault issues for it.
    scripting_refused("namespace login of C", &c, &pc, &lib_fn);
    let vc = read_creds(&format!("database/creds/{app_c}"));
    g.redis_users.push(vc.username.clone());
    scripting_refused(
        "Vault-issued login of C",
        &vc.username,
        &vc.password,
        &lib_fn,
    );
    redis(&c, &pc, &["SET", &format!("{}k", prefixes[2]), "v"])
        .unwrap_or_else(|e| panic!("C still writes its keys: {e}"));

    // Switching scripting back on is an in-place update; the Vault role regenerates its
    // rules from the namespace as read at its next refresh (at the latest, the next apply).
    g.w.write(&config(
        &body.replace("  allow_scripting = false", "  allow_scripting = true"),
    ));
    assert_plan_in_place(&g.w, &["allow_scripting"]);
    g.w.apply().ok();
    redis(&c, &pc, EVAL_ONE).unwrap_or_else(|e| panic!("C may EVAL again: {e}"));
    apply_clean(&g.w, "the Vault role follows the namespace");
    let vc = read_creds(&format!("database/creds/{app_c}"));
    g.redis_users.push(vc.username.clone());
    redis(&vc.username, &vc.password, EVAL_ONE)
        .unwrap_or_else(|e| panic!("C's Vault logins may EVAL again: {e}"));
    g.destroy();
}

/// Beyond the list: a configuration author gives a namespace a key prefix (or
/// channels) whose channel patterns match Redis's keyspace-notification channels
/// (`__keyevent@0__:set` carries the name of every key any tenant sets, once the platform
/// enables `notify-keyspace-events`). Refused at plan on the attribute; nothing is created.
#[test]
fn hostile_redis_channels_never_reach_keyspace_notifications() {
    for tf in each_terraform() {
        let [n] = tagged(&tf, ["h19r_notif"]);
        let _sweep = Cleanup::redis(&[&n], &[]);
        for (attr, extra) in [
            ("key_prefix", "  key_prefix = \"_\"".to_string()),
            (
                "key_prefix",
                format!("  key_prefix = \"__keyevent@0__:{n}\""),
            ),
            (
                "channels",
                "  key_prefix = \"_\"\n  channels = [\"_*\"]".to_string(),
            ),
        ] {
            let w = crate::fixture::one_resource(&tf, RNS, &n, &extra);
            crate::fixture::assert_refused_at_plan(
                &w,
                attr,
                "keyspace-notification channels",
                &extra,
            );
            assert!(
                redis_try_admin(&["ACL", "GETUSER", &n])
                    .unwrap_or_default()
                    .is_empty(),
                "{extra}: nothing may be created"
            );
        }
    }
}

/// Beyond the list: a configuration author writes a static Redis rotation role
/// for namespace A whose `username` is tenant B's namespace user. Vault would rotate B's
/// password and hand it to whoever reads A's credentials (and lock B's apps out). Refused
/// at apply on `username`; nothing is written to Vault; B's password still works. A login
/// confined to A's own prefix is accepted.
#[test]
fn hostile_redis_static_role_cannot_take_another_tenants_login() {
    for tf in each_terraform() {
        let [a, b, own, conn] = tagged(&tf, ["h19r_sa", "h19r_sb", "h19r_sown", "h19rst"]);
        let (steal, keep) = (format!("{conn}-steal"), format!("{conn}-own"));
        let _sweep = Cleanup::redis(&[&own], &[]);
        let stack = Stack::default()
            .hcl(&resource(RNS, "a", &a, ""))
            .hcl(&resource(RNS, "b", &b, ""))
            .connection("rd", &conn, "redis", "")
            .hcl(&password_output("b"))
            .guard(|g| {
                g.redis_users.extend([a.clone(), b.clone(), own.clone()]);
                g.redis_keys.extend([format!("{a}:*"), format!("{b}:*")]);
                g.vault_roles.extend([steal.clone(), keep.clone()]);
            });
        let body = stack.body().to_string();
        let mut g = stack.case(&tf);
        g.apply_clean();
        let pb = output_str(&g.w, "b");

        let static_role = |label: &str, name: &str, user: &str| {
            crate::fixture::role(
                label,
                name,
                "rd",
                &name_of(RNS, "a"),
                &format!("  mode     = \"static\"\n  username = \"{user}\"\n"),
            )
        };
        g.w.write(&config(&format!(
            "{body}{}",
            static_role("steal", &steal, &b)
        )));
        let r = g.w.apply().failed();
        let all = crate::fixture::flat(&r.all());
        assert!(
            crate::fixture::points_at(&r.all(), "username") && all.contains(&b),
            "a static role for {a} taking {b}'s login must be refused on `username`:\n{}",
            r.all()
        );
        assert!(
            crate::harness::vault_get(&format!("database/static-roles/{steal}")).is_none(),
            "nothing written to Vault"
        );
        redis(&b, &pb, &["PING"]).unwrap_or_else(|e| panic!("B's password still works: {e}"));

        // A login confined to A's own prefix (as the platform makes for an app) is fine.
        let own_pw = "h19r-own-password-1";
        redis_admin(&[
            "ACL",
            "SETUSER",
            &own,
            "reset",
            "on",
            &format!(">{own_pw}"),
            &format!("~{a}:*"),
            "resetchannels",
            &format!("&{a}:*"),
            "+@all",
            "-@admin",
        ]);
        g.w.write(&config(&format!(
            "{body}{}",
            static_role("own", &keep, &own)
        )));
        g.w.apply().ok();
        let creds = read_creds(&format!("database/static-creds/{keep}"));
        assert_eq!(creds.username, own);
        redis(&own, &creds.password, &["SET", &format!("{a}:k"), "v"])
            .unwrap_or_else(|e| panic!("the rotated own login works: {e}"));
        g.w.write(&config(&body));
        g.w.apply().ok();
        g.destroy();
    }
}
