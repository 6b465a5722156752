//! The consumer wallet app.
//!
//! Screen logic lives in plain types ([`screens`]) tested natively; [`app`] renders them.

pub mod amounts;
pub mod app;
pub mod fi;
pub mod history;
pub mod screens;
pub mod session;
pub mod wallet;

pub use app::App;
