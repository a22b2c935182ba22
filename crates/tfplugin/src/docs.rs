//! Renders the registry documentation (`docs/`) from the schemas and `examples/`, as
//! tfplugindocs does for Go providers: one markdown page per provider, resource and data
//! source, in the layout the Terraform registry reads. `tests/docs.rs` fails when the
//! committed `docs/` differs from what this renders; `make docs` rewrites it.
//!
//! Sources, relative to the repository root:
//! - `examples/provider/provider.tf`, then `examples/provider/<name>/provider.tf`:
//!   "Example Usage" of `docs/index.md` (with several, each under a heading taken from
//!   its first comment line);
//! - `examples/<kind dir>/<type>/<kind file>`: "Example Usage" of a type's page
//!   (`resources/<type>/resource.tf`, `data-sources/<type>/data-source.tf`,
//!   `ephemeral-resources/<type>/ephemeral-resource.tf`);
//! - `examples/resources/<type>/import.sh` and `import.tf`: a resource's "Import" section;
//! - `templates/guides/*.md`: hand-written guides, copied to `docs/guides/` as they are
//!   (docs/ itself is generated, so guides live outside it), except that a line
//!   `{{ codefile "<language>" "<path>" }}` becomes a fenced copy of that file.
//!
//! A missing example file leaves its section out. Cargo feature `docs`; any
//! [`Provider`] renders through [`Docs::render_all`].

use std::path::{Path, PathBuf};

use crate::{Attribute, Block, NestedBlock, Nesting, Provider, Schema, Type, Value};

/// Who the pages are about: the names a provider's documentation is written with.
#[derive(Debug, Clone, Copy)]
pub struct Docs<'a> {
    /// The provider's local name, as in `provider "dbaas"`; the `<name>_` prefix is
    /// dropped from type names in page paths.
    pub name: &'a str,
    /// The repository/binary name shown in page titles, e.g. `terraform-provider-dbaas`.
    pub repo: &'a str,
}

/// The kinds of types that get a page of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A managed resource (`resource "dbaas_x"`).
    Resource,
    /// A data source (`data "dbaas_x"`).
    DataSource,
    /// An ephemeral resource (`ephemeral "dbaas_x"`, Terraform 1.10+).
    EphemeralResource,
}

impl Kind {
    /// The directory under both `docs/` and `examples/`.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
            Kind::EphemeralResource => "ephemeral-resources",
        }
    }

    /// How the kind is named in titles and headings.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::DataSource => "Data Source",
            Kind::EphemeralResource => "Ephemeral Resource",
        }
    }

    /// The example file in `examples/<dir>/<type>/` shown under "Example Usage".
    pub fn example_file(self) -> &'static str {
        match self {
            Kind::Resource => "resource.tf",
            Kind::DataSource => "data-source.tf",
            Kind::EphemeralResource => "ephemeral-resource.tf",
        }
    }
}

