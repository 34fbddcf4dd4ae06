//! The Vigil dock protocol: what a docking station and the host say to each
//! other, and how it is framed on a serial line or USB bulk pipe.
//!
//! `#![no_std]` and allocation-free, so the same types compile into the
//! dock firmware and the host (`vigil-dock`). The specification is
//! `docs/dock-protocol.md`; this crate is its reference implementation.
//!
//! - [`msg`]: the messages (requests, responses, events).
//! - [`frame`]: `COBS(postcard(Envelope) ‖ CRC-32) 0x00` framing and a
//!   streaming [`frame::Decoder`] that resynchronises after garbage and
//!   never panics or grows, whatever bytes arrive.

#![no_std]

pub mod frame;
pub mod msg;

pub use frame::{encode, Decoder, FrameError};
pub use msg::*;
