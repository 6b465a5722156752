//! The QR decoder Web Worker's entry point (built by Trunk with `data-type="worker"`):
//! announces itself with `{type: "ready"}`, then answers every `decode`, `encode` and
//! `rebuild` message (see
//! `ops_qr_worker::protocol`).

#[cfg(target_arch = "wasm32")]
mod run;

#[cfg(target_arch = "wasm32")]
fn main() {
    run::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "ops-qr-worker runs in a browser Web Worker: build it with Trunk (a `data-type=\"worker\"` link, see tests/transport-page/index.html)."
    );
}
