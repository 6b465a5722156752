//! Messages between the page and the worker, as plain JavaScript objects.
//!
//! ```text
//! page → worker  {type: "decode", id, width, height, rgba: ArrayBuffer}   (rgba transferred, not copied)
//!                {type: "encode", id, kind, body: Uint8Array, symbolSize, count}
//!                {type: "rebuild", id, kind, texts: [string], limits: {maxMessageBytes,
//!                 maxFrameChars, maxSymbolSize, maxSourceSymbols, maxExtraFrames}}
//! worker → page  {type: "ready"}                                           (once, when the worker has started)
//!                {type: "decoded", id, texts: [string], ms}                (ms: decode time in the worker)
//!                {type: "frames", id, texts: [string]}                     (the frames of an encode request)
//!                {type: "rebuilt", id, body: Uint8Array | null}            (null: not enough frames yet)
//!                {type: "failed", id, code, message}                       (a FrameError or FountainError)
//! ```
//!
//! `kind` is the message type's one-byte code (`MessageKind::code`).
//!
//! A trap in the worker answers nothing: the page sees the worker's `error` event (or
//! its timeout) instead.

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use ops_transport::Limits;
use ops_transport::limits::{HARD_MAX_MESSAGE_BYTES, QR_MAX_ALPHANUMERIC_CHARS};
use wasm_bindgen::{JsCast, JsValue};

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A field is missing or has the wrong type.
    #[error("field `{0}` is missing or has the wrong type")]
    Field(&'static str),
    /// The `type` is not one of this protocol's.
    #[error("unknown message type `{0}`")]
    UnknownType(String),
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn get(source: &JsValue, key: &'static str) -> Result<JsValue, ProtocolError> {
    Reflect::get(source, &JsValue::from_str(key))
        .ok()
        .filter(|value| !value.is_undefined())
        .ok_or(ProtocolError::Field(key))
}

fn number(source: &JsValue, key: &'static str) -> Result<f64, ProtocolError> {
    get(source, key)?.as_f64().ok_or(ProtocolError::Field(key))
}

fn whole(source: &JsValue, key: &'static str) -> Result<u32, ProtocolError> {
    let value = number(source, key)?;
    if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) {
        Ok(value as u32)
    } else {
        Err(ProtocolError::Field(key))
    }
}

fn text(source: &JsValue, key: &'static str) -> Result<String, ProtocolError> {
    get(source, key)?
        .as_string()
        .ok_or(ProtocolError::Field(key))
}

fn texts(source: &JsValue, key: &'static str) -> Result<Vec<String>, ProtocolError> {
    let list = get(source, key)?;
    if !Array::is_array(&list) {
        return Err(ProtocolError::Field(key));
    }
    Array::from(&list)
        .iter()
        .map(|t| t.as_string().ok_or(ProtocolError::Field(key)))
        .collect()
}

fn text_list(texts: &[String]) -> Array {
    texts.iter().map(|t| JsValue::from_str(t)).collect()
}

fn bytes(source: &JsValue, key: &'static str) -> Result<Vec<u8>, ProtocolError> {
    get(source, key)?
        .dyn_into::<Uint8Array>()
        .map(|array| array.to_vec())
        .map_err(|_| ProtocolError::Field(key))
}

/// A frame to decode (page → worker).
#[derive(Debug, Clone)]
pub struct DecodeRequest {
    /// Matches the answer to the request.
    pub id: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes of RGBA; transferred to the worker.
    pub rgba: ArrayBuffer,
    /// Test builds only: the worker fails this way on this frame.
    #[cfg(feature = "test-hooks")]
    pub fault: Option<TestFault>,
}

/// Test builds only: how the worker fails on a frame.
#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestFault {
    /// A wasm trap (what rqrr's assertion does under `panic = "abort"`).
    Trap,
    /// Busy for a minute without answering (a decoder stuck in a loop).
    Hang,
}

#[cfg(feature = "test-hooks")]
impl TestFault {
    fn name(self) -> &'static str {
        match self {
            Self::Trap => "trap",
            Self::Hang => "hang",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "trap" => Some(Self::Trap),
            "hang" => Some(Self::Hang),
            _ => None,
        }
    }
}

impl DecodeRequest {
    /// A request for the frame `rgba` (`width × height × 4` bytes).
    pub fn new(id: u32, width: u32, height: u32, rgba: ArrayBuffer) -> Self {
        Self {
            id,
            width,
            height,
            rgba,
            #[cfg(feature = "test-hooks")]
            fault: None,
        }
    }

    /// Test builds only: asks the worker to fail this way on this frame.
    #[cfg(feature = "test-hooks")]
    pub fn with_fault(mut self, fault: Option<TestFault>) -> Self {
        self.fault = fault;
        self
    }

