//! Integration tests: one binary (ripgrep style), one module per area.

mod codec;
