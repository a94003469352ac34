//! core.zig - module `portal` (version, feature bits, last error, clocks) and `portal_log`.
const std = @import("std");
const ffi = @import("ffi.zig");
const err = @import("error.zig");

/// apiFeatures() bits (docs/abi.md#api-version-and-feature-bits).
pub const Feature = struct {
    pub const core: u64 = 1 << 0;
    pub const m5: u64 = 1 << 1;
    pub const net: u64 = 1 << 12;
    pub const socket: u64 = 1 << 15;
    pub const fs: u64 = 1 << 16;
    pub const socket_tls: u64 = 1 << 20;
    pub const ext_socket_ipv6: u64 = 1 << 32;
    pub const ext_tls_session_info: u64 = 1 << 33;
    pub const ext_tls_no_tickets: u64 = 1 << 34;
    pub const ext_socket_poll: u64 = 1 << 35;
    pub const ext_tls_client: u64 = 1 << 36;
};

pub fn apiVersion() i32 {
    return ffi.apiVersion();
}

pub fn features() u64 {
    return @bitCast(ffi.apiFeatures());
}

/// True when the host provides every bit of `bits`.
pub fn hasFeatures(bits: u64) bool {
    return features() & bits == bits;
}

pub fn lastErrorCode() i32 {
    return ffi.lastErrorCode();
}

/// Copies the last error message into `buf` and returns it (cut to buf.len - 1 bytes).
pub fn lastErrorMessage(buf: []u8) []const u8 {
    if (buf.len == 0) return buf[0..0];
    const n = ffi.lastErrorMessage(buf.ptr, @intCast(buf.len));
    if (n <= 0) return buf[0..0];
    return buf[0..@as(usize, @intCast(n))];
}

var last_error_buf: [128]u8 = undefined;

/// The last error message in a static buffer (valid until the next call).
pub fn lastError() []const u8 {
    return lastErrorMessage(&last_error_buf);
}

pub fn millis() i32 {
    return ffi.millis();
}

pub fn micros() i64 {
    return ffi.micros();
}

pub fn delayMs(ms: i32) err.Error!void {
    return err.checkVoid(ffi.delayMs(ms));
}

/// Asks the host to end the app (processed after the current call returns).
pub fn exitApp() err.Error!void {
    return err.checkVoid(ffi.exitApp());
}

pub const Level = enum { info, warn, err };

/// Logs a NUL-terminated message.
pub fn log(level: Level, msg: [*:0]const u8) void {
    switch (level) {
        .info => ffi.logInfo(msg),
        .warn => ffi.logWarn(msg),
        .err => ffi.logError(msg),
    }
}

/// Formats into a 256-byte line (longer lines are cut) and logs it.
pub fn logf(level: Level, comptime fmt: []const u8, args: anytype) void {
    var line: [256]u8 = undefined;
    const text = std.fmt.bufPrintZ(&line, fmt, args) catch blk: {
        line[line.len - 1] = 0;
        break :blk line[0 .. line.len - 1 :0];
    };
    log(level, text.ptr);
}
