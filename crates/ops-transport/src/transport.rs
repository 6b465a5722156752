//! The transport-neutral interface: "send this message", "receive a message of this
//! type", with QR and NFC behind it. Sans I/O: the browser crate drives these types from
//! the camera, the screen and WebNFC.

use crate::collect::{Collected, FrameCollector, Progress, RebuildJob, ScanError};
use crate::fountain::{AnimatedEncoder, EncodeError};
use crate::limits::{Limits, Preset};
use crate::message::{Message, MessageKind};
use crate::ndef::{self, MimeRecord, NdefError, Tag};
use std::future::Future;

/// The media a message can travel over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// Animated (or static) QR codes: one screen, one camera.
    Qr,
    /// NFC (NDEF over WebNFC).
    Nfc,
}

/// How to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Frame size and rate for QR.
    pub preset: Preset,
    /// The tag (or tag emulation) NFC writes to; the message must fit it.
    pub tag: Tag,
    /// Largest NDEF record payload before the message is split across records.
    pub max_record_payload: usize,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            preset: Preset::DEFAULT,
            tag: Tag::Type4 {
                file_size: Tag::TYPE4_MAX,
            },
            max_record_payload: ndef::DEFAULT_MAX_RECORD_PAYLOAD,
        }
    }
}

/// What the sender's device must present.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// Show these frames (one static code or an endless animation).
    Qr(AnimatedEncoder),
    /// Write these NDEF records.
    Nfc(Vec<MimeRecord>),
}

/// Why a message could not be sent or received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The message cannot be framed for QR.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A scanned frame was not usable (keep scanning).
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// NDEF building or reading failed.
    #[error(transparent)]
    Ndef(#[from] NdefError),
}

/// Turns `message` into what `transport` needs.
pub fn prepare(
    message: &Message,
    transport: TransportKind,
    options: &SendOptions,
) -> Result<Outgoing, TransportError> {
    Ok(match transport {
        TransportKind::Qr => Outgoing::Qr(AnimatedEncoder::new(message, options.preset)?),
        TransportKind::Nfc => Outgoing::Nfc(ndef::plan_for_tag(
            message,
            options.tag,
            options.max_record_payload,
        )?),
    })
}

/// Where a receiver stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiveStatus {
    /// Still waiting; progress of an animated transfer once one has started.
    Waiting(Option<Progress>),
    /// Enough frames are in: rebuild the message from them (in the QR worker, or with
    /// [`crate::fountain::rebuild`]) and hand the outcome to [`Receiver::on_rebuilt`].
    Rebuild(RebuildJob),
    /// The awaited message, complete and checked.
    Received(Message),
}

/// Receives one message of a given kind from whichever transport delivers it first.
#[derive(Debug)]
pub struct Receiver {
    kind: MessageKind,
    limits: Limits,
    qr: FrameCollector,
}

impl Receiver {
    /// A receiver for a message of `kind`.
    pub fn new(kind: MessageKind, limits: Limits) -> Self {
        Self {
            kind,
            limits,
            qr: FrameCollector::expecting(kind, limits),
        }
    }

    /// The awaited kind.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// Takes one text decoded from a camera frame.
    pub fn on_qr_text(&mut self, text: &str) -> Result<ReceiveStatus, TransportError> {
        Ok(match self.qr.add(text)? {
            Collected::Collecting(progress) => ReceiveStatus::Waiting(Some(progress)),
            Collected::Ready(job) => ReceiveStatus::Rebuild(job),
            Collected::Complete(message) => ReceiveStatus::Received(message),
        })
    }

    /// Takes the outcome of rebuilding `job` (see [`ReceiveStatus::Rebuild`]).
    pub fn on_rebuilt(
        &mut self,
        job: &RebuildJob,
        outcome: Result<Option<Message>, ScanError>,
    ) -> Result<ReceiveStatus, TransportError> {
        Ok(match self.qr.rebuilt(job, outcome)? {
            Some(message) => ReceiveStatus::Received(message),
            None => ReceiveStatus::Waiting(self.qr.progress()),
        })
    }

    /// The limits frames are checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes the records of one NFC read.
    pub fn on_ndef_records(
        &mut self,
        records: &[MimeRecord],
    ) -> Result<ReceiveStatus, TransportError> {
        Ok(ReceiveStatus::Received(ndef::from_records(
            self.kind,
            records,
            &self.limits,
        )?))
    }

    /// Progress of an animated transfer, if one is under way.
    pub fn progress(&self) -> Option<Progress> {
        self.qr.progress()
    }
}

/// A transport that can send a message by itself (NFC; QR needs a screen and is a component).
pub trait SendMessage {
    /// The transport's error.
    type Error;
    /// Sends `message`; resolves when it has been delivered (written to the tag).
    fn send(&self, message: &Message) -> impl Future<Output = Result<(), Self::Error>>;
}

/// A transport that can wait for a message by itself (NFC; QR needs a camera and is a component).
pub trait ReceiveMessage {
    /// The transport's error.
    type Error;
    /// Resolves with the first complete message of `kind`.
    fn receive(&self, kind: MessageKind) -> impl Future<Output = Result<Message, Self::Error>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::sample_body;

    #[test]
    fn one_message_over_either_transport() {
        let message = Message::new(MessageKind::Payment, sample_body(1600, 1));
        let options = SendOptions::default();
        let mut receiver = Receiver::new(MessageKind::Payment, Limits::DEFAULT);
        let Outgoing::Qr(encoder) = prepare(&message, TransportKind::Qr, &options).unwrap() else {
            panic!("QR");
        };
        let mut got = None;
        for text in encoder.frames(10) {
            let status = match receiver.on_qr_text(&text).unwrap() {
                ReceiveStatus::Rebuild(job) => {
                    let outcome = crate::fountain::rebuild(&job, &Limits::DEFAULT);
                    receiver.on_rebuilt(&job, outcome).unwrap()
                }
                other => other,
            };
            if let ReceiveStatus::Received(m) = status {
                got = Some(m);
                break;
            }
        }
        assert_eq!(got.as_ref(), Some(&message));
        let Outgoing::Nfc(records) = prepare(&message, TransportKind::Nfc, &options).unwrap()
        else {
            panic!("NFC");
        };
        assert_eq!(
            receiver.on_ndef_records(&records).unwrap(),
            ReceiveStatus::Received(message.clone())
        );
        let small_tag = SendOptions {
            tag: Tag::Ntag215,
            ..options
        };
        assert!(matches!(
            prepare(&message, TransportKind::Nfc, &small_tag),
            Err(TransportError::Ndef(NdefError::TooBigForTag { .. }))
        ));
    }
}
