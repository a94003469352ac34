//! sdk.zig - the Paper Portal Zig SDK for this host: re-exports the modules. Importing it also
//! brings in the required exports (sdk/microtask.zig). Build apps with:
//!   zig build-lib -dynamic -rdynamic -target wasm32-wasi -O ReleaseSmall \
//!       --mod sdk::sdk/zig/sdk.zig --deps sdk main.zig
pub const ffi = @import("sdk/ffi.zig");
pub const errors = @import("sdk/error.zig");
pub const core = @import("sdk/core.zig");
pub const microtask = @import("sdk/microtask.zig");
pub const net = @import("sdk/net.zig");
pub const socket = @import("sdk/socket.zig");
pub const tls_socket = @import("sdk/tls_socket.zig");
pub const fs = @import("sdk/fs.zig");

pub const Error = errors.Error;
pub const IoError = errors.IoError;
pub const Feature = core.Feature;
pub const Action = microtask.Action;
pub const SocketAddr = socket.SocketAddr;
pub const SocketAddr6 = socket.SocketAddr6;

comptime {
    _ = microtask; // the exports
}
