//! Browser side of the offline transports (Leptos, WebAssembly).
//!
//! - [`canvas`]: a QR code drawn on a `<canvas>` with its quiet zone, sized for a phone
//!   camera at arm's length.
//! - [`player`]: the animated QR player component ([`player::AnimatedQr`]).
//! - [`scanner`]: the camera scanner component ([`scanner::QrScanner`]); its decisions
//!   (throttling, messages for camera problems) are plain types in [`scan_logic`].
//! - [`decoder`]: what decodes the sampled frames — `BarcodeDetector`, rqrr in the QR
//!   worker ([`worker_decoder`], the `ops-qr-worker` crate) or rqrr in the page; the
//!   choice and the worker's supervision are plain types in [`decode_logic`].
//! - [`nfc`]: the WebNFC binding ([`nfc::WebNfc`]: read, write, abort) with feature
//!   detection; `NDEFReader` is declared here because web-sys has none.
//! - [`views`]: the single interface the apps use — [`views::SendMessageView`] and
//!   [`views::ReceiveMessageView`], with QR or NFC behind them.
//!
//! - [`transfer`]: what both apps put on screen to take a message in (camera, NFC, text,
//!   file: [`transfer::MessageIn`]) and to give one out ([`transfer::MessageOut`]).
//!
//! The formats and limits live in the `ops-transport` crate (no I/O).

pub mod canvas;
pub mod decode_logic;
pub mod decoder;
pub mod nfc;
pub mod player;
pub mod scan_logic;
pub mod scanner;
pub mod transfer;
pub mod views;
pub mod worker_decoder;

pub use ops_transport::{Message, MessageKind, Preset, SendOptions, TransportKind};
