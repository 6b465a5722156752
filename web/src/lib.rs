//! The consumer wallet app.
//!
//! Screen logic lives in plain types ([`screens`]) tested natively; [`app`] renders them.

pub mod app;
pub mod screens;

pub use app::App;
