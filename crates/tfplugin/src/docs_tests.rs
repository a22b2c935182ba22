//! Tests of the docs renderer: sample schemas rendered to pages, and the example provider.

use super::*;
use crate::testing::example::ExampleProvider;
use crate::Validator;

/// The names the sample pages below are written with.
const DBAAS: Docs<'static> = Docs {
    name: "dbaas",
    repo: "terraform-provider-dbaas",
};

fn sample() -> Schema {
    let inner = Block::new("Inner settings.").attr(
        Attribute::number("depth")
            .required()
            .description("How deep"),
    );
    let mut conn = Block::new("A connection.")
        .attr(
            Attribute::string("password")
                .optional()
                .sensitive()
                .write_only()
                .description("Its password."),
        )
        .attr(
            Attribute::string("host")
                .optional()
                .env(&["PGHOST"])
                .description("Host."),
        )
        .single_block("inner", inner);
    conn.deprecated = true;
    let mut block = Block::new("A thing.\n\nWith two paragraphs.")
        .attr(
            Attribute::string("name")
                .required()
                .requires_replace()
                .description("Its name")
                .validate(Validator::one_of(&["a", "b"])),
        )
        .attr(
            Attribute::typed("commands", Type::list_of(Type::String))
                .default(Value::from_strings(["+@all", "${x}"]))
                .description("Commands."),
        )
        .attr(Attribute::string("id").computed().description("The id."))
        .attr(
            Attribute::typed(
                "pools",
                Type::list_of(Type::Object(
                    [
                        ("user".to_string(), Type::String),
                        ("cl_active".to_string(), Type::Number),
                    ]
                    .into(),
                )),
            )
            .computed(),
        );
    block.blocks.push(NestedBlock {
        name: "conn".into(),
        nesting: Nesting::List,
        block: conn,
        min_items: 1,
        max_items: 3,
    });
    Schema::new(block)
}

/// Writes `files` (path below `root`, contents), creating their directories.
fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = root.join(path);
        let dir = path.parent().expect("a file inside a directory");
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(&path, contents).expect("write");
    }
}

fn page() -> String {
    DBAAS.render_type_page(
        Kind::Resource,
        "dbaas_thing",
        &sample(),
        Path::new("/nonexistent"),
    )
}

#[test]
fn page_has_front_matter_title_and_one_trailing_newline() {
    let page = page();
    assert!(page.starts_with(
        "---\npage_title: \"dbaas_thing Resource - terraform-provider-dbaas\"\nsubcategory: \"\"\ndescription: |-\n  A thing.\n\n  With two paragraphs.\n---\n"
    ));
    assert!(page
        .contains("\n# dbaas_thing (Resource)\n\nA thing.\n\nWith two paragraphs.\n\n## Schema\n"));
    assert!(page.ends_with("- `user` (String)\n"), "{page}");
    assert!(!page.contains("## Example Usage") && !page.contains("## Import"));
}

#[test]
fn sections_sort_by_name_and_flags_read_in_order() {
    let page = page();
    let expected = "### Required\n\n\
        - `conn` (Block List, Min: 1, Max: 3, Deprecated) A connection. (see [below for nested schema](#nestedblock--conn))\n\
        - `name` (String) Its name. Allowed: one of `a`, `b`. Changing it forces replacement.\n\n\
        ### Optional\n\n\
        - `commands` (List of String) Commands. Default: `[\"+@all\", \"$${x}\"]`.\n\n\
        ### Read-Only\n\n\
        - `id` (String) The id.\n\
        - `pools` (List of Object) (see [below for nested schema](#nestedatt--pools))\n\n";
    assert!(page.contains(expected), "{page}");
}

#[test]
fn nested_sections_follow_depth_first_with_anchors() {
    let page = page();
    let conn = page
        .find("<a id=\"nestedblock--conn\"></a>\n### Nested Schema for `conn`\n\nOptional:\n\n- `host` (String) Host. Environment variable: `PGHOST`.\n- `inner` (Block) Inner settings. (see [below for nested schema](#nestedblock--conn--inner))\n- `password` (String, Sensitive, Write-only) Its password. Write-only: never stored in the plan or state (Terraform 1.11 and later).\n\n")
        .expect(&page);
    let inner = page
        .find("<a id=\"nestedblock--conn--inner\"></a>\n### Nested Schema for `conn.inner`\n\nRequired:\n\n- `depth` (Number) How deep.\n")
        .expect(&page);
    let pools = page
        .find("<a id=\"nestedatt--pools\"></a>\n### Nested Schema for `pools`\n\nRead-Only:\n\n- `cl_active` (Number)\n- `user` (String)\n")
        .expect(&page);
    assert!(conn < inner && inner < pools);
}

