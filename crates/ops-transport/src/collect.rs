//! The receiver's bookkeeping for an animated QR transfer, without the fountain decoder:
//! which transfer is under way, which distinct frames it has, how far it has come, and
//! when enough frames are in to try rebuilding the message.
//!
//! Rebuilding (RaptorQ, with its 64 KB multiplication table) is a separate step,
//! [`crate::fountain::rebuild`], so that a page can keep this part and run the rebuild in
//! the QR worker. [`crate::AnimatedDecoder`] joins the two for callers that do both in
//! one place.

use crate::frame::{FountainFrame, Frame, FrameError};
use crate::limits::Limits;
use crate::message::{Message, MessageKind};
use std::collections::BTreeMap;

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

/// The distinct frames of one transfer, enough to try rebuilding its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildJob {
    /// The message type.
    pub kind: MessageKind,
    /// The frames' texts, one per encoding-symbol id, in id order.
    pub texts: Vec<String>,
    /// Which transfer they belong to (see [`FrameCollector::rebuilt`]); `None` for a job
    /// made elsewhere from texts alone.
    transfer: Option<TransferId>,
}

impl RebuildJob {
    /// A job for `texts` of a message of `kind`, made outside a collector (the QR worker
    /// receives the texts the page collected).
    pub fn new(kind: MessageKind, texts: Vec<String>) -> Self {
        Self {
            kind,
            texts,
            transfer: None,
        }
    }
}

/// What identifies a transfer: every frame of it carries the same header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TransferId {
    kind: MessageKind,
    length: u32,
    message_crc: u32,
    symbol_size: usize,
}

impl TransferId {
    fn of(frame: &FountainFrame) -> Self {
        Self {
            kind: frame.kind,
            length: frame.length,
            message_crc: frame.message_crc,
            symbol_size: frame.symbol.len(),
        }
    }
}

/// What one scanned text did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    /// A transfer is under way and needs more frames.
    Collecting(Progress),
    /// Enough frames are in: rebuild the message from these, then report the outcome
    /// with [`FrameCollector::rebuilt`].
    Ready(RebuildJob),
    /// A whole message in one static code.
    Complete(Message),
}

struct Transfer {
    id: TransferId,
    needed: u32,
    frames: BTreeMap<u32, String>,
}

impl Transfer {
    fn progress(&self) -> Progress {
        Progress {
            kind: self.id.kind,
            received: u32::try_from(self.frames.len()).unwrap_or(u32::MAX),
            needed: self.needed,
        }
    }

    /// Rebuild at `K`, `K+1`, `K+2`, then at every fourth new frame: RaptorQ nearly
    /// always succeeds by `K+2`, and a rebuild costs a full decode.
    fn worth_a_try(&self) -> bool {
        let received = u32::try_from(self.frames.len()).unwrap_or(u32::MAX);
        match received.checked_sub(self.needed) {
            Some(extra) => extra <= 2 || extra % 4 == 0,
            None => false,
        }
    }
}

/// Collects the frames of a transfer; feed it every text the camera decodes.
pub struct FrameCollector {
    limits: Limits,
    expecting: Option<MessageKind>,
    transfer: Option<Transfer>,
}

impl std::fmt::Debug for FrameCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameCollector")
            .field("limits", &self.limits)
            .field("expecting", &self.expecting)
            .field("progress", &self.progress())
            .finish()
    }
}

