//! Running engine calls off the JS thread: the Promise form of every method.
//!
//! A [`Call`] is a napi `Task`: `compute` runs on a libuv worker thread (the pool Node uses
//! for `fs`; `UV_THREADPOOL_SIZE`, default 4), so a slow store — a busy SQLite file, later a
//! network database — never blocks the event loop. The engine is `Send + Sync` and serializes
//! its own store access, so any number of calls may be in flight at once. The work is caught
//! with [`catch`] (no panic unwinds into libuv), and a failure rejects the Promise with an
//! `Error` carrying the same `code` the synchronous form throws.

use std::sync::Arc;

use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Env, Task, ValueType, sys};

use crate::engine::Shared;
use crate::error::{catch, rejection};
use crate::lanes;

/// One unit of work against an instance, run on whichever thread the caller chose.
pub type Work<T> = Box<dyn FnOnce(&Shared) -> tollbooth::Result<T> + Send>;

/// What a Promise resolves to: any value napi can convert (the `.d.ts` names the real type
/// through `ts_return_type`, so this wrapper needs no type name of its own).
pub struct Resolved<T>(T);

impl<T: ToNapiValue> ToNapiValue for Resolved<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: the caller's contract, passed on unchanged.
        unsafe { T::to_napi_value(env, val.0) }
    }
}

impl<T> TypeName for Resolved<T> {
    fn type_name() -> &'static str {
        "Promise result"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

/// A pending Promise-form call: the instance it belongs to and its work.
pub struct Call<T> {
    shared: Arc<Shared>,
    work: Option<Work<T>>,
}

impl<T> Call<T> {
    pub fn new(shared: Arc<Shared>, work: Work<T>) -> Self {
        Call {
            shared,
            work: Some(work),
        }
    }
}

impl<T: ToNapiValue + Send + 'static> Task for Call<T> {
    type Output = tollbooth::Result<T>;
    type JsValue = Resolved<T>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let shared = &self.shared;
        let work = self.work.take();
        Ok(catch(move || match work {
            // The store opens here on first use: on this worker thread, never the JS thread.
            Some(work) => work(shared),
            None => Err(tollbooth::Error::new(
                tollbooth::ErrorCode::Panic,
                "a task ran twice",
            )),
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Resolved<T>> {
        output.map(Resolved).map_err(|e| rejection(&env, e))
    }
}

/// A Promise made by [`on_lane`], returned to JS as it is.
pub struct PromiseValue(sys::napi_value);

impl ToNapiValue for PromiseValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // Created in this very call's handle scope, so still valid.
        Ok(val.0)
    }
}

impl TypeName for PromiseValue {
    fn type_name() -> &'static str {
        "Promise"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

/// The Promise form on a lane ([`crate::lanes`]) instead of libuv's pool: for webhook
/// deliveries, which wait for their group commit while on the thread. Settles the Promise
/// exactly like a [`Call`]: resolved with the value, or rejected with the same `Error` a
/// synchronous throw has.
pub fn on_lane<T: ToNapiValue + Send + 'static>(
    env: &Env,
    shared: Arc<Shared>,
    work: Work<T>,
) -> napi::Result<PromiseValue> {
    let (deferred, promise) = env.create_deferred()?;
    let raw = napi::bindgen_prelude::JsValue::raw(&promise);
    lanes::run(Box::new(move || {
        let out = catch(move || work(&shared));
        deferred.resolve(move |env: Env| out.map_err(|e| rejection(&env, e)));
    }));
    Ok(PromiseValue(raw))
}
