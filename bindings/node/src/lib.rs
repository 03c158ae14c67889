//! Node binding for tollbooth (work in progress).
