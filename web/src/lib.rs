//! The consumer wallet app.
//!
//! Screen logic lives in plain types ([`screens`]) tested natively; [`app`] renders them.

pub mod amounts;
pub mod app;
pub mod history;
pub mod home;
pub mod pay;
pub mod receive;
pub mod screens;
pub mod session;
pub mod settings;
pub mod wallet;

pub use app::App;
pub use ops_browser::fi;
pub use ops_transport_web::transfer;