impl FrameCollector {
    /// A collector for any message type, with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            expecting: None,
            transfer: None,
        }
    }

    /// A collector that accepts only messages of `kind`.
    pub fn expecting(kind: MessageKind, limits: Limits) -> Self {
        Self {
            limits,
            expecting: Some(kind),
            transfer: None,
        }
    }

    /// The limits frames are checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Progress of the current transfer, if one has started.
    pub fn progress(&self) -> Option<Progress> {
        self.transfer.as_ref().map(Transfer::progress)
    }

    /// Forgets the current transfer.
    pub fn reset(&mut self) {
        self.transfer = None;
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
    /// [`ScanError::GaveUp`], which restarts the transfer); keep scanning after any.
    pub fn add(&mut self, text: &str) -> Result<Collected, ScanError> {
        let frame = match Frame::parse(text, &self.limits)? {
            Frame::Static { kind, body } => {
                self.check_kind(kind)?;
                self.transfer = None;
                return Ok(Collected::Complete(Message { kind, body }));
            }
            Frame::Fountain(frame) => frame,
        };
        self.check_kind(frame.kind)?;
        let id = TransferId::of(&frame);
        if self.transfer.as_ref().is_none_or(|t| t.id != id) {
            // `Frame::parse` checked the header against the limits: `needed` is bounded.
            self.transfer = Some(Transfer {
                id,
                needed: frame.source_symbols(),
                frames: BTreeMap::new(),
            });
        }
        let limit = self.limits.max_extra_frames;
        let Some(transfer) = self.transfer.as_mut() else {
            return Err(ScanError::Corrupt);
        };
        if transfer.frames.contains_key(&frame.esi) {
            return Ok(Collected::Collecting(transfer.progress()));
        }
        let received = u32::try_from(transfer.frames.len()).unwrap_or(u32::MAX);
        if received >= transfer.needed.saturating_add(limit) {
            self.transfer = None;
            return Err(ScanError::GaveUp(received));
        }
        transfer.frames.insert(frame.esi, text.to_owned());
        if transfer.worth_a_try() {
            return Ok(Collected::Ready(RebuildJob {
                kind: id.kind,
                texts: transfer.frames.values().cloned().collect(),
                transfer: Some(id),
            }));
        }
        Ok(Collected::Collecting(transfer.progress()))
    }

    /// The outcome of rebuilding `job`: the message (`Some`: the transfer is over), not
    /// yet (`None`: keep scanning), or an error (a corrupt message restarts the transfer).
    /// An outcome for a transfer that has since been replaced leaves the new one alone.
    pub fn rebuilt(
        &mut self,
        job: &RebuildJob,
        outcome: Result<Option<Message>, ScanError>,
    ) -> Result<Option<Message>, ScanError> {
        let current = self
            .transfer
            .as_ref()
            .is_some_and(|t| Some(t.id) == job.transfer);
        if current && !matches!(outcome, Ok(None)) {
            self.transfer = None;
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fountain::AnimatedEncoder;
    use crate::limits::Preset;
    use crate::sim::sample_body;

    fn texts(len: usize, count: u32) -> (Message, Vec<String>) {
        let message = Message::new(MessageKind::Payment, sample_body(len, 7));
        let encoder = AnimatedEncoder::new(&message, Preset::DEFAULT).unwrap();
        (message, encoder.frames(count))
    }

    #[test]
    fn ready_at_k_then_k_plus_one_two_then_every_fourth() {
        let (_, texts) = texts(2560, 40); // K = 10
        let mut collector = FrameCollector::expecting(MessageKind::Payment, Limits::DEFAULT);
        let mut ready_at = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            if let Ok(Collected::Ready(job)) = collector.add(text) {
                assert_eq!(job.texts.len(), i + 1);
                ready_at.push(i + 1);
            }
        }
        assert_eq!(ready_at, vec![10, 11, 12, 14, 18, 22, 26, 30, 34, 38]);
    }

    #[test]
    fn duplicates_count_once_and_a_new_transfer_replaces_the_old() {
        let (_, first) = texts(1000, 3);
        let mut collector = FrameCollector::new(Limits::DEFAULT);
        collector.add(&first[0]).unwrap();
        collector.add(&first[0]).unwrap();
        assert_eq!(collector.progress().map(|p| p.received), Some(1));
        let other = AnimatedEncoder::new(
            &Message::new(MessageKind::Payment, sample_body(1000, 99)),
            Preset::DEFAULT,
        )
        .unwrap();
        collector.add(&other.frame_text(1)).unwrap();
        assert_eq!(collector.progress().map(|p| p.received), Some(1));
    }

    #[test]
    fn an_outcome_for_a_replaced_transfer_changes_nothing() {
        let (message, first) = texts(600, 3); // K = 3
        let mut collector = FrameCollector::new(Limits::DEFAULT);
        let mut job = None;
        for text in &first {
            if let Ok(Collected::Ready(ready)) = collector.add(text) {
                job = Some(ready);
            }
        }
        let job = job.unwrap();
        let (_, second) = texts(900, 1);
        collector.add(&second[0]).unwrap();
        assert_eq!(
            collector.rebuilt(&job, Err(ScanError::Corrupt)),
            Err(ScanError::Corrupt)
        );
        assert_eq!(collector.progress().map(|p| p.received), Some(1));
        assert_eq!(
            collector.rebuilt(&job, Ok(Some(message.clone()))),
            Ok(Some(message))
        );
        assert_eq!(collector.progress().map(|p| p.received), Some(1));
    }

    #[test]
    fn the_wrong_kind_is_refused_before_anything_is_kept() {
        let (_, texts) = texts(1000, 1);
        let mut collector = FrameCollector::expecting(MessageKind::PaymentRequest, Limits::DEFAULT);
        assert!(matches!(
            collector.add(&texts[0]),
            Err(ScanError::WrongKind { .. })
        ));
        assert_eq!(collector.progress(), None);
    }
}
