//! Animated QR: a message split into RaptorQ-coded frames, and the receiver that
//! rebuilds it from any large-enough set of them.
//!
//! RaptorQ (RFC 6330) is systematic: frames `0..K` carry the message itself, frames from
//! `K` on are repair symbols, each different. A receiver that has any `K` (rarely `K+1`
//! or `K+2`) distinct frames rebuilds the message, whatever it missed and in whatever
//! order it saw them. Small messages go as one static code instead.

use crate::collect::{Collected, FrameCollector, Progress, RebuildJob, ScanError};
use crate::frame::{self, FountainFrame, Frame, FrameError};
use crate::limits::{HARD_MAX_MESSAGE_BYTES, Limits, Preset};
use crate::message::{Message, MessageKind};
use raptorq::{
    EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockDecoder,
    SourceBlockEncoder,
};

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

/// What one scanned frame did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanStatus {
    /// A transfer is under way.
    Collecting(Progress),
    /// The message is complete and checked.
    Complete(Message),
}

/// Rebuilds a message from the frames of one transfer: `Ok(None)` when they are not
/// enough yet, [`ScanError::Corrupt`] when the result fails the message checksum.
///
/// Every text is parsed and checked against `limits` again (the job may come from
/// another context, such as the page asking the QR worker), and all must belong to one
/// transfer; at most `K + max_extra_frames` are used.
pub fn rebuild(job: &RebuildJob, limits: &Limits) -> Result<Option<Message>, ScanError> {
    let mut frames = Vec::with_capacity(job.texts.len());
    for text in &job.texts {
        match Frame::parse(text, limits)? {
            Frame::Fountain(frame) if frame.kind == job.kind => frames.push(frame),
            Frame::Fountain(_) | Frame::Static { .. } => return Err(ScanError::Corrupt),
        }
    }
    let Some(first) = frames.first() else {
        return Ok(None);
    };
    let (kind, length, message_crc, symbol_size) = (
        first.kind,
        first.length,
        first.message_crc,
        first.symbol.len(),
    );
    let needed = first.source_symbols();
    if frames.iter().any(|f| {
        f.kind != kind
            || f.length != length
            || f.message_crc != message_crc
            || f.symbol.len() != symbol_size
    }) || frames.len() as u64 > u64::from(needed.saturating_add(limits.max_extra_frames))
    {
        return Err(ScanError::Corrupt);
    }
    let symbol_size_u16 = u16::try_from(symbol_size).map_err(|_| FrameError::SymbolSize {
        size: symbol_size,
        max: limits.max_symbol_size,
    })?;
    let config = ObjectTransmissionInformation::new(u64::from(length), symbol_size_u16, 1, 1, 1);
    let mut decoder = SourceBlockDecoder::new(0, &config, u64::from(needed) * symbol_size as u64);
    let packets = frames
        .into_iter()
        .map(|frame| EncodingPacket::new(PayloadId::new(0, frame.esi), frame.symbol));
    let Some(mut body) = decoder.decode(packets) else {
        return Ok(None);
    };
    body.truncate(length as usize);
    if crc32fast::hash(&body) != message_crc {
        return Err(ScanError::Corrupt);
    }
    Ok(Some(Message { kind, body }))
}

/// The receiver's side in one place: a [`FrameCollector`] whose jobs are rebuilt at
/// once. Feed it every text the camera decodes.
#[derive(Debug)]
pub struct AnimatedDecoder {
    collector: FrameCollector,
}

impl AnimatedDecoder {
    /// A receiver for any message type, with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            collector: FrameCollector::new(limits),
        }
    }

    /// A receiver that accepts only messages of `kind`.
    pub fn expecting(kind: MessageKind, limits: Limits) -> Self {
        Self {
            collector: FrameCollector::expecting(kind, limits),
        }
    }

    /// Progress of the current transfer, if one has started.
    pub fn progress(&self) -> Option<Progress> {
        self.collector.progress()
    }

    /// Forgets the current transfer.
    pub fn reset(&mut self) {
        self.collector.reset();
    }

    /// Takes one scanned text. Errors concern that frame only (except
    /// [`ScanError::Corrupt`] and [`ScanError::GaveUp`], which restart the transfer);
    /// keep scanning after any of them.
    pub fn receive(&mut self, text: &str) -> Result<ScanStatus, ScanError> {
        match self.collector.add(text)? {
            Collected::Complete(message) => Ok(ScanStatus::Complete(message)),
            Collected::Collecting(progress) => Ok(ScanStatus::Collecting(progress)),
            Collected::Ready(job) => {
                let outcome = rebuild(&job, self.collector.limits());
                match self.collector.rebuilt(&job, outcome)? {
                    Some(message) => Ok(ScanStatus::Complete(message)),
                    None => Ok(ScanStatus::Collecting(self.progress().unwrap_or(
                        Progress {
                            kind: job.kind,
                            received: u32::try_from(job.texts.len()).unwrap_or(u32::MAX),
                            needed: u32::try_from(job.texts.len()).unwrap_or(u32::MAX),
                        },
                    ))),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "fountain_tests.rs"]
mod tests;
