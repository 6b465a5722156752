//! The QR worker, seen from the page: it decodes camera frames, and runs the fountain
//! code's heavy half (the frames of a message to show, a message rebuilt from collected
//! frames) so that RaptorQ stays out of the app's bundle. Started lazily, one request in
//! flight at a time (the scanner samples the next frame only after the answer, so camera frames are
//! dropped, never queued), a timeout per frame, and a worker that traps, dies or hangs is
//! terminated, counted and replaced on the next frame.

use crate::decode_logic::{DecoderCounts, WorkerSettings, WorkerSupervisor};
use js_sys::{ArrayBuffer, Object, Reflect};
use ops_qr_worker::protocol::{DecodeRequest, EncodeRequest, FromWorker, RebuildRequest};
use ops_transport::qr::MAX_IMAGE_SIDE;
use ops_transport::{Limits, Message, Preset, RebuildJob};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ImageData, MessageEvent, Worker};

/// Why a frame was not decoded by the worker.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkerError {
    /// The worker trapped or died; it was terminated and the next frame starts another.
    #[error("the QR decoder worker stopped ({0}); it is restarted and scanning goes on")]
    Crashed(String),
    /// The worker did not answer in time; it was terminated and is replaced.
    #[error(
        "the QR decoder worker did not answer within {0} ms; it is restarted and scanning goes on"
    )]
    Timeout(i32),
    /// The worker could not be started (its file is missing, or the browser refused it).
    #[error("the QR decoder worker could not start ({0}); reload the page, or update the app")]
    Unavailable(String),
    /// The worker refused the frame.
    #[error("{message}")]
    Refused {
        /// `ops_qr_worker::FrameError::code`.
        code: String,
        /// Its text.
        message: String,
    },
    /// An answer that does not fit the protocol or the request.
    #[error("the QR decoder worker answered something unexpected ({0}); reload the page")]
    Protocol(String),
}

impl WorkerError {
    /// A lost frame that needs no word to the user: the next frame will do.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Crashed(_) | Self::Timeout(_) | Self::Unavailable(_) | Self::Protocol(_)
        )
    }
}

/// Resolver of the one awaited event (a worker answer, its crash, or a timeout).
type Pending = Rc<RefCell<Option<js_sys::Function>>>;

const TIMEOUT: &str = "timeout";

fn resolve(pending: &Pending, value: &JsValue) {
    let resolver = pending.borrow_mut().take();
    if let Some(resolver) = resolver {
        let _ = resolver.call1(&JsValue::NULL, value);
    }
}

