//! The worker's message loop.

use js_sys::Uint8Array;
use ops_qr_worker::fountain::{self, FountainError};
use ops_qr_worker::protocol::{DecodeRequest, EncodeRequest, FromWorker, RebuildRequest, ToWorker};
use ops_qr_worker::{FrameError, decode_rgba};
use ops_transport::Preset;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Installs the message handler and tells the page the worker is ready.
pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let answer_to = scope.clone();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let answer = handle(&event.data());
        let _ = answer_to.post_message(&answer.to_js());
    });
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    handler.forget();
    let _ = scope.post_message(&FromWorker::Ready.to_js());
}

fn now_ms() -> f64 {
    js_sys::global()
        .dyn_into::<web_sys::WorkerGlobalScope>()
        .ok()
        .and_then(|scope| scope.performance())
        .map(|performance| performance.now())
        .unwrap_or(0.0)
}

fn handle(data: &JsValue) -> FromWorker {
    match ToWorker::from_js(data) {
        Ok(ToWorker::Decode(request)) => decode(request),
        Ok(ToWorker::Encode(request)) => encode(request),
        Ok(ToWorker::Rebuild(request)) => rebuild(request),
        Err(error) => {
            let error = FrameError::BadRequest(error.to_string());
            FromWorker::Failed {
                id: 0,
                code: error.code().to_owned(),
                message: error.to_string(),
            }
        }
    }
}

fn failed(id: u32, error: &FountainError) -> FromWorker {
    FromWorker::Failed {
        id,
        code: error.code().to_owned(),
        message: error.to_string(),
    }
}

fn encode(request: EncodeRequest) -> FromWorker {
    let preset = Preset {
        symbol_size: u16::try_from(request.symbol_size).unwrap_or(u16::MAX),
        ..Preset::DEFAULT
    };
    let frames = fountain::kind_of(request.kind)
        .and_then(|kind| fountain::encode_frames(kind, request.body, preset, request.count));
    match frames {
        Ok(texts) => FromWorker::Frames {
            id: request.id,
            texts,
        },
        Err(error) => failed(request.id, &error),
    }
}

fn rebuild(request: RebuildRequest) -> FromWorker {
    let body = fountain::kind_of(request.kind)
        .and_then(|kind| fountain::rebuild(kind, request.texts, &request.limits));
    match body {
        Ok(body) => FromWorker::Rebuilt {
            id: request.id,
            body,
        },
        Err(error) => failed(request.id, &error),
    }
}

fn decode(request: DecodeRequest) -> FromWorker {
    #[cfg(feature = "test-hooks")]
    match request.fault {
        // What rqrr's assertion does under `panic = "abort"`: a wasm trap.
        Some(ops_qr_worker::protocol::TestFault::Trap) => std::process::abort(),
        // A decoder stuck in a loop: the page's timeout must end it.
        Some(ops_qr_worker::protocol::TestFault::Hang) => {
            let until = now_ms() + 60_000.0;
            while now_ms() < until {}
        }
        None => {}
    }
    let started = now_ms();
    let rgba = Uint8Array::new(&request.rgba).to_vec();
    match decode_rgba(request.width, request.height, &rgba) {
        Ok(texts) => FromWorker::Decoded {
            id: request.id,
            texts,
            ms: now_ms() - started,
        },
        Err(error) => FromWorker::Failed {
            id: request.id,
            code: error.code().to_owned(),
            message: error.to_string(),
        },
    }
}