    /// The message object; post it with [`DecodeRequest::transfer_list`].
    pub fn to_js(&self) -> JsValue {
        let object = Object::new();
        set(&object, "type", &JsValue::from_str("decode"));
        set(&object, "id", &JsValue::from(self.id));
        set(&object, "width", &JsValue::from(self.width));
        set(&object, "height", &JsValue::from(self.height));
        set(&object, "rgba", &self.rgba);
        #[cfg(feature = "test-hooks")]
        if let Some(fault) = self.fault {
            set(&object, "fault", &JsValue::from_str(fault.name()));
        }
        object.into()
    }

    /// The buffers to transfer (not copy) with the message.
    pub fn transfer_list(&self) -> Array {
        Array::of1(&self.rgba)
    }

    fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        Ok(Self {
            id: whole(value, "id")?,
            width: whole(value, "width")?,
            height: whole(value, "height")?,
            rgba: get(value, "rgba")?
                .dyn_into()
                .map_err(|_| ProtocolError::Field("rgba"))?,
            #[cfg(feature = "test-hooks")]
            fault: text(value, "fault")
                .ok()
                .and_then(|name| TestFault::from_name(&name)),
        })
    }
}

/// A message to show as QR frames (page → worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeRequest {
    /// Matches the answer to the request.
    pub id: u32,
    /// `MessageKind::code`.
    pub kind: u32,
    /// The message bytes.
    pub body: Vec<u8>,
    /// Bytes per frame (`Preset::symbol_size`).
    pub symbol_size: u32,
    /// How many frames to return.
    pub count: u32,
}

impl EncodeRequest {
    /// The message object.
    pub fn to_js(&self) -> JsValue {
        let object = Object::new();
        set(&object, "type", &JsValue::from_str("encode"));
        set(&object, "id", &JsValue::from(self.id));
        set(&object, "kind", &JsValue::from(self.kind));
        set(&object, "body", &Uint8Array::from(self.body.as_slice()));
        set(&object, "symbolSize", &JsValue::from(self.symbol_size));
        set(&object, "count", &JsValue::from(self.count));
        object.into()
    }

    fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        Ok(Self {
            id: whole(value, "id")?,
            kind: whole(value, "kind")?,
            body: bytes(value, "body")?,
            symbol_size: whole(value, "symbolSize")?,
            count: whole(value, "count")?,
        })
    }
}

/// Collected frames to rebuild a message from (page → worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildRequest {
    /// Matches the answer to the request.
    pub id: u32,
    /// `MessageKind::code`.
    pub kind: u32,
    /// The distinct frames of one transfer.
    pub texts: Vec<String>,
    /// The page's receiver limits; the worker checks every frame against them again.
    pub limits: Limits,
}

impl RebuildRequest {
    /// The message object.
    pub fn to_js(&self) -> JsValue {
        let object = Object::new();
        set(&object, "type", &JsValue::from_str("rebuild"));
        set(&object, "id", &JsValue::from(self.id));
        set(&object, "kind", &JsValue::from(self.kind));
        set(&object, "texts", &text_list(&self.texts));
        let limits = Object::new();
        let l = &self.limits;
        let n = |v: usize| JsValue::from(u32::try_from(v).unwrap_or(u32::MAX));
        set(&limits, "maxMessageBytes", &n(l.max_message_bytes));
        set(&limits, "maxFrameChars", &n(l.max_frame_chars));
        set(&limits, "maxSymbolSize", &JsValue::from(l.max_symbol_size));
        set(
            &limits,
            "maxSourceSymbols",
            &JsValue::from(l.max_source_symbols),
        );
        set(
            &limits,
            "maxExtraFrames",
            &JsValue::from(l.max_extra_frames),
        );
        set(&object, "limits", &limits);
        object.into()
    }

    fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        let limits = get(value, "limits")?;
        let hard = Limits::DEFAULT;
        // Never above the transport's hard bound, whatever the page asks.
        let limits = Limits {
            max_message_bytes: (whole(&limits, "maxMessageBytes")? as usize)
                .min(HARD_MAX_MESSAGE_BYTES),
            max_frame_chars: (whole(&limits, "maxFrameChars")? as usize)
                .min(QR_MAX_ALPHANUMERIC_CHARS),
            max_symbol_size: u16::try_from(whole(&limits, "maxSymbolSize")?)
                .map_err(|_| ProtocolError::Field("maxSymbolSize"))?,
            max_source_symbols: whole(&limits, "maxSourceSymbols")?
                .min(hard.max_source_symbols.saturating_mul(4)),
            max_extra_frames: whole(&limits, "maxExtraFrames")?
                .min(hard.max_extra_frames.saturating_mul(4)),
        };
        Ok(Self {
            id: whole(value, "id")?,
            kind: whole(value, "kind")?,
            texts: texts(value, "texts")?,
            limits,
        })
    }
}

