//! Which screen the wallet shows, and what each primary action offers.

/// A screen of the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Balance and the primary actions.
    Home,
    /// Pay a merchant or another wallet (scan their request).
    Pay,
    /// Receive from another wallet (show a request).
    Receive,
    /// Load money from the bank account (online).
    AddMoney,
    /// Past payments.
    Activity,
    /// QR speed, camera, storage, this device.
    Settings,
}

/// Every screen.
pub const ALL: [Screen; 6] = [
    Screen::Home,
    Screen::Pay,
    Screen::Receive,
    Screen::AddMoney,
    Screen::Activity,
    Screen::Settings,
];

/// The screen the page's address names.
pub fn from_location() -> Screen {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .map_or(Screen::Home, |h| Screen::from_slug(&h))
}

/// Writes `screen` into the address without adding a history entry per screen.
pub fn to_location(screen: Screen) {
    if let Some(w) = web_sys::window() {
        let url = format!("#{}", screen.slug());
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    }
}

/// A primary action button on the home screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// The screen it opens.
    pub screen: Screen,
    /// Button label.
    pub label: &'static str,
    /// One line under the label.
    pub hint: &'static str,
    /// Keyboard shortcut (a single lower-case letter).
    pub shortcut: char,
}

/// The primary actions, in the order they appear.
pub const ACTIONS: [Action; 4] = [
    Action {
        screen: Screen::Pay,
        label: "Pay",
        hint: "Scan a shop's code",
        shortcut: 'p',
    },
    Action {
        screen: Screen::Receive,
        label: "Receive",
        hint: "From another wallet",
        shortcut: 'r',
    },
    Action {
        screen: Screen::AddMoney,
        label: "Add money",
        hint: "From your bank",
        shortcut: 'a',
    },
    Action {
        screen: Screen::Activity,
        label: "Activity",
        hint: "Your payments",
        shortcut: 'h',
    },
];

impl Screen {
    /// Heading shown at the top of the screen.
    pub fn title(self) -> &'static str {
        match self {
            Self::Home => "Wallet",
            Self::Pay => "Pay",
            Self::Receive => "Receive",
            Self::AddMoney => "Add money",
            Self::Activity => "Activity",
            Self::Settings => "Settings",
        }
    }

    /// The name of the screen in the address (`#pay`), so a reload opens the same screen.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Home => "",
            Self::Pay => "pay",
            Self::Receive => "receive",
            Self::AddMoney => "add-money",
            Self::Activity => "activity",
            Self::Settings => "settings",
        }
    }

    /// The screen an address fragment names (home for anything unknown).
    pub fn from_slug(slug: &str) -> Self {
        let slug = slug.trim_start_matches('#');
        ALL.iter()
            .copied()
            .find(|s| s.slug() == slug)
            .unwrap_or(Self::Home)
    }

    /// What the user needs before this screen can move money. `None` for the home screen.
    pub fn prerequisite(self) -> Option<&'static str> {
        match self {
            Self::Home => None,
            Self::Pay => Some(
                "Paying needs money in this wallet. Set the wallet up with your bank, add money while online, then pay anywhere, even with no network.",
            ),
            Self::Receive => Some(
                "Receiving needs this wallet to be certified by your bank, so payers can check who you are offline. Set it up while online.",
            ),
            Self::AddMoney => Some(
                "Adding money needs a connection to your bank and a security key or passkey device that stays on this phone.",
            ),
            Self::Activity => {
                Some("No payments yet. Payments you make or receive appear here, newest first.")
            }
            Self::Settings => None,
        }
    }

    /// The screen a key press leads to from this screen, if any: action shortcuts on the
    /// home screen, `Escape` back to it from anywhere else.
    pub fn after_key(self, key: &str) -> Option<Screen> {
        match (self, key) {
            (Self::Home, "s" | "S") => Some(Self::Settings),
            (Self::Home, key) => {
                let mut chars = key.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else {
                    return None;
                };
                let c = c.to_ascii_lowercase();
                ACTIONS.iter().find(|a| a.shortcut == c).map(|a| a.screen)
            }
            (_, "Escape" | "Backspace") => Some(Self::Home),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_open_each_action_from_home_only() {
        for action in ACTIONS {
            let key = action.shortcut.to_string();
            assert_eq!(Screen::Home.after_key(&key), Some(action.screen));
            assert_eq!(
                Screen::Home.after_key(&key.to_uppercase()),
                Some(action.screen)
            );
            assert_eq!(action.screen.after_key(&key), None);
        }
        assert_eq!(Screen::Home.after_key("x"), None);
        assert_eq!(Screen::Home.after_key("pp"), None);
    }

    #[test]
    fn escape_returns_home() {
        for action in ACTIONS {
            assert_eq!(action.screen.after_key("Escape"), Some(Screen::Home));
        }
        assert_eq!(Screen::Home.after_key("Escape"), None);
    }

    #[test]
    fn shortcuts_are_distinct_and_every_action_explains_itself() {
        for (i, a) in ACTIONS.iter().enumerate() {
            assert!(ACTIONS[i + 1..].iter().all(|b| b.shortcut != a.shortcut));
            assert!(a.screen.prerequisite().is_some());
            assert_eq!(a.screen.title(), a.label);
        }
        assert_eq!(Screen::Home.prerequisite(), None);
    }

    #[test]
    fn every_screen_round_trips_through_the_address() {
        for s in ALL {
            assert_eq!(Screen::from_slug(&format!("#{}", s.slug())), s);
        }
        assert_eq!(Screen::from_slug("#nonsense"), Screen::Home);
        assert_eq!(Screen::Home.after_key("s"), Some(Screen::Settings));
    }
}
