//! Spaceport's domain: the values a user types and sees (emails, handles, project titles, statuses,
//! flight-plan inputs), parsed once at the edge so the rest of the code can trust them; the
//! job contract (`job`: stages, statuses, parameters and presets, delivered files, progress
//! lines), and the *ports* — traits for accounts, projects, uploads, jobs, delivered files,
//! share links, notifications, the waitlist and terrain — that the server implements twice
//! (embedded SQLite/local files, and AWS). No I/O lives here, so the crate compiles for wasm32
//! and the browser shares the exact types the server validates with.

pub mod error;
pub mod job;
pub mod messages;
pub mod ports;
pub mod ratelimit;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod types;

pub use error::{AuthError, StoreError, ValidationError};
pub use types::*;
