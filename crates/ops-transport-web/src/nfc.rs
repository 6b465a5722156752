//! WebNFC: `NDEFReader` (Chrome on Android only) declared by hand — web-sys has no
//! binding — with feature detection, and [`WebNfc`], which reads, writes and aborts
//! OPS messages through it. Where `NDEFReader` is absent, [`is_supported`] is false and
//! the apps hide NFC.

use ops_browser::{BrowserError, window};
use ops_transport::ndef::{self, MimeRecord};
use ops_transport::transport::{ReceiveMessage, SendMessage};
use ops_transport::{Limits, Message, MessageKind, SendOptions, TransportError};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// The Web NFC `NDEFReader` (or a test double installed under that name).
    #[wasm_bindgen(js_name = NDEFReader)]
    pub type NdefReader;
    /// `new NDEFReader()`.
    #[wasm_bindgen(constructor, js_class = "NDEFReader", catch)]
    pub fn new() -> Result<NdefReader, JsValue>;
    /// `reader.scan({ signal })`.
    #[wasm_bindgen(method, js_class = "NDEFReader")]
    pub fn scan(this: &NdefReader, options: &JsValue) -> js_sys::Promise;
    /// `reader.write(message, { signal, overwrite })`.
    #[wasm_bindgen(method, js_class = "NDEFReader")]
    pub fn write(this: &NdefReader, message: &JsValue, options: &JsValue) -> js_sys::Promise;
    /// `reader.onreading = handler`.
    #[wasm_bindgen(method, setter, js_class = "NDEFReader", js_name = onreading)]
    pub fn set_onreading(this: &NdefReader, handler: Option<&js_sys::Function>);
    /// `reader.onreadingerror = handler`.
    #[wasm_bindgen(method, setter, js_class = "NDEFReader", js_name = onreadingerror)]
    pub fn set_onreadingerror(this: &NdefReader, handler: Option<&js_sys::Function>);
}

/// Whether this browser has Web NFC (`NDEFReader` on `window`).
pub fn is_supported() -> bool {
    window()
        .map(|w| js_sys::Reflect::has(&w, &JsValue::from_str("NDEFReader")).unwrap_or(false))
        .unwrap_or(false)
}

/// What went wrong with NFC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NfcError {
    /// No Web NFC here (desktop browsers, iOS): hide NFC and use QR.
    #[error("this device or browser has no NFC; use the QR code instead")]
    Unsupported,
    /// The user refused NFC permission.
    #[error("NFC access was refused; allow NFC for this site in the browser's settings")]
    Denied,
    /// NFC is switched off or the adapter is missing.
    #[error("NFC is not available; switch NFC on in the device settings")]
    Unavailable,
    /// The operation was cancelled with [`WebNfc::abort`].
    #[error("NFC was cancelled")]
    Aborted,
    /// The message could not be built or read.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Any other browser failure, with its text.
    #[error("NFC failed: {0}")]
    Browser(String),
}

