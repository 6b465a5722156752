//! The merchant point-of-sale app.
//!
//! What the screens show is decided by plain types tested natively ([`keypad`],
//! [`screens`], [`pin`]); the terminal's flows run the till engine in the browser
//! ([`terminal`]); the components ([`app`], [`sale`], [`office`], [`setup`]) only render
//! them and send events.

pub mod app;
pub mod credentials;
pub mod keypad;
pub mod kiosk;
pub mod office;
pub mod pin;
pub mod sale;
pub mod screens;
pub mod settings;
pub mod setup;
pub mod terminal;

pub use app::App;

/// Turns an error's text into a sentence for the screen: capital first letter, full stop.
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let s = format!("{}{}", first.to_uppercase(), chars.as_str());
            if s.ends_with(['.', '!', '?']) {
                s
            } else {
                format!("{s}.")
            }
        }
        None => String::new(),
    }
}
