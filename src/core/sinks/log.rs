//! The CSV flow log (issue #6).