/// A request (page → worker).
#[derive(Debug, Clone)]
pub enum ToWorker {
    /// Decode a camera frame.
    Decode(DecodeRequest),
    /// Frames of a message to show.
    Encode(EncodeRequest),
    /// A message from collected frames.
    Rebuild(RebuildRequest),
}

impl ToWorker {
    /// The request's id.
    pub fn id(&self) -> u32 {
        match self {
            Self::Decode(request) => request.id,
            Self::Encode(request) => request.id,
            Self::Rebuild(request) => request.id,
        }
    }

    /// Reads a request (in the worker).
    pub fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        let kind = text(value, "type")?;
        match kind.as_str() {
            "decode" => DecodeRequest::from_js(value).map(Self::Decode),
            "encode" => EncodeRequest::from_js(value).map(Self::Encode),
            "rebuild" => RebuildRequest::from_js(value).map(Self::Rebuild),
            _ => Err(ProtocolError::UnknownType(kind)),
        }
    }
}

/// An answer (worker → page).
#[derive(Debug, Clone, PartialEq)]
pub enum FromWorker {
    /// The worker has started and takes frames.
    Ready,
    /// The texts of the codes found (none for a frame without a code).
    Decoded {
        /// The request's id.
        id: u32,
        /// Decoded texts.
        texts: Vec<String>,
        /// Decode time inside the worker, in milliseconds.
        ms: f64,
    },
    /// The frames of an encode request.
    Frames {
        /// The request's id.
        id: u32,
        /// Frame texts, in order.
        texts: Vec<String>,
    },
    /// The outcome of a rebuild request: the message bytes, or `None` when the frames
    /// are not enough yet.
    Rebuilt {
        /// The request's id.
        id: u32,
        /// The rebuilt message.
        body: Option<Vec<u8>>,
    },
    /// The request was refused.
    Failed {
        /// The request's id (0 if the request could not be read).
        id: u32,
        /// [`crate::FrameError::code`].
        code: String,
        /// [`crate::FrameError`]'s text.
        message: String,
    },
}

impl FromWorker {
    /// The id of the request answered (`None` for `ready`).
    pub fn id(&self) -> Option<u32> {
        match self {
            Self::Ready => None,
            Self::Decoded { id, .. }
            | Self::Frames { id, .. }
            | Self::Rebuilt { id, .. }
            | Self::Failed { id, .. } => Some(*id),
        }
    }

    /// The message object.
    pub fn to_js(&self) -> JsValue {
        let object = Object::new();
        match self {
            Self::Ready => set(&object, "type", &JsValue::from_str("ready")),
            Self::Decoded { id, texts, ms } => {
                set(&object, "type", &JsValue::from_str("decoded"));
                set(&object, "id", &JsValue::from(*id));
                set(&object, "texts", &text_list(texts));
                set(&object, "ms", &JsValue::from(*ms));
            }
            Self::Frames { id, texts } => {
                set(&object, "type", &JsValue::from_str("frames"));
                set(&object, "id", &JsValue::from(*id));
                set(&object, "texts", &text_list(texts));
            }
            Self::Rebuilt { id, body } => {
                set(&object, "type", &JsValue::from_str("rebuilt"));
                set(&object, "id", &JsValue::from(*id));
                let body = match body {
                    Some(body) => Uint8Array::from(body.as_slice()).into(),
                    None => JsValue::NULL,
                };
                set(&object, "body", &body);
            }
            Self::Failed { id, code, message } => {
                set(&object, "type", &JsValue::from_str("failed"));
                set(&object, "id", &JsValue::from(*id));
                set(&object, "code", &JsValue::from_str(code));
                set(&object, "message", &JsValue::from_str(message));
            }
        }
        object.into()
    }

    /// Reads an answer (in the page).
    pub fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        let kind = text(value, "type")?;
        match kind.as_str() {
            "ready" => Ok(Self::Ready),
            "decoded" => Ok(Self::Decoded {
                id: whole(value, "id")?,
                texts: texts(value, "texts")?,
                ms: number(value, "ms")?,
            }),
            "frames" => Ok(Self::Frames {
                id: whole(value, "id")?,
                texts: texts(value, "texts")?,
            }),
            "rebuilt" => {
                let body = Reflect::get(value, &JsValue::from_str("body"))
                    .map_err(|_| ProtocolError::Field("body"))?;
                Ok(Self::Rebuilt {
                    id: whole(value, "id")?,
                    body: if body.is_null() {
                        None
                    } else {
                        Some(bytes(value, "body")?)
                    },
                })
            }
            "failed" => Ok(Self::Failed {
                id: whole(value, "id")?,
                code: text(value, "code")?,
                message: text(value, "message")?,
            }),
            _ => Err(ProtocolError::UnknownType(kind)),
        }
    }
}