impl From<JsValue> for NfcError {
    fn from(value: JsValue) -> Self {
        match value.dyn_ref::<web_sys::DomException>().map(|e| e.name()) {
            Some(name) if name == "NotAllowedError" => Self::Denied,
            Some(name) if name == "NotSupportedError" || name == "NotReadableError" => {
                Self::Unavailable
            }
            Some(name) if name == "AbortError" => Self::Aborted,
            _ => Self::Browser(BrowserError::from(value).to_string()),
        }
    }
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

fn get(target: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `{ records: [{ recordType: "mime", mediaType, data }] }`
fn to_js_message(records: &[MimeRecord]) -> JsValue {
    let list = js_sys::Array::new();
    for record in records {
        let object = js_sys::Object::new();
        set(&object, "recordType", &JsValue::from_str("mime"));
        set(&object, "mediaType", &JsValue::from_str(&record.media_type));
        set(
            &object,
            "data",
            &js_sys::Uint8Array::from(record.data.as_slice()),
        );
        list.push(&object);
    }
    let message = js_sys::Object::new();
    set(&message, "records", &list);
    message.into()
}

/// The MIME records of an `NDEFReadingEvent`.
fn records_of(event: &JsValue) -> Vec<MimeRecord> {
    let records = get(&get(event, "message"), "records");
    js_sys::Array::from(&records)
        .iter()
        .filter(|record| get(record, "recordType").as_string().as_deref() == Some("mime"))
        .filter_map(|record| {
            let media_type = get(&record, "mediaType").as_string()?;
            let data = get(&record, "data");
            let bytes = match data.dyn_ref::<js_sys::DataView>() {
                Some(view) => js_sys::Uint8Array::new_with_byte_offset_and_length(
                    &view.buffer(),
                    view.byte_offset() as u32,
                    view.byte_length() as u32,
                )
                .to_vec(),
                None => js_sys::Uint8Array::new(&data).to_vec(),
            };
            Some(MimeRecord {
                media_type,
                data: bytes,
            })
        })
        .collect()
}

/// Reads and writes OPS messages over Web NFC. One operation at a time; [`WebNfc::abort`]
/// cancels it.
#[derive(Debug, Default)]
pub struct WebNfc {
    options: SendOptions,
    limits: Limits,
    controller: RefCell<Option<web_sys::AbortController>>,
    reject: Rc<RefCell<Option<js_sys::Function>>>,
}

impl WebNfc {
    /// NFC with these send options (tag size, record size) and receive limits.
    pub fn new(options: SendOptions, limits: Limits) -> Self {
        Self {
            options,
            limits,
            ..Self::default()
        }
    }

    fn start(&self) -> Result<(NdefReader, JsValue), NfcError> {
        if !is_supported() {
            return Err(NfcError::Unsupported);
        }
        let reader = NdefReader::new()?;
        let controller = web_sys::AbortController::new()?;
        let options = js_sys::Object::new();
        set(&options, "signal", &controller.signal());
        self.controller.replace(Some(controller));
        Ok((reader, options.into()))
    }

    /// Cancels the scan or write under way (it fails with [`NfcError::Aborted`]).
    pub fn abort(&self) {
        if let Some(controller) = self.controller.borrow_mut().take() {
            controller.abort();
        }
        if let Some(reject) = self.reject.borrow_mut().take() {
            let error = web_sys::DomException::new_with_message_and_name("aborted", "AbortError")
                .map(JsValue::from)
                .unwrap_or(JsValue::NULL);
            let _ = reject.call1(&JsValue::NULL, &error);
        }
    }

    /// Writes `message` (checked against the tag size in the options).
    pub async fn write(&self, message: &Message) -> Result<(), NfcError> {
        let records =
            ndef::plan_for_tag(message, self.options.tag, self.options.max_record_payload)
                .map_err(TransportError::from)?;
        let (reader, options) = self.start()?;
        set(&options, "overwrite", &JsValue::TRUE);
        JsFuture::from(reader.write(&to_js_message(&records), &options)).await?;
        self.controller.replace(None);
        Ok(())
    }

    /// Scans until a tag holding a complete message of `kind` is read. Tags with other
    /// content are skipped; a damaged one is reported.
    pub async fn read(&self, kind: MessageKind) -> Result<Message, NfcError> {
        let (reader, options) = self.start()?;
        JsFuture::from(reader.scan(&options)).await?;
        loop {
            let reject_slot = Rc::clone(&self.reject);
            let reader_ref = &reader;
            let promise = js_sys::Promise::new(&mut |resolve, reject| {
                // A `readingerror` (a tag that could not be read) is left alone: the
                // user simply taps again.
                reader_ref.set_onreading(Some(&resolve));
                reject_slot.replace(Some(reject));
            });
            let event = JsFuture::from(promise).await;
            reader.set_onreading(None);
            self.reject.replace(None);
            let event = event?;
            let records = records_of(&event);
            match ndef::from_records(kind, &records, &self.limits) {
                Ok(message) => {
                    self.abort_scan_only();
                    return Ok(message);
                }
                Err(ndef::NdefError::NotFound(_)) => continue,
                Err(error) => return Err(TransportError::from(error).into()),
            }
        }
    }

    fn abort_scan_only(&self) {
        if let Some(controller) = self.controller.borrow_mut().take() {
            controller.abort();
        }
    }
}

impl SendMessage for WebNfc {
    type Error = NfcError;
    async fn send(&self, message: &Message) -> Result<(), NfcError> {
        self.write(message).await
    }
}

impl ReceiveMessage for WebNfc {
    type Error = NfcError;
    async fn receive(&self, kind: MessageKind) -> Result<Message, NfcError> {
        self.read(kind).await
    }
}
