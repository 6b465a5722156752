//! Entry point of the POS bundle.

fn main() {
    leptos::mount::mount_to_body(ops_pos::App);
}
