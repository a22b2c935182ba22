//! Table tests of the database's decisions, one row per branch.

use super::decide::*;
use super::*;
