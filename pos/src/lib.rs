//! The merchant point-of-sale app.
//!
//! Amount entry lives in a plain type ([`keypad`]) tested natively; [`app`] renders it.

pub mod app;
pub mod keypad;

pub use app::App;
