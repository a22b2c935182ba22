//! The closed sets of words the provider accepts or speaks: one list per set, from
//! which the parser, the doc text and the serde form derive (the schema validators are
//! built on the schema side, `resources::common`, from `NAMES`: this module knows
//! nothing of Terraform).

/// Declares a string-valued enum: each variant with its attribute value.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $var:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $var),+
        }

        impl $name {
            /// Every variant, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// Every value as written in configuration, in documentation order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The value as written in configuration.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$var => $text),+
                }
            }

            /// Parses a value as written in configuration.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$var),)+
                    _ => None,
                }
            }

            /// The values for prose: `` `a`, `b` or `c` ``.
            pub fn or_list() -> String {
                $crate::domain::enums::or_list(Self::NAMES)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// `` `a`, `b` or `c` `` from a list of words.
pub fn or_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

word_enum! {
    /// The database engine behind a Vault connection.
    Engine {
        /// PostgreSQL (through PgBouncer for apps).
        Postgres = "postgres",
        /// MySQL or MariaDB.
        Mysql = "mysql",
        /// Redis.
        Redis = "redis",
    }
}

impl Engine {
    /// Vault's database plugin for this engine.
    pub fn vault_plugin(self) -> &'static str {
        match self {
            Engine::Postgres => "postgresql-database-plugin",
            Engine::Mysql => "mysql-database-plugin",
            Engine::Redis => "redis-database-plugin",
        }
    }

    /// The engine of a Vault plugin name (`postgresql-database-plugin`, `mysql-aurora-…`).
    pub fn of_vault_plugin(plugin: &str) -> Option<Engine> {
        if plugin.starts_with("postgresql") {
            Some(Engine::Postgres)
        } else if plugin.starts_with("mysql") {
            Some(Engine::Mysql)
        } else if plugin.starts_with("redis") {
            Some(Engine::Redis)
        } else {
            None
        }
    }
}

word_enum! {
    /// Which group a Vault-issued login joins.
    Access {
        /// Joins `<db>_owner` and runs as it, so objects it creates outlive it.
        Owner = "owner",
        /// Joins `<db>_readwrite`.
        ReadWrite = "readwrite",
        /// Joins `<db>_readonly`.
        ReadOnly = "readonly",
    }
}

impl Access {
    /// The attribute value: `owner`, `readwrite` or `readonly`.
    pub fn name(self) -> &'static str {
        self.as_str()
    }
}

word_enum! {
    /// How a Vault rotation role hands out logins.
    RoleMode {
        /// A new login per lease.
        Dynamic = "dynamic",
        /// An existing login whose password Vault rotates.
        Static = "static",
    }
}

word_enum! {
    /// libpq's `sslmode` for the PostgreSQL admin connection.
    SslMode {
        /// Plain only.
        Disable = "disable",
        /// Plain, TLS if the server insists.
        Allow = "allow",
        /// TLS if the server offers it.
        Prefer = "prefer",
        /// TLS, certificate not checked.
        Require = "require",
        /// TLS, certificate checked against the CA.
        VerifyCa = "verify-ca",
        /// TLS, certificate and host name checked.
        VerifyFull = "verify-full",
    }
}

word_enum! {
    /// TLS mode of the MySQL admin connection.
    MysqlTls {
        /// Plain only.
        Disabled = "disabled",
        /// TLS if the server offers it, certificate not checked.
        Preferred = "preferred",
        /// TLS, certificate not checked.
        Required = "required",
        /// TLS, certificate checked against the CA.
        VerifyCa = "verify_ca",
        /// TLS, certificate and host name checked.
        VerifyIdentity = "verify_identity",
    }
}

word_enum! {
    /// TLS mode of the Redis admin connection: `mysql.tls`'s words where they make sense
    /// for Redis (no `preferred`: a Redis port speaks TLS or not, with no negotiation; no
    /// `verify_ca`: Vault's Redis plugin, which gets the same mode, cannot check a chain
    /// without the host name).
    RedisTls {
        /// Plain only.
        Disabled = "disabled",
        /// TLS, certificate not checked.
        Required = "required",
        /// TLS, certificate and host name checked.
        VerifyIdentity = "verify_identity",
    }
}

impl RedisTls {
    /// The mode the deprecated boolean form stands for (`true`: verified TLS).
    pub fn from_bool(on: bool) -> RedisTls {
        if on {
            RedisTls::VerifyIdentity
        } else {
            RedisTls::Disabled
        }
    }

    /// Whether the connection uses TLS at all.
    pub fn on(self) -> bool {
        self != RedisTls::Disabled
    }
}

word_enum! {
    /// PgBouncer admin console commands that take a database name.
    PgBouncerVerb {
        /// Drops every client and server connection of the database and pauses it.
        Kill = "KILL",
        /// Lets a killed or paused database take connections again.
        Resume = "RESUME",
        /// Closes server connections once they are released.
        Reconnect = "RECONNECT",
        /// Waits for server connections to be released, then pauses.
        Pause = "PAUSE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_serialize_as_written() {
        for e in Engine::ALL {
            assert_eq!(Engine::parse(e.as_str()), Some(*e));
            assert_eq!(
                serde_json::to_value(e).ok(),
                Some(serde_json::Value::String(e.as_str().to_string()))
            );
        }
        assert_eq!(Access::parse("admin"), None);
        assert_eq!(SslMode::NAMES.len(), SslMode::ALL.len());
        assert_eq!(Engine::or_list(), "`postgres`, `mysql` or `redis`");
        assert_eq!(MysqlTls::parse("verify_ca"), Some(MysqlTls::VerifyCa));
        assert_eq!(MysqlTls::parse("verify-ca"), None);
        for e in Engine::ALL {
            assert_eq!(Engine::of_vault_plugin(e.vault_plugin()), Some(*e));
        }
    }
}
