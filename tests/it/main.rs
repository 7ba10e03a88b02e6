//! Integration tests: one test binary (one link step on a 2-core machine), one module per area.

mod agent;
mod aggregate;
mod cli;
mod codec;
mod collect;
mod conntrack;
mod decode;
mod export;
mod fakeapi;
mod ipfixdump;
mod k8s;
mod netns;
mod peers;
mod proxy;
mod quickstart;
mod readme;
mod registry;
mod replay;
mod tc;
mod transport;
mod util;
