//! The same API suite against a real PostgreSQL started by the test on loopback: every
//! scenario of the list in `suite::api_suite!`, shared with `api_sqlite.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::suite;

suite::api_suite!(postgres);
