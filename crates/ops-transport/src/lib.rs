//! Offline transports for OPS payments, without I/O (builds for wasm32 and native).
//!
//! - [`collect`]: the receiver's bookkeeping of an animated transfer (which frames, how
//!   far, when to rebuild), without the fountain decoder.
//! - [`fountain`]: animated QR — a message as RaptorQ fountain-coded frames
//!   ([`AnimatedEncoder`]) and the receiver that rebuilds it from any large-enough set of
//!   frames ([`AnimatedDecoder`]); small messages are one static code.
//! - [`frame`]: one frame's layout, checksum and QR-alphanumeric text ([`base45`]).
//! - [`qr`]: frame text → QR module matrix, and camera luma image → frame texts.
//! - [`ndef`]: NDEF records and messages, chunking, tag capacities.
//! - [`transport`]: the transport-neutral interface the apps use.
//! - [`sim`]: loss simulation shared by tests and benchmarks.
//! - [`y4m`]: a fake-camera video of frames for the browser tests.
//!
//! The wire formats are in `docs/TRANSPORT.md`.

pub mod base45;
pub mod collect;
pub mod fountain;
pub mod frame;
pub mod limits;
pub mod message;
pub mod ndef;

pub use collect::{Collected, FrameCollector, Progress, RebuildJob, ScanError};
pub use fountain::{AnimatedDecoder, AnimatedEncoder, ScanStatus};
pub use limits::{Limits, Preset};
pub use message::{Message, MessageKind};
pub mod qr;
pub mod sim;
pub mod transport;
pub mod y4m;
pub use transport::{
    Outgoing, ReceiveStatus, Receiver, SendOptions, TransportError, TransportKind,
};
