//! Every integration test of `ops-issuer`, one module per former test file, in one test
//! binary: each test binary links sqlx, axum and reqwest, and compiles the shared harness
//! (`common`) and API suite (`suite`) again, so one binary instead of nineteen saves most
//! of that build time. Run one file's tests with `cargo test -p ops-issuer --test
//! integration <module>::` (e.g. `till_flows::`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod suite;

mod api_postgres;
mod api_sqlite;
mod clearing;
mod cli;
mod deposit_batch;
mod devices;
mod engine_flows;
mod migration_0006;
mod migration_0008;
mod settlement_attacks;
mod settlement_property;
mod settlement_revocation;
mod store;
mod store_batch;
mod synced_passkeys;
mod terminals;
mod till_flows;
mod two_fis;