#[test]
fn examples_import_and_guides_come_from_the_tree() {
    let root = tempfile::tempdir().expect("tempdir");
    write_tree(
        root.path(),
        &[
            (
                "examples/resources/dbaas_thing/resource.tf",
                "resource \"dbaas_thing\" \"x\" {}\n\n",
            ),
            (
                "examples/resources/dbaas_thing/import.sh",
                "terraform import dbaas_thing.x x\n",
            ),
            (
                "examples/resources/dbaas_thing/import.tf",
                "import {\n  to = dbaas_thing.x\n  id = \"x\"\n}\n",
            ),
            (
                "templates/guides/ci.md",
                "---\npage_title: CI\n---\n\n# CI\n\n",
            ),
            ("templates/guides/notes.txt", "ignored"),
        ],
    );

    let page = DBAAS.render_type_page(Kind::Resource, "dbaas_thing", &sample(), root.path());
    assert!(page.contains(
        "## Example Usage\n\n```terraform\nresource \"dbaas_thing\" \"x\" {}\n```\n\n## Schema\n"
    ));
    assert!(page.contains(
        "## Import\n\nImport is supported using the following syntax:\n\n```shell\nterraform import dbaas_thing.x x\n```\n\n\
         On Terraform 1.5 and later, an `import` block does the same:\n\n```terraform\nimport {\n"
    ));
    assert!(page.ends_with("}\n```\n"), "{page}");

    let data = DBAAS.render_type_page(Kind::DataSource, "dbaas_thing", &sample(), root.path());
    assert!(!data.contains("## Example Usage") && !data.contains("## Import"));

    let files = DBAAS.render_all(&ExampleProvider, root.path());
    let guide = files
        .iter()
        .find(|(p, _)| p == Path::new("docs/guides/ci.md"))
        .expect("guide copied");
    assert_eq!(guide.1, "---\npage_title: CI\n---\n\n# CI\n");
    assert!(!files.iter().any(|(p, _)| p.ends_with("notes.txt")));
}

#[test]
fn provider_examples_get_headings_and_guides_expand_codefile_lines() {
    let root = tempfile::tempdir().expect("tempdir");
    write_tree(
        root.path(),
        &[
            (
                "examples/provider/provider.tf",
                "# Every block.\nprovider \"dbaas\" {}\n",
            ),
            (
                "examples/provider/a-ci/provider.tf",
                "# A CI runner:\nprovider \"dbaas\" {}\n",
            ),
            (
                "examples/provider/a-ci/versions.tf",
                "terraform { required_version = \">= 1.0\" }\n",
            ),
            ("examples/provider/notes.md", "not an example"),
        ],
    );
    let page = DBAAS.render_provider_page(&sample(), root.path());
    let every = page
        .find("### Every block\n\n```terraform\n# Every block.")
        .expect(&page);
    let ci = page.find("### A CI runner\n\n```terraform\n").expect(&page);
    assert!(every < ci, "provider.tf comes first: {page}");
    assert!(!page.contains("not an example"));
    assert!(
        !page.contains("required_version"),
        "versions.tf is not shown: {page}"
    );

    write_tree(
        root.path(),
        &[
            ("policies/p.hcl", "path \"x\" {}\n"),
            (
                "templates/guides/policy.md",
                "# P\n\n{{ codefile \"hcl\" \"policies/p.hcl\" }}\n{{ codefile \"hcl\" \"policies/none.hcl\" }}\n",
            ),
        ],
    );
    let files = DBAAS.render_all(&ExampleProvider, root.path());
    let guide = &files
        .iter()
        .find(|(p, _)| p == Path::new("docs/guides/policy.md"))
        .expect("guide")
        .1;
    assert_eq!(
        guide,
        "# P\n\n```hcl\npath \"x\" {}\n```\n\n**Missing file `policies/none.hcl`.**\n"
    );
}

