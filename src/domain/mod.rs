//! What the provider knows of its domain without Terraform, a backend or a resource: the
//! closed sets of words ([`enums`]), the settings' defaults ([`defaults`]), pure checks of
//! names and paths ([`checks`]). Every other layer may use it; it uses nothing of theirs (the layering
//! test in `src/layering.rs` holds `backends/` and `sql/` to the same).

pub mod checks;
pub mod defaults;
pub mod enums;