impl Docs<'_> {
    /// Every file of `docs/` for `provider`, as paths relative to the repository root
    /// (`docs/index.md`, ...) with their contents, sorted by path; examples and guide
    /// templates are read from under `root` (the repository root).
    pub fn render_all<P: Provider>(&self, provider: &P, root: &Path) -> Vec<(PathBuf, String)> {
        let mut files = vec![(
            PathBuf::from("docs/index.md"),
            self.render_provider_page(&provider.schema(), root),
        )];
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| (Kind::Resource, r.type_name(), r.schema()));
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| (Kind::DataSource, d.type_name(), d.schema()));
        let ephemerals = provider
            .ephemeral_resources()
            .into_iter()
            .map(|e| (Kind::EphemeralResource, e.type_name(), e.schema()));
        for (kind, type_name, schema) in resources.chain(data_sources).chain(ephemerals) {
            files.push((
                self.doc_path(kind, type_name),
                self.render_type_page(kind, type_name, &schema, root),
            ));
        }
        files.extend(guides(root));
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files
    }

    /// Every attribute of `provider`'s schemas (provider block, resources, data sources,
    /// ephemeral resources) whose description states a fact the page renders from the
    /// schema itself, so the page would say it twice: see [`restated_facts`].
    pub fn restated_facts<P: Provider>(&self, provider: &P) -> Vec<String> {
        let mut out = Vec::new();
        restated_in_block(&provider.schema().block, "provider", &mut out);
        for r in provider.resources() {
            restated_in_block(&r.schema().block, r.type_name(), &mut out);
        }
        for d in provider.data_sources() {
            restated_in_block(&d.schema().block, d.type_name(), &mut out);
        }
        for e in provider.ephemeral_resources() {
            restated_in_block(&e.schema().block, e.type_name(), &mut out);
        }
        out
    }

    /// Where a type's page goes: `docs/<kind dir>/<type without the provider prefix>.md`.
    pub fn doc_path(&self, kind: Kind, type_name: &str) -> PathBuf {
        let prefix = format!("{}_", self.name);
        let short = type_name.strip_prefix(&prefix).unwrap_or(type_name);
        Path::new("docs")
            .join(kind.dir())
            .join(format!("{short}.md"))
    }

    /// The provider's page, `docs/index.md`.
    pub fn render_provider_page(&self, schema: &Schema, root: &Path) -> String {
        let name = self.name;
        let block = &schema.block;
        let mut out = front_matter(&format!("{name} Provider"), None, &block.description);
        out.push_str(&format!("# {name} Provider\n\n"));
        push_paragraph(&mut out, &block.description);
        let examples = provider_examples(&root.join("examples/provider"));
        if !examples.is_empty() {
            out.push_str("## Example Usage\n\n");
        }
        let titled = examples.len() > 1;
        for example in examples {
            match first_comment(&example) {
                Some(title) if titled => out.push_str(&format!("### {title}\n\n")),
                _ => {}
            }
            push_fence(&mut out, "terraform", &example);
        }
        push_schema(&mut out, block);
        finish(out)
    }

    /// The page of one resource, data source or ephemeral resource.
    pub fn render_type_page(
        &self,
        kind: Kind,
        type_name: &str,
        schema: &Schema,
        root: &Path,
    ) -> String {
        let block = &schema.block;
        let label = kind.label();
        let mut out = front_matter(
            &format!("{type_name} {label} - {}", self.repo),
            Some(""),
            &block.description,
        );
        out.push_str(&format!("# {type_name} ({label})\n\n"));
        if block.deprecated {
            out.push_str(&format!(
                "~> **Deprecated:** this {} will be removed in a future version.\n\n",
                label.to_lowercase()
            ));
        }
        push_paragraph(&mut out, &block.description);
        let examples = root.join("examples").join(kind.dir()).join(type_name);
        if let Some(example) = read_example(&examples.join(kind.example_file())) {
            out.push_str("## Example Usage\n\n");
            push_fence(&mut out, "terraform", &example);
        }
        push_schema(&mut out, block);
        if kind == Kind::Resource {
            push_import(&mut out, &examples);
        }
        finish(out)
    }
}

/// The provider's examples: `dir/provider.tf` first, then `provider.tf` of each
/// subdirectory of `dir` by name (each subdirectory is one configuration of its own, its
/// `terraform` block in a `versions.tf` that is not shown).
fn provider_examples(dir: &Path) -> Vec<String> {
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    subdirs.sort();
    std::iter::once(dir.join("provider.tf"))
        .chain(subdirs.iter().map(|d| d.join("provider.tf")))
        .filter_map(|p| read_example(&p))
        .collect()
}

/// The text of an example's first comment line (`#` or `//`), its heading.
fn first_comment(example: &str) -> Option<String> {
    example.lines().find_map(|l| {
        let l = l.trim();
        l.strip_prefix('#')
            .or_else(|| l.strip_prefix("//"))
            .map(|t| t.trim().trim_end_matches(['.', ':']).to_string())
            .filter(|t| !t.is_empty())
    })
}

