//! `js_from!`: the conversion from a core type to the `#[napi(object)]` type that copies it.
//!
//! The napi struct itself stays written out: napi-rs makes the `.d.ts` interface from it, and it
//! reads doc comments that went through `macro_rules!` as raw strings (`r" text"`), so a macro
//! cannot declare it. What the macro removes is the second and third spelling of every field
//! (`id: i.id,`): a field is named once in the conversion, or given with its expression when it
//! is not copied as is. A field missing from the list, or missing in the core type, does not
//! compile, so the two stay in step.

/// `js_from!(Js from v: Core { a, b, c = expr, })` is `impl From<Core> for Js` with
/// `Js { a: v.a, b: v.b, c: expr }`; `expr` may read `v`. With `try` in front it is
/// `Js::from_core(v) -> tollbooth::Result<Js>` instead, for conversions that use `?`.
macro_rules! js_from {
    (@value $src:ident $field:ident) => {
        $src.$field
    };
    (@value $src:ident $field:ident $conv:expr) => {
        $conv
    };
    ($name:ident from $src:ident: $core:ty { $( $field:ident $(= $conv:expr)? ),* $(,)? }) => {
        impl From<$core> for $name {
            fn from($src: $core) -> Self {
                $name { $( $field: js_from!(@value $src $field $($conv)?), )* }
            }
        }
    };
    (try $name:ident from $src:ident: $core:ty { $( $field:ident $(= $conv:expr)? ),* $(,)? }) => {
        impl $name {
            pub fn from_core($src: $core) -> tollbooth::Result<Self> {
                Ok($name { $( $field: js_from!(@value $src $field $($conv)?), )* })
            }
        }
    };
}
