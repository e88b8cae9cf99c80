//! Cinelock's browser driver, compiled to WebAssembly.
//!
//! It owns the browser I/O around `cinelock-core`: randomness from `crypto.getRandomValues`,
//! AES-GCM on WebCrypto where `crypto.subtle` exists (the fast path; byte-identical to the core's
//! own `aes-gcm`, which is the fallback), and reading/writing `Blob`s window by window so memory
//! stays flat whatever the size. It owns no policy: formats and decisions live in the core.
//! The JS-facing functions are in [`api`], [`upload`] and [`player`] (Media Source Extensions
//! playback of encrypted packages); the npm package wraps them with TypeScript types.

pub mod api;
mod beacons;
mod download;
mod engine;
mod error;
mod extras;
mod first_objects;
mod io;
mod link_memory;
mod mse;
mod objects;
mod opener;
mod platform;
pub mod player;
mod put;
pub mod recorder;
mod session;
mod spool;
pub mod upload;
mod upload_slots;
mod warm;
mod warm_upload;

pub use engine::EngineChoice;
pub use error::SdkError;
pub use objects::open_media_object;
pub use opener::serve_opener;
pub use warm::warm_up;
pub use warm_upload::warm_up_upload;
