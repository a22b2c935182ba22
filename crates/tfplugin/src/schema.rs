//! Schemas: what Terraform sees (types, flags, descriptions) plus what the framework
//! enforces on the provider's behalf (defaults, validators, plan modifiers).

use std::fmt;
use std::sync::Arc;

use crate::diagnostics::{AttributePath, Diagnostics};
use crate::types::Type;
use crate::value::Value;

/// A check on one known, non-null attribute value; `Err` holds what is allowed.
pub type CheckFn = dyn Fn(&Value) -> Result<(), String> + Send + Sync;

/// A named value check, run at validate time on known values only.
#[derive(Clone)]
pub struct Validator {
    /// What the check allows, in words (shown in docs).
    pub description: String,
    check: Arc<CheckFn>,
}

impl Validator {
    /// A validator from a description and a check.
    pub fn new(
        description: impl Into<String>,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Validator {
            description: description.into(),
            check: Arc::new(check),
        }
    }

    /// The value must be one of `allowed` (strings).
    pub fn one_of(allowed: &'static [&'static str]) -> Self {
        Validator::new(
            format!(
                "one of {}",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            move |v| match v.as_str() {
                Some(s) if allowed.contains(&s) => Ok(()),
                Some(s) => Err(format!(
                    "{s:?} is not allowed; use one of: {}",
                    allowed.join(", ")
                )),
                None => Ok(()),
            },
        )
    }

    /// The number must lie within `min..=max`.
    pub fn int_between(min: i64, max: i64) -> Self {
        Validator::new(
            format!("an integer from {min} to {max}"),
            move |v| match v.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!("must be an integer from {min} to {max}")),
            },
        )
    }

    /// Runs the check.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        (self.check)(v)
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Validator({:?})", self.description)
    }
}

/// One attribute of a block.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Attribute name.
    pub name: String,
    /// Its cty type.
    pub ty: Type,
    /// Markdown description.
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// The provider may set it.
    pub computed: bool,
    /// Redacted in Terraform's output.
    pub sensitive: bool,
    /// Never stored in plan or state (Terraform 1.11+).
    pub write_only: bool,
    /// Shown as deprecated.
    pub deprecated: bool,
    /// Planned when the configuration leaves it null (the attribute must be computed).
    pub default: Option<Value>,
    /// Checks run at validate time.
    pub validators: Vec<Validator>,
    /// A change to it replaces the resource.
    pub requires_replace: bool,
    /// Keep the prior state's value instead of planning unknown on update.
    pub use_state_for_unknown: bool,
    /// Environment variables read when the configuration leaves it null (documented).
    pub env: Vec<&'static str>,
}

impl Attribute {
    fn new(name: &str, ty: Type) -> Self {
        Attribute {
            name: name.to_string(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: false,
            default: None,
            validators: Vec::new(),
            requires_replace: false,
            use_state_for_unknown: false,
            env: Vec::new(),
        }
    }

    /// A `string` attribute.
    pub fn string(name: &str) -> Self {
        Self::new(name, Type::String)
    }

    /// A `number` attribute.
    pub fn number(name: &str) -> Self {
        Self::new(name, Type::Number)
    }

    /// A `bool` attribute.
    pub fn bool(name: &str) -> Self {
        Self::new(name, Type::Bool)
    }

    /// An attribute of any type.
    pub fn typed(name: &str, ty: Type) -> Self {
        Self::new(name, ty)
    }

    /// Sets the markdown description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// Marks it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks it optional.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Marks it computed.
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }

    /// Marks it sensitive.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marks it write-only (never persisted).
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    /// Optional + computed with a default planned when unset.
    pub fn default(mut self, v: Value) -> Self {
        self.optional = true;
        self.computed = true;
        self.default = Some(v);
        self
    }

    /// Adds a validator.
    pub fn validate(mut self, v: Validator) -> Self {
        self.validators.push(v);
        self
    }

    /// Changes force replacement.
    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }

    /// Keeps the prior value instead of unknown on update.
    pub fn use_state_for_unknown(mut self) -> Self {
        self.use_state_for_unknown = true;
        self
    }

    /// Documents environment fallbacks.
    pub fn env(mut self, vars: &[&'static str]) -> Self {
        self.env.extend_from_slice(vars);
        self
    }
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// At most one; the value is an object or null.
    Single,
    /// A list of objects.
    List,
    /// A set of objects.
    Set,
}

/// A nested block type such as `postgres { ... }`.
#[derive(Debug, Clone)]
pub struct NestedBlock {
    /// Block type name.
    pub name: String,
    /// How it repeats.
    pub nesting: Nesting,
    /// Its contents.
    pub block: Block,
    /// Minimum count (list/set).
    pub min_items: i64,
    /// Maximum count (list/set; 0 = unbounded).
    pub max_items: i64,
}

/// Attributes and nested blocks.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Markdown description.
    pub description: String,
    /// Attributes, in documentation order.
    pub attributes: Vec<Attribute>,
    /// Nested block types.
    pub blocks: Vec<NestedBlock>,
    /// Shown as deprecated.
    pub deprecated: bool,
}

impl Block {
    /// An empty block with a description.
    pub fn new(description: impl Into<String>) -> Self {
        Block {
            description: description.into(),
            ..Block::default()
        }
    }

    /// Adds an attribute.
    pub fn attr(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }

    /// Adds a nested block at most once (`Nesting::Single`).
    pub fn single_block(mut self, name: &str, block: Block) -> Self {
        self.blocks.push(NestedBlock {
            name: name.to_string(),
            nesting: Nesting::Single,
            block,
            min_items: 0,
            max_items: 0,
        });
        self
    }