/// Expands a guide's `{{ codefile "<language>" "<path>" }}` lines (tfplugindocs' template
/// function) into a fenced copy of the file at `<path>` under `root`.
fn expand_codefiles(text: &str, root: &Path) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let args = line
            .trim()
            .strip_prefix("{{")
            .and_then(|l| l.strip_suffix("}}"))
            .and_then(|l| l.trim().strip_prefix("codefile "))
            .map(|l| {
                l.split('"')
                    .filter(|a| !a.trim().is_empty())
                    .collect::<Vec<_>>()
            });
        match args.as_deref() {
            Some([lang, path]) => match read_example(&root.join(path)) {
                Some(body) => push_fence(&mut out, lang, &body),
                None => out.push_str(&format!("**Missing file `{path}`.**\n\n")),
            },
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Copies `templates/guides/*.md` to `docs/guides/`, expanding `{{ codefile }}` lines.
fn guides(root: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(root.join("templates/guides")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") || !path.is_file() {
            continue;
        }
        if let (Some(name), Ok(text)) = (path.file_name(), std::fs::read_to_string(&path)) {
            let text = expand_codefiles(&text, root);
            out.push((Path::new("docs/guides").join(name), finish(text)));
        }
    }
    out
}

/// The YAML front matter; `subcategory` is written only when given.
fn front_matter(page_title: &str, subcategory: Option<&str>, description: &str) -> String {
    let mut out = String::from("---\n");
    out.push_str(&format!("page_title: {}\n", yaml_string(page_title)));
    if let Some(sub) = subcategory {
        out.push_str(&format!("subcategory: {}\n", yaml_string(sub)));
    }
    let description = description.trim();
    if description.is_empty() {
        out.push_str("description: \"\"\n");
    } else {
        out.push_str("description: |-\n");
        for line in description.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out.push_str("---\n\n");
    out.push_str("<!-- Generated by `make docs` from the provider's schemas and examples/. Do not edit by hand. -->\n\n");
    out
}

/// A double-quoted YAML scalar.
fn yaml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Appends a markdown paragraph (nothing when empty).
fn push_paragraph(out: &mut String, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        out.push_str(text);
        out.push_str("\n\n");
    }
}

/// Appends a fenced code block; the fence outgrows any backtick run inside.
fn push_fence(out: &mut String, lang: &str, body: &str) {
    let fence = "`".repeat(3.max(longest_run(body, '`') + 1));
    out.push_str(&format!("{fence}{lang}\n{body}\n{fence}\n\n"));
}

/// The text of an example file without trailing whitespace; `None` when it is missing,
/// unreadable or empty.
fn read_example(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim_end();
    (!text.trim().is_empty()).then(|| text.to_string())
}

/// The "Import" section from `import.sh` (CLI) and `import.tf` (`import` blocks).
fn push_import(out: &mut String, examples: &Path) {
    let cli = read_example(&examples.join("import.sh"));
    let block = read_example(&examples.join("import.tf"));
    if cli.is_none() && block.is_none() {
        return;
    }
    out.push_str("## Import\n\n");
    if let Some(cli) = cli {
        out.push_str("Import is supported using the following syntax:\n\n");
        push_fence(out, "shell", &cli);
    }
    if let Some(block) = block {
        out.push_str("On Terraform 1.5 and later, an `import` block does the same:\n\n");
        push_fence(out, "terraform", &block);
    }
}

/// Trims trailing whitespace and ends the text with exactly one newline.
fn finish(text: String) -> String {
    let mut text = text.trim_end().to_string();
    text.push('\n');
    text
}

/// Where an attribute or nested block is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Required,
    Optional,
    ReadOnly,
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Required => "Required",
            Section::Optional => "Optional",
            Section::ReadOnly => "Read-Only",
        }
    }

    fn of_attribute(a: &Attribute) -> Section {
        if a.required {
            Section::Required
        } else if a.optional {
            Section::Optional
        } else {
            Section::ReadOnly
        }
    }

    fn of_block(b: &NestedBlock) -> Section {
        if b.min_items > 0 {
            Section::Required
        } else {
            Section::Optional
        }
    }
}

