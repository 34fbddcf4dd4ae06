//! Power cuts and restarts (R6).
