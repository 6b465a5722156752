//! Messages between the page and the worker, as plain JavaScript objects.
//!
//! ```text
//! page → worker  {type: "decode", id, width, height, rgba: ArrayBuffer}   (rgba transferred, not copied)
//! worker → page  {type: "ready"}                                           (once, when the worker has started)
//!                {type: "decoded", id, texts: [string], ms}                (ms: decode time in the worker)
//!                {type: "failed", id, code, message}                       (a FrameError)
//! ```
//!
//! A trap in the worker answers nothing: the page sees the worker's `error` event (or
//! its timeout) instead.

use js_sys::{Array, ArrayBuffer, Object, Reflect};
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

    /// Reads a request (in the worker).
    pub fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        let kind = text(value, "type")?;
        if kind != "decode" {
            return Err(ProtocolError::UnknownType(kind));
        }
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
    /// The frame was refused.
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
    /// The message object.
    pub fn to_js(&self) -> JsValue {
        let object = Object::new();
        match self {
            Self::Ready => set(&object, "type", &JsValue::from_str("ready")),
            Self::Decoded { id, texts, ms } => {
                set(&object, "type", &JsValue::from_str("decoded"));
                set(&object, "id", &JsValue::from(*id));
                let list: Array = texts.iter().map(|t| JsValue::from_str(t)).collect();
                set(&object, "texts", &list);
                set(&object, "ms", &JsValue::from(*ms));
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
            "decoded" => {
                let texts = get(value, "texts")?;
                if !Array::is_array(&texts) {
                    return Err(ProtocolError::Field("texts"));
                }
                Ok(Self::Decoded {
                    id: whole(value, "id")?,
                    texts: Array::from(&texts)
                        .iter()
                        .map(|t| t.as_string().ok_or(ProtocolError::Field("texts")))
                        .collect::<Result<_, _>>()?,
                    ms: number(value, "ms")?,
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