/// Something documented below its parent: a nested block, or the object inside an
/// attribute's type.
enum Child<'a> {
    Block(&'a Block),
    Object(&'a std::collections::BTreeMap<String, Type>, Section),
}

/// A section below the main list: its anchor id, dotted path and contents.
struct Nested<'a> {
    anchor: String,
    path: String,
    child: Child<'a>,
}

/// Appends `## Schema` for a top-level block, then every nested schema section.
fn push_schema(out: &mut String, block: &Block) {
    out.push_str("## Schema\n\n");
    let mut queue = Vec::new();
    let listed = push_block_lists(out, block, "", true, &mut queue);
    if !listed {
        out.push_str("This has no arguments or attributes.\n\n");
    }
    push_nested(out, queue);
}

/// Renders the queued nested sections depth first, in the order they were linked.
fn push_nested(out: &mut String, queue: Vec<Nested<'_>>) {
    for nested in queue {
        out.push_str(&format!(
            "<a id=\"{}\"></a>\n### Nested Schema for `{}`\n\n",
            nested.anchor, nested.path
        ));
        let mut children = Vec::new();
        match nested.child {
            Child::Block(block) => {
                if !push_block_lists(out, block, &nested.path, false, &mut children) {
                    out.push_str("This block has no arguments.\n\n");
                }
            }
            Child::Object(attrs, section) => {
                push_object_list(out, attrs, section, &nested.path, &mut children)
            }
        }
        push_nested(out, children);
    }
}

