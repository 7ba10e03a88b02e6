//! End-to-end tests of the capture reader.
