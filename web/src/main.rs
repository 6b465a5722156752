//! Entry point of the wallet bundle.

fn main() {
    leptos::mount::mount_to_body(ops_wallet::App);
}