/// Appends the Required/Optional/Read-Only lists of `block` (sorted by name), queueing
/// what needs a nested section. `top` picks `###` headings over `Label:` lines.
/// Returns whether anything was listed.
fn push_block_lists<'a>(
    out: &mut String,
    block: &'a Block,
    path: &str,
    top: bool,
    queue: &mut Vec<Nested<'a>>,
) -> bool {
    enum Item<'a> {
        Attr(&'a Attribute),
        Block(&'a NestedBlock),
    }
    let mut items: Vec<(Section, &str, Item<'a>)> = block
        .attributes
        .iter()
        .map(|a| (Section::of_attribute(a), a.name.as_str(), Item::Attr(a)))
        .chain(
            block
                .blocks
                .iter()
                .map(|b| (Section::of_block(b), b.name.as_str(), Item::Block(b))),
        )
        .collect();
    items.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut current = None;
    for (i, (section, name, item)) in items.iter().enumerate() {
        if current != Some(*section) {
            current = Some(*section);
            if top {
                out.push_str(&format!("### {}\n\n", section.title()));
            } else {
                out.push_str(&format!("{}:\n\n", section.title()));
            }
        }
        let child_path = join_path(path, name);
        let line = match item {
            Item::Attr(a) => {
                let link = object_in(&a.ty).map(|attrs| {
                    let anchor = anchor("nestedatt", &child_path);
                    queue.push(Nested {
                        anchor: anchor.clone(),
                        path: child_path.clone(),
                        child: Child::Object(attrs, object_section(*section)),
                    });
                    anchor
                });
                attribute_line(a, link.as_deref())
            }
            Item::Block(b) => {
                let anchor = anchor("nestedblock", &child_path);
                queue.push(Nested {
                    anchor: anchor.clone(),
                    path: child_path.clone(),
                    child: Child::Block(&b.block),
                });
                block_line(b, &anchor)
            }
        };
        out.push_str(&line);
        out.push('\n');
        // A list ends before the next label or section.
        if items.get(i + 1).map(|next| next.0) != Some(*section) {
            out.push('\n');
        }
    }
    !items.is_empty()
}

/// The attributes of an object type, under the label its parent's section implies.
fn push_object_list<'a>(
    out: &mut String,
    attrs: &'a std::collections::BTreeMap<String, Type>,
    section: Section,
    path: &str,
    queue: &mut Vec<Nested<'a>>,
) {
    if attrs.is_empty() {
        out.push_str("An empty object.\n\n");
        return;
    }
    out.push_str(&format!("{}:\n\n", section.title()));
    for (name, ty) in attrs {
        let child_path = join_path(path, name);
        let mut line = format!("- {} ({})", code(name), type_label(ty));
        if let Some(inner) = object_in(ty) {
            let anchor = anchor("nestedatt", &child_path);
            line.push_str(&format!(" {}", see_below(&anchor)));
            queue.push(Nested {
                anchor,
                path: child_path,
                child: Child::Object(inner, section),
            });
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
}

/// Attributes of an object-typed value are all set together: required in
/// configuration, read-only when the provider sets the whole value.
fn object_section(parent: Section) -> Section {
    match parent {
        Section::ReadOnly => Section::ReadOnly,
        Section::Required | Section::Optional => Section::Required,
    }
}

/// `a.b` paths for nested headings.
fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// The anchor id of a nested section: `nestedblock--postgres--inner`.
fn anchor(kind: &str, path: &str) -> String {
    format!("{kind}--{}", path.replace('.', "--"))
}

fn see_below(anchor: &str) -> String {
    format!("(see [below for nested schema](#{anchor}))")
}

/// The object type inside `ty`, looking through lists, sets and maps.
fn object_in(ty: &Type) -> Option<&std::collections::BTreeMap<String, Type>> {
    match ty {
        Type::Object(attrs) => Some(attrs),
        Type::List(t) | Type::Set(t) | Type::Map(t) => object_in(t),
        _ => None,
    }
}

/// How a type reads in the docs: `String`, `List of String`, `Map of Number`, `Object`.
pub fn type_label(ty: &Type) -> String {
    match ty {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Bool".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(t) => format!("List of {}", type_label(t)),
        Type::Set(t) => format!("Set of {}", type_label(t)),
        Type::Map(t) => format!("Map of {}", type_label(t)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(ts) => format!(
            "Tuple of [{}]",
            ts.iter().map(type_label).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// One list entry for an attribute:
/// ``- `name` (String, Sensitive) Description. Default: `"x"`. Allowed: ... ``.
fn attribute_line(a: &Attribute, nested_anchor: Option<&str>) -> String {
    let mut flags = vec![type_label(&a.ty)];
    if a.sensitive {
        flags.push("Sensitive".into());
    }
    if a.write_only {
        flags.push("Write-only".into());
    }
    if a.deprecated {
        flags.push("Deprecated".into());
    }
    let mut notes = Vec::new();
    if let Some(default) = &a.default {
        notes.push(format!("Default: {}.", code(&hcl_literal(default))));
    }
    if !a.validators.is_empty() {
        let allowed: Vec<&str> = a
            .validators
            .iter()
            .map(|v| v.description.trim().trim_end_matches('.'))
            .filter(|d| !d.is_empty())
            .collect();
        if !allowed.is_empty() {
            notes.push(format!("Allowed: {}.", allowed.join("; ")));
        }
    }
    if !a.env.is_empty() {
        let label = if a.env.len() == 1 {
            "Environment variable"
        } else {
            "Environment variables"
        };
        let vars: Vec<String> = a.env.iter().map(|v| code(v)).collect();
        notes.push(format!("{label}: {}.", vars.join(", ")));
    }
    if a.requires_replace {
        notes.push("Changing it forces replacement.".into());
    }
    if a.write_only {
        notes.push(
            "Write-only: never stored in the plan or state (Terraform 1.11 and later).".into(),
        );
    }
    if let Some(anchor) = nested_anchor {
        notes.push(see_below(anchor));
    }
    entry(&a.name, &flags, &a.description, &notes)
}

/// One list entry for a nested block, linking to its section.
fn block_line(b: &NestedBlock, anchor: &str) -> String {
    let mut flags = vec![match b.nesting {
        Nesting::Single => "Block".to_string(),
        Nesting::List => "Block List".to_string(),
        Nesting::Set => "Block Set".to_string(),
    }];
    if b.nesting != Nesting::Single {
        if b.min_items > 0 {
            flags.push(format!("Min: {}", b.min_items));
        }
        if b.max_items > 0 {
            flags.push(format!("Max: {}", b.max_items));
        }
    }
    if b.block.deprecated {
        flags.push("Deprecated".into());
    }
    entry(&b.name, &flags, &b.block.description, &[see_below(anchor)])
}

/// ``- `name` (flags) description notes``, continuation lines indented into the item.
fn entry(name: &str, flags: &[String], description: &str, notes: &[String]) -> String {
    let mut text = description.trim().to_string();
    // A one-line description runs on into the notes; a longer one may end in a list,
    // table or code block, so the notes start a paragraph of their own.
    let multi_line = text.contains('\n');
    if !multi_line && needs_period(&text) {
        text.push('.');
    }
    for (i, note) in notes.iter().enumerate() {
        if i == 0 && multi_line {
            text.push_str("\n\n");
        } else if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(note);
    }
    let mut line = format!("- {} ({})", code(name), flags.join(", "));
    for (i, part) in text.lines().enumerate() {
        if i == 0 {
            line.push(' ');
            line.push_str(part);
        } else if part.trim().is_empty() {
            line.push('\n');
        } else {
            line.push_str("\n  ");
            line.push_str(part);
        }
    }
    line
}

/// Whether a description needs a closing full stop before notes follow it.
fn needs_period(text: &str) -> bool {
    !text.is_empty() && !text.ends_with(['.', '!', '?', ':']) && !text.ends_with("```")
}

/// An inline code span that survives backticks in `s`.
fn code(s: &str) -> String {
    let run = longest_run(s, '`');
    if run == 0 {
        return format!("`{s}`");
    }
    let fence = "`".repeat(run + 1);
    format!("{fence} {s} {fence}")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        cur = if ch == c { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

/// A value as it would be written in HCL: `"prefer"`, `5432`, `true`, `["a", "b"]`.
pub fn hcl_literal(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Unknown(_) => "(known after apply)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => hcl_string(s),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(hcl_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) if entries.is_empty() => "{}".into(),
        Value::Map(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(k, v)| {
                    let key = if is_identifier(k) {
                        k.clone()
                    } else {
                        hcl_string(k)
                    };
                    format!("{key} = {}", hcl_literal(v))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A quoted HCL string; template sequences are escaped so the text stays literal.
fn hcl_string(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What a description must leave to the schema: the phrases that state a default or a
/// replacement, which [`attribute_line`] renders from `default` and `requires_replace`
/// ("Default: `x`.", "Changing it forces replacement."). Returns the facts `a`'s
/// description restates, by name.
pub fn restated_facts(a: &Attribute) -> Vec<&'static str> {
    let text = a.description.as_str();
    let mut out = Vec::new();
    if a.default.is_some()
        && ["Default `", "Default: `", "Defaults to "]
            .iter()
            .any(|p| text.contains(p))
    {
        out.push("default");
    }
    if a.requires_replace
        && ["replaces the", "forces replacement", "Changing it replaces"]
            .iter()
            .any(|p| text.contains(p))
    {
        out.push("replacement");
    }
    out
}

/// [`restated_facts`] of every attribute of `block` and its nested blocks, as
/// `<path>.<attribute>: ...` lines.
fn restated_in_block(block: &Block, path: &str, out: &mut Vec<String>) {
    for a in &block.attributes {
        for fact in restated_facts(a) {
            out.push(format!(
                "{path}.{}: the description states the {fact}, which the page renders from the schema; drop it from the description",
                a.name
            ));
        }
    }
    for b in &block.blocks {
        restated_in_block(&b.block, &format!("{path}.{}", b.name), out);
    }
}

#[cfg(test)]
#[path = "docs_tests.rs"]
mod tests;
