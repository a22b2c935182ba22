//! Which schemas the admin may install into inside a tenant database (issue 19, item 3).
//! The tenant owns its database, so it can create a schema named like one the admin uses
//! (`extensions`, `pgbouncer`) before the admin does; `CREATE SCHEMA IF NOT EXISTS` would
//! then keep the tenant's schema and run superuser work (extension scripts, a SECURITY
//! DEFINER function) where the tenant can plant objects. A schema is used only when it is
//! absent (the admin creates it, without `IF NOT EXISTS`) or owned by a superuser or the
//! admin with CREATE held by no one else.

use crate::backends::postgres::SchemaFacts;

/// What to do with one schema the admin is about to install into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaVerdict {
    /// Absent: the admin creates it (plain `CREATE SCHEMA`, which fails if someone
    /// creates it in between).
    Create,
    /// Present, admin-owned and closed to tenants: use it.
    Use,
    /// Present and open to a tenant: refuse, saying why (names the schema and owner).
    Refuse(String),
}

/// The verdict on schema `schema` of database `db`, from its catalog facts (`None`:
/// absent).
pub fn schema_verdict(db: &str, schema: &str, facts: Option<&SchemaFacts>) -> SchemaVerdict {
    let Some(f) = facts else {
        return SchemaVerdict::Create;
    };
    if !f.owner_is_admin {
        return SchemaVerdict::Refuse(format!(
            "Schema {schema:?} in database {db:?} is owned by {:?}, not by the provider's admin or a superuser: a tenant may have created it, and whatever it planted there would run with the admin's rights once something is installed into it. Nothing was installed. Have an administrator inspect it and drop or rename it (DROP SCHEMA {schema} / ALTER SCHEMA {schema} RENAME TO ...), then apply again.",
            f.owner
        ));
    }
    if !f.creators.is_empty() {
        return SchemaVerdict::Refuse(format!(
            "Schema {schema:?} in database {db:?} is owned by {:?}, but {} may create objects in it, so a tenant could plant objects where the admin installs. Nothing was installed. Revoke CREATE ON SCHEMA {schema} from them, then apply again.",
            f.owner,
            f.creators.join(", ")
        ));
    }
    SchemaVerdict::Use
}

/// The verdicts on `schemas` of database `db`, in order, from the facts of those found.
pub fn schema_verdicts(db: &str, schemas: &[&str], found: &[SchemaFacts]) -> Vec<SchemaVerdict> {
    schemas
        .iter()
        .map(|s| schema_verdict(db, s, found.iter().find(|f| f.name == *s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(owner: &str, admin: bool, creators: &[&str]) -> SchemaFacts {
        SchemaFacts {
            name: "extensions".into(),
            owner: owner.into(),
            owner_is_admin: admin,
            creators: creators.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn only_absent_or_closed_admin_schemas_are_used() {
        let cases: &[(Option<SchemaFacts>, Option<&[&str]>)] = &[
            // absent: created by the admin
            (None, None),
            // the admin's, closed: used
            (Some(facts("postgres", true, &[])), None),
            // the tenant's: refused, naming schema and owner
            (
                Some(facts("shop_owner", false, &[])),
                Some(&["\"extensions\"", "\"shop\"", "\"shop_owner\""]),
            ),
            // the admin's, but a tenant role or PUBLIC may create in it: refused, naming them
            (
                Some(facts("postgres", true, &["shop_owner"])),
                Some(&["\"extensions\"", "\"postgres\"", "shop_owner"]),
            ),
            (
                Some(facts("postgres", true, &["PUBLIC"])),
                Some(&["PUBLIC"]),
            ),
        ];
        for (f, refused) in cases {
            let v = schema_verdict("shop", "extensions", f.as_ref());
            match (refused, &v) {
                (None, SchemaVerdict::Create) => assert!(f.is_none()),
                (None, SchemaVerdict::Use) => assert!(f.is_some()),
                (Some(words), SchemaVerdict::Refuse(why)) => {
                    for w in *words {
                        assert!(why.contains(w), "{w} in {why}");
                    }
                }
                _ => panic!("{f:?}: unexpected {v:?}"),
            }
        }
    }

    #[test]
    fn verdicts_follow_the_requested_order() {
        let found = [SchemaFacts {
            name: "pgbouncer".into(),
            ..facts("x_owner", false, &[])
        }];
        let v = schema_verdicts("x", &["extensions", "pgbouncer"], &found);
        assert_eq!(v[0], SchemaVerdict::Create);
        assert!(matches!(v[1], SchemaVerdict::Refuse(_)));
    }
}
