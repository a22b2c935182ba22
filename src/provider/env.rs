//! Environment fallbacks, overlaid on the configuration from the schema's own `env`
//! lists (`Attribute::env`) before it is decoded: an attribute left null takes its
//! variable's value (an empty variable counts as unset), and an absent block whose key
//! attribute (`host`, Vault's `address`) has its variable set is configured from the
//! environment alone. A variable that does not parse is an error on the attribute; what
//! came from where is kept for the messages (`"x" (from PGSSLMODE) is not ...`).

use std::collections::BTreeMap;

use tfplugin::{AttributePath, Block, Diagnostics, Type, Value};

/// The attribute whose environment variable opens an absent block, per block.
const BLOCK_KEYS: [(&str, &str); 5] = [
    ("postgres", "host"),
    ("pgbouncer", "host"),
    ("mysql", "host"),
    ("redis", "host"),
    ("vault", "address"),
];

/// Which attributes took their value from the environment, by attribute path
/// (`postgres.port`), with the variable's name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FromEnv(BTreeMap<String, &'static str>);

impl FromEnv {
    /// The variable attribute `path` came from, if it did.
    pub fn var(&self, path: &AttributePath) -> Option<&'static str> {
        self.0.get(&path.to_string()).copied()
    }

    /// ` (from VAR)` when attribute `path` came from the environment, else nothing.
    pub fn note(&self, path: &AttributePath) -> String {
        self.var(path)
            .map(|e| format!(" (from {e})"))
            .unwrap_or_default()
    }
}

/// The environment variable an attribute of `schema` falls back to, if any.
pub fn env_var(schema: &Block, name: &str) -> Option<&'static str> {
    schema.attribute(name).and_then(|a| a.env.first().copied())
}

/// `config` with the environment fallbacks of `schema` filled in, and where they came
/// from; a variable that does not parse is an error at its attribute (left null).
pub fn overlay(
    config: &Value,
    schema: &Block,
    env: &dyn Fn(&str) -> Option<String>,
    diags: &mut Diagnostics,
) -> (Value, FromEnv) {
    let mut out = config.clone();
    let mut from = FromEnv::default();
    for (name, key) in BLOCK_KEYS {
        let Some(nested) = schema.nested(name) else {
            continue;
        };
        let mut block = config.get(name).clone();
        if block.is_null() {
            let opened = env_var(&nested.block, key)
                .and_then(|e| set(env, e))
                .is_some();
            if !opened {
                continue;
            }
            block = Value::object(&[]);
        }
        let path = AttributePath::attr(name);
        overlay_block(&mut block, &nested.block, &path, env, &mut from, diags);
        out.set(name, block);
    }
    (out, from)
}

/// A variable's value, unless unset or empty.
fn set(env: &dyn Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    env(var).filter(|v| !v.is_empty())
}

/// Fills the null attributes of one present block (and of its present nested blocks).
fn overlay_block(
    block: &mut Value,
    schema: &Block,
    path: &AttributePath,
    env: &dyn Fn(&str) -> Option<String>,
    from: &mut FromEnv,
    diags: &mut Diagnostics,
) {
    if !matches!(block, Value::Map(_)) {
        return; // unknown as a whole: nothing to fill
    }
    for a in &schema.attributes {
        let Some(var) = a.env.first().copied() else {
            continue;
        };
        if !block.get(&a.name).is_null() {
            continue;
        }
        let Some(text) = set(env, var) else {
            continue;
        };
        let at = path.join(&a.name);
        match parse(&a.ty, &text) {
            Ok(v) => {
                block.set(&a.name, v);
                from.0.insert(at.to_string(), var);
            }
            Err((summary, detail)) => {
                let summary = summary
                    .replace("{var}", var)
                    .replace("{attr}", &at.to_string());
                diags.error_at(at, summary, detail.replace("{var}", var));
            }
        }
    }
    for nested in &schema.blocks {
        let mut inner = block.get(&nested.name).clone();
        if inner.is_null() {
            continue;
        }
        overlay_block(
            &mut inner,
            &nested.block,
            &path.join(&nested.name),
            env,
            from,
            diags,
        );
        block.set(&nested.name, inner);
    }
}

/// A variable's text as a value of the attribute's type: strings as they are, numbers
/// as ports (the only numbers with a fallback: `PGPORT`), booleans as the Vault CLI
/// reads them (`1`, `t`, `true`, `0`, `f`, `false`, any case). `Err` is the summary and
/// detail of the error, with `{var}` and `{attr}` to fill.
pub fn parse(ty: &Type, text: &str) -> Result<Value, (String, String)> {
    match ty {
        Type::Number => match text.trim().parse::<u16>() {
            Ok(p) if p > 0 => Ok(Value::int(i64::from(p))),
            _ => Err((
                "Invalid {var} from the environment".into(),
                format!("{text:?} is not a port number from 1 to 65535."),
            )),
        },
        Type::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "1" | "t" | "true" => Ok(Value::Bool(true)),
            "0" | "f" | "false" => Ok(Value::Bool(false)),
            _ => Err((
                "Invalid {attr}".into(),
                format!("{text:?} (from {{var}}) is not a boolean (true or false)."),
            )),
        },
        _ => Ok(Value::string(text)),
    }
}
