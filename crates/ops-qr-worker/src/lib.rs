//! The QR decoder worker: sampled camera frames are decoded with rqrr in a dedicated Web
//! Worker with its own WebAssembly instance. rqrr can hit an internal assertion on rare
//! degenerate images (upstream rqrr issue #54); with `panic = "abort"` that is a wasm trap,
//! and a trap in the page would leave the app's state broken. In a worker it kills only
//! the worker, which the page terminates and starts again.
//!
//! - [`decode`]: the decoding itself, plain Rust (checked natively).
//! - [`fountain`]: the fountain code's heavy half for the page — the frames of a message
//!   to show, and a message rebuilt from collected frames (RaptorQ lives only here).
//! - [`protocol`]: the messages between the page and the worker (shared by both sides;
//!   `ops-transport-web` sends the frames, the `ops-qr-worker` binary answers).
//!
//! Feature `test-hooks` (test builds only): a frame message with `fault: "trap"` makes the
//! worker trap, `fault: "hang"` makes it spin without answering, so the end-to-end tests
//! can show the scanner survives a crashed or hung worker.

pub mod decode;
pub mod fountain;
pub mod protocol;

pub use decode::{FrameError, decode_rgba};
