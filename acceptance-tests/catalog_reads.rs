//! Issue 23, coalesced catalog reads: the reads of a refresh share batched queries, and
//! still no plan misses drift. One provider process serves several Terraform commands
//! (debug mode, `TF_REATTACH_PROVIDERS`), a database is changed out of band between two
//! of its plans, and the second plan shows exactly that database changed, among many
//! read at `-parallelism=20`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::fixture::{counted, counted_names, each_terraform, ident, pg_admin, Cleanup, PGDB};
use crate::harness::{provider_binary, version_tag, Run, Workdir};

/// The provider in debug mode, killed when dropped: its `TF_REATTACH_PROVIDERS` value.
struct Reattached {
    child: Child,
    reattach: String,
}

impl Reattached {
    fn start() -> Reattached {
        let mut child = Command::new(provider_binary())
            .arg("--debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the provider in debug mode");
        let stdout = child.stdout.take().expect("provider stdout");
        let mut reattach = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("provider stdout line");
            if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
                reattach = Some(rest.trim_end_matches('\'').to_string());
                break;
            }
        }
        let reattach = reattach.expect("the provider printed TF_REATTACH_PROVIDERS");
        Reattached { child, reattach }
    }

    /// `terraform <args>` in `w`, attached to this process.
    fn run(&self, w: &Workdir, args: &[&str]) -> Run {
        w.run_env(args, &[("TF_REATTACH_PROVIDERS", &self.reattach)])
    }

    /// Still the same process: it has not exited.
    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Reattached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn plan20(p: &Reattached, w: &Workdir) -> Run {
    p.run(
        w,
        &[
            "plan",
            "-detailed-exitcode",
            "-no-color",
            "-input=false",
            "-parallelism=20",
        ],
    )
}

#[test]
pub(crate) fn catalog_reads_see_drift_between_plans_of_one_provider_process() {
    const N: usize = 12;
    for tf in each_terraform() {
        let prefix = format!("acc_reads_{}_", version_tag(&tf));
        let names = counted_names(&prefix, N);
        let _guard = Cleanup::tenants(&names.iter().map(String::as_str).collect::<Vec<_>>());
        let w = counted(
            &tf,
            PGDB,
            &prefix,
            N,
            "  pgbouncer_auth      = false\n  deletion_protection = false",
        );
        let mut p = Reattached::start();
        let apply = ["apply", "-auto-approve", "-no-color", "-input=false"];
        p.run(&w, &[&apply[..], &["-parallelism=20"]].concat()).ok();

        let first = plan20(&p, &w);
        assert_eq!(
            first.code,
            0,
            "plan right after the apply is empty\n{}",
            first.all()
        );

        // Out of band, between two plans of the same process: two of the twelve change.
        for (i, limit) in [(3, 3), (7, 7)] {
            pg_admin(
                "postgres",
                &format!(
                    "ALTER DATABASE {} CONNECTION LIMIT {limit}",
                    ident(&names[i])
                ),
            );
        }
        let second = plan20(&p, &w);
        assert_eq!(second.code, 2, "the drift is seen\n{}", second.all());
        let out = &second.stdout;
        for i in [3, 7] {
            assert!(
                out.contains(&format!("{PGDB}.many[{i}] will be updated in-place")),
                "many[{i}] drifted\n{out}"
            );
        }
        assert!(
            out.contains("0 to add, 2 to change, 0 to destroy"),
            "exactly the two drifted databases change\n{out}"
        );
        // The planned change puts each limit back (Terraform 1.0.3 also lists the refreshed
        // values, `-1 -> 3`, under "Objects have changed outside of Terraform").
        for i in [3, 7] {
            let back = format!("{i} -> -1");
            assert!(
                out.lines()
                    .any(|l| l.contains("connection_limit") && l.contains(&back)),
                "many[{i}]'s limit is planned back to -1\n{out}"
            );
        }

        // This process's own write is seen by its next read: the apply repairs both,
        // and the plan after it (same process again) is empty.
        p.run(&w, &[&apply[..], &["-parallelism=20"]].concat()).ok();
        let third = plan20(&p, &w);
        assert_eq!(third.code, 0, "repaired by the apply\n{}", third.all());
        assert!(p.alive(), "one provider process served every command");

        p.run(
            &w,
            &["destroy", "-auto-approve", "-no-color", "-input=false"],
        )
        .ok();
    }
}
