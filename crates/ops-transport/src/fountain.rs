//! Animated QR: a message split into RaptorQ-coded frames, and the receiver that
//! rebuilds it from any large-enough set of them.
//!
//! RaptorQ (RFC 6330) is systematic: frames `0..K` carry the message itself, frames from
//! `K` on are repair symbols, each different. A receiver that has any `K` (rarely `K+1`
//! or `K+2`) distinct frames rebuilds the message, whatever it missed and in whatever
//! order it saw them. Small messages go as one static code instead.

use crate::frame::{self, FountainFrame, Frame, FrameError};
use crate::limits::{HARD_MAX_MESSAGE_BYTES, Limits, Preset};
use crate::message::{Message, MessageKind};
use raptorq::{
    EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockDecoder,
    SourceBlockEncoder,
};
use std::collections::BTreeSet;

/// RaptorQ encoding-symbol ids are 24-bit.
const ESI_SPACE: u32 = 1 << 24;

/// Why a message cannot be turned into frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Nothing to send.
    #[error("cannot send an empty message")]
    Empty,
    /// The message is above the transport's hard bound.
    #[error("message of {length} bytes exceeds the transport limit of {max} bytes")]
    TooLarge {
        /// The message length.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// The preset's symbol size is unusable.
    #[error("the preset's symbol size must be at least 16 bytes")]
    BadPreset,
    /// The message needs more frames than a receiver with default limits accepts.
    #[error("message needs {symbols} frames at this preset; use a larger symbol size")]
    TooManyFrames {
        /// Source symbols needed.
        symbols: u32,
    },
}

/// The sender's side: the frames of one message, generated on demand.
#[derive(Debug, Clone)]
pub struct AnimatedEncoder {
    kind: MessageKind,
    length: u32,
    message_crc: u32,
    symbol_size: usize,
    source_symbols: u32,
    padded: Vec<u8>,
    repair: Option<SourceBlockEncoder>,
    static_text: Option<String>,
}

impl AnimatedEncoder {
    /// Prepares the frames of `message` at `preset`. A message no larger than one symbol
    /// becomes a single static code.
    pub fn new(message: &Message, preset: Preset) -> Result<Self, EncodeError> {
        let length = message.body.len();
        if length == 0 {
            return Err(EncodeError::Empty);
        }
        let max = Limits::DEFAULT.message_cap().min(HARD_MAX_MESSAGE_BYTES);
        if length > max {
            return Err(EncodeError::TooLarge { length, max });
        }
        let symbol_size = usize::from(preset.symbol_size);
        if symbol_size < 16 {
            return Err(EncodeError::BadPreset);
        }
        let source_symbols = frame::source_symbols(length, symbol_size);
        if source_symbols > Limits::DEFAULT.max_source_symbols {
            return Err(EncodeError::TooManyFrames {
                symbols: source_symbols,
            });
        }
        let length_u32 =
            u32::try_from(length).map_err(|_| EncodeError::TooLarge { length, max })?;
        let message_crc = crc32fast::hash(&message.body);
        if length <= symbol_size {
            let text = Frame::Static {
                kind: message.kind,
                body: message.body.clone(),
            }
            .to_text();
            return Ok(Self {
                kind: message.kind,
                length: length_u32,
                message_crc,
                symbol_size,
                source_symbols: 1,
                padded: Vec::new(),
                repair: None,
                static_text: Some(text),
            });
        }
        let mut padded = message.body.clone();
        padded.resize(source_symbols as usize * symbol_size, 0);
        let config =
            ObjectTransmissionInformation::new(u64::from(length_u32), preset.symbol_size, 1, 1, 1);
        let repair = SourceBlockEncoder::new(0, &config, &padded);
        Ok(Self {
            kind: message.kind,
            length: length_u32,
            message_crc,
            symbol_size,
            source_symbols,
            padded,
            repair: Some(repair),
            static_text: None,
        })
    }

    /// True when the whole message is one static code.
    pub fn is_static(&self) -> bool {
        self.static_text.is_some()
    }

    /// Frames a receiver needs without loss (`K`).
    pub fn source_symbols(&self) -> u32 {
        self.source_symbols
    }

    /// The message type.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The text of frame `index` (0, 1, 2, … for as long as the animation runs; every
    /// index gives a different frame up to 2^24, then the sequence repeats).
    pub fn frame_text(&self, index: u32) -> String {
        if let Some(text) = &self.static_text {
            return text.clone();
        }
        let esi = index % ESI_SPACE;
        let symbol = if esi < self.source_symbols {
            let start = esi as usize * self.symbol_size;
            self.padded
                .get(start..start + self.symbol_size)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        } else {
            self.repair
                .as_ref()
                .and_then(|encoder| {
                    encoder
                        .repair_packets(esi - self.source_symbols, 1)
                        .into_iter()
                        .next()
                })
                .map(|packet| packet.split().1)
                .unwrap_or_default()
        };
        Frame::Fountain(FountainFrame {
            kind: self.kind,
            length: self.length,
            message_crc: self.message_crc,
            esi,
            symbol,
        })
        .to_text()
    }

    /// The first `count` frame texts.
    pub fn frames(&self, count: u32) -> Vec<String> {
        (0..count).map(|index| self.frame_text(index)).collect()
    }
}

/// How far a transfer has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The type of the message being received.
    pub kind: MessageKind,
    /// Distinct frames received so far.
    pub received: u32,
    /// Frames needed without loss (`K`); RaptorQ may need one or two more.
    pub needed: u32,
}