#[test]
fn every_fact_is_rendered_from_the_schema() {
    let a = Attribute::string("host")
        .default(Value::string("db"))
        .env(&["PGHOST", "DBHOST"])
        .requires_replace()
        .validate(Validator::new("a host name", |_| Ok(())))
        .description("Host");
    assert_eq!(
        attribute_line(&a, None),
        "- `host` (String) Host. Default: `\"db\"`. Allowed: a host name. \
         Environment variables: `PGHOST`, `DBHOST`. Changing it forces replacement."
    );
}

#[test]
fn multi_line_descriptions_stay_inside_the_list_item() {
    let a = Attribute::string("x")
        .optional()
        .description("First.\n\nSecond:\n- one")
        .requires_replace();
    assert_eq!(
        attribute_line(&a, None),
        "- `x` (String) First.\n\n  Second:\n  - one\n\n  Changing it forces replacement."
    );
}

#[test]
fn type_labels_and_literals() {
    assert_eq!(
        type_label(&Type::map_of(Type::set_of(Type::Bool))),
        "Map of Set of Bool"
    );
    assert_eq!(hcl_literal(&Value::int(-1)), "-1");
    assert_eq!(hcl_literal(&Value::string("a\"b\n")), "\"a\\\"b\\n\"");
    let mut m = Value::Map(Default::default());
    m.set("a-b", Value::Bool(true));
    m.set("c d", Value::Null);
    assert_eq!(hcl_literal(&m), "{ a-b = true, \"c d\" = null }");
    assert_eq!(code("a`b"), "`` a`b ``");
}

#[test]
fn doc_paths_drop_the_provider_prefix() {
    assert_eq!(
        DBAAS.doc_path(Kind::DataSource, "dbaas_endpoints"),
        PathBuf::from("docs/data-sources/endpoints.md")
    );
    assert_eq!(
        DBAAS.doc_path(Kind::EphemeralResource, "dbaas_database_credentials"),
        PathBuf::from("docs/ephemeral-resources/database_credentials.md")
    );
}

#[test]
fn render_all_is_deterministic_and_complete() {
    let docs = Docs {
        name: "example",
        repo: "tfplugin-example-provider",
    };
    let root = Path::new("/nonexistent");
    let a = docs.render_all(&ExampleProvider, root);
    assert_eq!(a, docs.render_all(&ExampleProvider, root));
    let paths: Vec<_> = a.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        paths,
        [
            "docs/data-sources/echo.md",
            "docs/ephemeral-resources/token.md",
            "docs/index.md",
            "docs/resources/thing.md",
        ]
        .map(PathBuf::from)
    );
    let index = &a[2].1;
    assert!(index.contains("# example Provider\n"), "{index}");
    assert!(
        index.contains("Environment variable: `EXAMPLE_PREFIX`."),
        "{index}"
    );
    assert!(a[3]
        .1
        .starts_with("---\npage_title: \"example_thing Resource - tfplugin-example-provider\"\n"));
}

#[test]
fn a_description_leaves_defaults_and_replacement_to_the_schema() {
    let base = || Attribute::string("x").optional();
    let table: Vec<(&str, Attribute, Vec<&str>)> = vec![
        (
            "plain description",
            base()
                .default(Value::string("a"))
                .requires_replace()
                .description("Its name."),
            vec![],
        ),
        (
            "default stated with a default",
            base()
                .default(Value::string("a"))
                .description("Its name. Default `\"a\"`."),
            vec!["default"],
        ),
        (
            "default stated with a colon",
            base()
                .default(Value::string("a"))
                .description("Its name. Default: `\"a\"`."),
            vec!["default"],
        ),
        (
            "default worded without a schema default",
            base().description("Its name. Default `a`."),
            vec![],
        ),
        (
            "replacement stated",
            base()
                .requires_replace()
                .description("Changing it replaces the thing."),
            vec!["replacement"],
        ),
        (
            "replacement worded without requires_replace",
            base().description("Changing it replaces the thing."),
            vec![],
        ),
        (
            "both stated",
            base()
                .default(Value::Bool(true))
                .requires_replace()
                .description("Default `true`. Changing it forces replacement."),
            vec!["default", "replacement"],
        ),
    ];
    for (situation, a, want) in table {
        assert_eq!(restated_facts(&a), want, "{situation}");
        let line = attribute_line(&a, None);
        if want.is_empty() {
            assert!(line.matches("Default").count() <= 1, "{situation}: {line}");
            assert!(line.matches("replace").count() <= 1, "{situation}: {line}");
        }
    }
}