/// A running worker with its event handlers; terminated when dropped.
struct Running {
    worker: Worker,
    pending: Pending,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Running {
    fn spawn(url: &str) -> Result<Self, WorkerError> {
        let worker = Worker::new(url).map_err(|error| WorkerError::Unavailable(js_text(&error)))?;
        let pending: Pending = Rc::default();
        let on_message = {
            let pending = Rc::clone(&pending);
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                resolve(&pending, &event.data());
            })
        };
        let on_error = {
            let pending = Rc::clone(&pending);
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                // Handled here: not an uncaught error of the page.
                event.prevent_default();
                let crashed = Object::new();
                let _ = Reflect::set(&crashed, &"type".into(), &"crashed".into());
                let message = Reflect::get(&event, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| event.type_());
                let _ = Reflect::set(&crashed, &"message".into(), &message.into());
                resolve(&pending, &crashed);
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        worker.set_onmessageerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            worker,
            pending,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Waits for the next event of the worker, or `timeout_ms`. Arms the resolver
    /// synchronously, so nothing the worker sends after this call is missed.
    fn next_event(&self, timeout_ms: i32) -> impl Future<Output = Event> + use<> {
        let pending = Rc::clone(&self.pending);
        let mut timer = None;
        let promise = js_sys::Promise::new(&mut |resolve_fn, _| {
            timer = web_sys::window().and_then(|w| {
                w.set_timeout_with_callback_and_timeout_and_arguments_1(
                    &resolve_fn,
                    timeout_ms,
                    &JsValue::from_str(TIMEOUT),
                )
                .ok()
            });
            pending.borrow_mut().replace(resolve_fn);
        });
        async move {
            let value = JsFuture::from(promise).await.unwrap_or(JsValue::UNDEFINED);
            if let (Some(timer), Some(window)) = (timer, web_sys::window()) {
                window.clear_timeout_with_handle(timer);
            }
            pending.borrow_mut().take();
            Event::of(&value)
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.set_onmessageerror(None);
        self.worker.terminate();
    }
}

/// What the worker did while the page waited.
enum Event {
    Message(Result<FromWorker, String>),
    Crashed(String),
    TimedOut,
}

impl Event {
    fn of(value: &JsValue) -> Self {
        if value.as_string().as_deref() == Some(TIMEOUT) {
            return Self::TimedOut;
        }
        let kind = Reflect::get(value, &"type".into())
            .ok()
            .and_then(|k| k.as_string());
        if kind.as_deref() == Some("crashed") {
            let message = Reflect::get(value, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_default();
            return Self::Crashed(message);
        }
        Self::Message(FromWorker::from_js(value).map_err(|error| error.to_string()))
    }
}

fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

/// Decodes camera frames with rqrr in a dedicated Web Worker (see the module docs).
pub struct WorkerDecoder {
    url: String,
    running: Option<Running>,
    next_id: u32,
    supervisor: WorkerSupervisor,
}

impl WorkerDecoder {
    /// A decoder for the worker script at `url` (Trunk's `<name>_loader.js`); nothing
    /// starts before the first frame.
    pub fn new(url: &str, settings: WorkerSettings) -> Self {
        Self {
            url: url.to_owned(),
            running: None,
            next_id: 0,
            supervisor: WorkerSupervisor::new(settings),
        }
    }

    /// True once the worker failed to start too often: use the in-page decoder.
    pub fn gave_up(&self) -> bool {
        self.supervisor.gave_up()
    }

    /// Frames, crashes, respawns and decode times so far.
    pub fn counts(&self) -> DecoderCounts {
        self.supervisor.counts()
    }

    /// Mutable counts (the scanner records the other decoders' frames here too).
    pub fn counts_mut(&mut self) -> &mut DecoderCounts {
        self.supervisor.counts_mut()
    }

    /// The running worker, started (and awaited) if there is none.
    async fn ensure_running(&mut self) -> Result<&Running, WorkerError> {
        if self.running.is_none() {
            self.supervisor.on_spawn();
            let running = match Running::spawn(&self.url) {
                Ok(running) => running,
                Err(error) => {
                    self.supervisor.on_start_failed();
                    return Err(error);
                }
            };
            let timeout = self.supervisor.settings().ready_timeout_ms;
            match running.next_event(timeout).await {
                Event::Message(Ok(FromWorker::Ready)) => self.supervisor.on_ready(),
                Event::Message(Ok(_)) | Event::Message(Err(_)) | Event::Crashed(_) => {
                    self.supervisor.on_start_failed();
                    return Err(WorkerError::Unavailable(format!(
                        "{} did not start as a QR decoder worker",
                        self.url
                    )));
                }
                Event::TimedOut => {
                    self.supervisor.on_start_failed();
                    return Err(WorkerError::Unavailable(format!(
                        "{} gave no sign of life within {timeout} ms",
                        self.url
                    )));
                }
            }
            self.running = Some(running);
        }
        self.running
            .as_ref()
            .ok_or_else(|| WorkerError::Unavailable(self.url.clone()))
    }

    /// Posts `request` (with `transfer`, buffers moved rather than copied) and waits for
    /// the answer to `id`. A crash or a timeout terminates the worker (the next request
    /// starts another); a refusal is [`WorkerError::Refused`].
    async fn exchange(
        &mut self,
        id: u32,
        request: &JsValue,
        transfer: Option<&js_sys::Array>,
    ) -> Result<FromWorker, WorkerError> {
        let timeout = self.supervisor.settings().decode_timeout_ms;
        let running = self.ensure_running().await?;
        let posted = match transfer {
            Some(transfer) => running.worker.post_message_with_transfer(request, transfer),
            None => running.worker.post_message(request),
        };
        if let Err(error) = posted {
            self.running = None;
            self.supervisor.on_crash();
            return Err(WorkerError::Crashed(js_text(&error)));
        }
        match running.next_event(timeout).await {
            Event::Message(Ok(FromWorker::Failed {
                id: answered,
                code,
                message,
            })) if answered == id => Err(WorkerError::Refused { code, message }),
            Event::Message(Ok(answer)) if answer.id() == Some(id) => Ok(answer),
            Event::Message(Ok(other)) => {
                Err(WorkerError::Protocol(format!("{other:?} for request {id}")))
            }
            Event::Message(Err(error)) => Err(WorkerError::Protocol(error)),
            Event::Crashed(message) => {
                self.running = None;
                self.supervisor.on_crash();
                Err(WorkerError::Crashed(message))
            }
            Event::TimedOut => {
                self.running = None;
                self.supervisor.on_timeout();
                Err(WorkerError::Timeout(timeout))
            }
        }
    }

    fn next_id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Sends the frame to the worker (its pixels are transferred, not copied) and waits
    /// for the texts found. `&mut self` keeps one request in flight: the caller cannot
    /// send the next before this one is answered, lost or timed out.
    pub async fn decode(&mut self, image: ImageData) -> Result<Vec<String>, WorkerError> {
        let (width, height) = (image.width(), image.height());
        if width as usize > MAX_IMAGE_SIDE || height as usize > MAX_IMAGE_SIDE {
            return Err(WorkerError::Refused {
                code: "too-large".into(),
                message: format!(
                    "the camera frame is {width}×{height} pixels; at most {MAX_IMAGE_SIDE} pixels per side are decoded"
                ),
            });
        }
        let rgba: ArrayBuffer = Reflect::get(&image, &"data".into())
            .and_then(|data| Reflect::get(&data, &"buffer".into()))
            .and_then(|buffer| buffer.dyn_into())
            .map_err(|error| WorkerError::Protocol(js_text(&error)))?;
        let id = self.next_id();
        let request = DecodeRequest::new(id, width, height, rgba);
        #[cfg(feature = "test-hooks")]
        let request = request.with_fault(crate::decoder::test_hooks::take_fault());
        match self
            .exchange(id, &request.to_js(), Some(&request.transfer_list()))
            .await?
        {
            FromWorker::Decoded { texts, ms, .. } => {
                self.supervisor.on_answer(ms);
                Ok(texts)
            }
            other => Err(WorkerError::Protocol(format!("{other:?} for request {id}"))),
        }
    }

    /// The first `count` frame texts of `message` at `preset` (one for a static code),
    /// encoded in the worker.
    pub async fn encode(
        &mut self,
        message: &Message,
        preset: Preset,
        count: u32,
    ) -> Result<Vec<String>, WorkerError> {
        let id = self.next_id();
        let request = EncodeRequest {
            id,
            kind: u32::from(message.kind.code()),
            body: message.body.clone(),
            symbol_size: u32::from(preset.symbol_size),
            count,
        };
        match self.exchange(id, &request.to_js(), None).await? {
            FromWorker::Frames { texts, .. } => Ok(texts),
            other => Err(WorkerError::Protocol(format!("{other:?} for request {id}"))),
        }
    }

    /// The message rebuilt in the worker from `job`'s frames; `None` when they are not
    /// enough yet.
    pub async fn rebuild(
        &mut self,
        job: &RebuildJob,
        limits: &Limits,
    ) -> Result<Option<Message>, WorkerError> {
        let id = self.next_id();
        let request = RebuildRequest {
            id,
            kind: u32::from(job.kind.code()),
            texts: job.texts.clone(),
            limits: *limits,
        };
        match self.exchange(id, &request.to_js(), None).await? {
            FromWorker::Rebuilt { body, .. } => Ok(body.map(|body| Message {
                kind: job.kind,
                body,
            })),
            other => Err(WorkerError::Protocol(format!("{other:?} for request {id}"))),
        }
    }
}