impl Progress {
    /// Fraction known, in `0.0..=0.99` until the message is complete.
    pub fn fraction(&self) -> f32 {
        if self.needed == 0 {
            return 0.0;
        }
        (self.received as f32 / self.needed as f32).min(0.99)
    }
}

/// What one scanned frame did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanStatus {
    /// A transfer is under way.
    Collecting(Progress),
    /// The message is complete and checked.
    Complete(Message),
}

/// Why a scanned frame was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// The frame itself is unusable (corrupt, foreign, over a limit).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The frame belongs to another type of message than the one awaited.
    #[error("this code holds a {got}, but a {expected} is expected")]
    WrongKind {
        /// The awaited type.
        expected: &'static str,
        /// What the code holds.
        got: &'static str,
    },
    /// The rebuilt message failed its checksum; the transfer restarts.
    #[error("the received message is corrupt; keep the camera on the code to start again")]
    Corrupt,
    /// Too many frames without success; the transfer restarts.
    #[error(
        "the transfer did not complete after {0} frames; keep the camera on the code to start again"
    )]
    GaveUp(u32),
}

struct Session {
    kind: MessageKind,
    length: u32,
    message_crc: u32,
    symbol_size: usize,
    needed: u32,
    seen: BTreeSet<u32>,
    decoder: SourceBlockDecoder,
}

impl Session {
    fn matches(&self, frame: &FountainFrame) -> bool {
        self.kind == frame.kind
            && self.length == frame.length
            && self.message_crc == frame.message_crc
            && self.symbol_size == frame.symbol.len()
    }

    fn progress(&self) -> Progress {
        Progress {
            kind: self.kind,
            received: u32::try_from(self.seen.len()).unwrap_or(u32::MAX),
            needed: self.needed,
        }
    }
}

/// The receiver's side: feed it every text the camera decodes.
pub struct AnimatedDecoder {
    limits: Limits,
    expecting: Option<MessageKind>,
    session: Option<Session>,
}

impl std::fmt::Debug for AnimatedDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnimatedDecoder")
            .field("limits", &self.limits)
            .field("expecting", &self.expecting)
            .field("progress", &self.progress())
            .finish()
    }
}

impl AnimatedDecoder {
    /// A receiver for any message type, with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            expecting: None,
            session: None,
        }
    }

    /// A receiver that accepts only messages of `kind`.
    pub fn expecting(kind: MessageKind, limits: Limits) -> Self {
        Self {
            limits,
            expecting: Some(kind),
            session: None,
        }
    }

    /// Progress of the current transfer, if one has started.
    pub fn progress(&self) -> Option<Progress> {
        self.session.as_ref().map(Session::progress)
    }

    /// Forgets the current transfer.
    pub fn reset(&mut self) {
        self.session = None;
    }

    fn check_kind(&self, kind: MessageKind) -> Result<(), ScanError> {
        match self.expecting {
            Some(expected) if expected != kind => Err(ScanError::WrongKind {
                expected: expected.label(),
                got: kind.label(),
            }),
            _ => Ok(()),
        }
    }

    /// Takes one scanned text. Errors concern that frame only (except
    /// [`ScanError::Corrupt`] and [`ScanError::GaveUp`], which restart the transfer);
    /// keep scanning after any of them.
    pub fn receive(&mut self, text: &str) -> Result<ScanStatus, ScanError> {
        let frame = match Frame::parse(text, &self.limits)? {
            Frame::Static { kind, body } => {
                self.check_kind(kind)?;
                self.session = None;
                return Ok(ScanStatus::Complete(Message { kind, body }));
            }
            Frame::Fountain(frame) => frame,
        };
        self.check_kind(frame.kind)?;
        let fresh = !self
            .session
            .as_ref()
            .is_some_and(|session| session.matches(&frame));
        if fresh {
            // Limits were checked by `Frame::parse`; allocation is bounded by them.
            let needed = frame.source_symbols();
            let symbol_size = frame.symbol.len();
            let symbol_size_u16 =
                u16::try_from(symbol_size).map_err(|_| FrameError::SymbolSize {
                    size: symbol_size,
                    max: self.limits.max_symbol_size,
                })?;
            let config = ObjectTransmissionInformation::new(
                u64::from(frame.length),
                symbol_size_u16,
                1,
                1,
                1,
            );
            let padded = u64::from(needed) * symbol_size as u64;
            self.session = Some(Session {
                kind: frame.kind,
                length: frame.length,
                message_crc: frame.message_crc,
                symbol_size,
                needed,
                seen: BTreeSet::new(),
                decoder: SourceBlockDecoder::new(0, &config, padded),
            });
        }
        let limit = self.limits.max_extra_frames;
        let Some(session) = self.session.as_mut() else {
            return Err(ScanError::Corrupt);
        };
        if !session.seen.insert(frame.esi) {
            return Ok(ScanStatus::Collecting(session.progress()));
        }
        let received = u32::try_from(session.seen.len()).unwrap_or(u32::MAX);
        let packet = EncodingPacket::new(PayloadId::new(0, frame.esi), frame.symbol);
        match session.decoder.decode(std::iter::once(packet)) {
            Some(mut body) => {
                body.truncate(session.length as usize);
                let ok = crc32fast::hash(&body) == session.message_crc;
                let kind = session.kind;
                self.session = None;
                if ok {
                    Ok(ScanStatus::Complete(Message { kind, body }))
                } else {
                    Err(ScanError::Corrupt)
                }
            }
            None if received >= session.needed.saturating_add(limit) => {
                self.session = None;
                Err(ScanError::GaveUp(received))
            }
            None => Ok(ScanStatus::Collecting(session.progress())),
        }
    }
}

#[cfg(test)]
#[path = "fountain_tests.rs"]
mod tests;
