//! C ABI for tollbooth (work in progress).