    /// Finds an attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Finds a nested block type by name.
    pub fn nested(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// The object type of this block's value.
    pub fn value_type(&self) -> Type {
        let mut attrs: std::collections::BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            let obj = b.block.value_type();
            let ty = match b.nesting {
                Nesting::Single => obj,
                Nesting::List => Type::List(Box::new(obj)),
                Nesting::Set => Type::Set(Box::new(obj)),
            };
            attrs.insert(b.name.clone(), ty);
        }
        Type::Object(attrs)
    }

    /// Runs every attribute's validators over a configuration value, recursing into
    /// nested blocks; unknown and null values are skipped.
    pub fn validate_value(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        for attr in &self.attributes {
            let v = value.get(&attr.name);
            if v.is_null() || !v.is_wholly_known() {
                continue;
            }
            for validator in &attr.validators {
                if let Err(why) = validator.check(v) {
                    diags.error_at(
                        path.join(&attr.name),
                        format!("Invalid value for {}", attr.name),
                        why,
                    );
                }
            }
        }
        for nb in &self.blocks {
            let v = value.get(&nb.name);
            match (nb.nesting, v) {
                (Nesting::Single, Value::Map(_)) => {
                    nb.block.validate_value(v, &path.join(&nb.name), diags)
                }
                (Nesting::List | Nesting::Set, Value::List(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        nb.block
                            .validate_value(item, &path.join(&nb.name).index(i as i64), diags);
                    }
                }
                _ => {}
            }
        }
    }
}

/// A versioned schema of a provider, resource or data source.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// State version; bump it and add an upgrader when the stored shape changes.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

impl Schema {
    /// A version-0 schema of `block`.
    pub fn new(block: Block) -> Self {
        Schema { version: 0, block }
    }

    /// Sets the version.
    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }

    /// The object type of a value of this schema.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }

    /// Checks the schema itself, recursing into nested blocks: names declared twice
    /// (attributes or blocks), flags that contradict each other, defaults Terraform would
    /// never use. Each mistake is an error in `diags` naming `what` and the path.
    pub fn check(&self, what: &str, diags: &mut Diagnostics) {
        let mut problems = Vec::new();
        self.block.check(&AttributePath::default(), &mut problems);
        for (path, problem) in problems {
            diags.error(
                format!("Invalid schema for {what}"),
                format!("`{path}` {problem}. This is a bug in the provider."),
            );
        }
    }
}

impl Block {
    /// [`Schema::check`] for this block at `path`: `(path, problem)` pairs.
    fn check(&self, path: &AttributePath, problems: &mut Vec<(AttributePath, String)>) {
        let mut seen = std::collections::HashSet::new();
        let names = self
            .attributes
            .iter()
            .map(|a| &a.name)
            .chain(self.blocks.iter().map(|b| &b.name));
        for name in names {
            if !seen.insert(name.as_str()) {
                problems.push((path.join(name), "is declared more than once".into()));
            }
        }
        for a in &self.attributes {
            let at = path.join(&a.name);
            let mut problem = |p: &str| problems.push((at.clone(), p.to_string()));
            if a.name.is_empty() {
                problem("has an empty name");
            }
            if a.required && (a.optional || a.computed) {
                problem("is required and also optional or computed");
            }
            if !a.required && !a.optional && !a.computed {
                problem("is neither required, optional nor computed");
            }
            if a.default.is_some() && !(a.optional && a.computed) {
                problem("has a default but is not optional and computed (a default is planned only when the configuration leaves it unset)");
            }
            if a.write_only && (a.computed || a.default.is_some()) {
                problem("is write-only and also computed or defaulted (write-only values are never planned)");
            }
        }
        for b in &self.blocks {
            let at = path.join(&b.name);
            if b.min_items < 0 || (b.max_items > 0 && b.max_items < b.min_items) {
                problems.push((
                    at.clone(),
                    "has min_items/max_items that no count satisfies".into(),
                ));
            }
            b.block.check(&at, problems);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(schema: &Schema) -> Vec<String> {
        let mut diags = Diagnostics::default();
        schema.check("resource x", &mut diags);
        diags.iter().map(|d| d.detail.clone()).collect()
    }

    #[test]
    fn a_well_formed_schema_passes_its_check() {
        let s = Schema::new(
            Block::new("ok")
                .attr(Attribute::string("id").computed())
                .attr(Attribute::string("name").required())
                .attr(Attribute::number("n").default(Value::int(1)))
                .attr(Attribute::string("pw_wo").optional().write_only())
                .single_block(
                    "inner",
                    Block::new("i").attr(Attribute::bool("b").optional()),
                ),
        );
        assert_eq!(problems(&s), Vec::<String>::new());
    }

    #[test]
    fn the_check_finds_each_mistake_with_its_path() {
        let mut defaulted_required = Attribute::string("d").default(Value::string("x"));
        defaulted_required.optional = false;
        defaulted_required.computed = false;
        defaulted_required.required = true;
        let inner = Block::new("inner")
            .attr(Attribute::string("a").optional())
            .attr(Attribute::string("wo").computed().write_only())
            .single_block("a", Block::new("dup"));
        let s = Schema::new(
            Block::new("bad")
                .attr(Attribute::string("both").required().computed())
                .attr(Attribute::string("none"))
                .attr(defaulted_required)
                .single_block("inner", inner),
        );
        let found = problems(&s);
        for expected in [
            "`both` is required and also optional or computed",
            "`none` is neither required, optional nor computed",
            "`d` has a default but is not optional and computed",
            "`inner.a` is declared more than once",
            "`inner.wo` is write-only and also computed",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(expected)),
                "{expected:?} not in {found:#?}"
            );
        }
        assert_eq!(found.len(), 5, "{found:#?}");
    }
}
