//! error.zig - the host's error codes (docs/abi.md#error-codes-and-the-last-error) as a Zig error set, and back.
const ffi = @import("ffi.zig");

pub const ok: i32 = 0;
pub const code_invalid_argument: i32 = -1;
pub const code_internal: i32 = -2;
pub const code_not_ready: i32 = -3;
pub const code_not_found: i32 = -4;

/// One error per host code; any other negative value is `Unknown`.
pub const Error = error{ InvalidArgument, Internal, NotReady, NotFound, Unknown };

/// Socket and TLS calls also tell "the connection is gone" (message contains "closed") apart
/// from "try again later" (NotReady), which share code -3 (and -2 from sockSend).
pub const IoError = Error || error{Closed};

/// The error for a negative code (a non-negative code is not an error: `Unknown`).
pub fn fromCode(code: i32) Error {
    return switch (code) {
        code_invalid_argument => error.InvalidArgument,
        code_internal => error.Internal,
        code_not_ready => error.NotReady,
        code_not_found => error.NotFound,
        else => error.Unknown,
    };
}

/// The host code for an error (`Unknown` and `Closed` map to the codes they came from as far as
/// they can: Unknown -> -2, Closed -> -3).
pub fn toCode(err: IoError) i32 {
    return switch (err) {
        error.InvalidArgument => code_invalid_argument,
        error.Internal => code_internal,
        error.NotReady => code_not_ready,
        error.NotFound => code_not_found,
        error.Unknown => code_internal,
        error.Closed => code_not_ready,
    };
}

/// A short name for a code, as the C SDK's pp_error_name.
pub fn name(code: i32) []const u8 {
    return switch (code) {
        code_invalid_argument => "invalid argument",
        code_internal => "internal error",
        code_not_ready => "not ready",
        code_not_found => "not found",
        else => if (code >= 0) "ok" else "unknown error",
    };
}

/// Returns a non-negative result as is, or the error of a negative one.
pub fn check(rc: i32) Error!i32 {
    if (rc >= 0) return rc;
    return fromCode(rc);
}

/// As `check`, for calls that return 0 on success.
pub fn checkVoid(rc: i32) Error!void {
    if (rc < 0) return fromCode(rc);
}

/// As `check`, for socket and TLS calls: -3 or -2 whose last-error message says "closed"
/// becomes `error.Closed`.
pub fn checkIo(rc: i32) IoError!i32 {
    if (rc >= 0) return rc;
    if ((rc == code_not_ready or rc == code_internal) and lastMessageSaysClosed()) return error.Closed;
    return fromCode(rc);
}

fn lastMessageSaysClosed() bool {
    var buf: [128]u8 = undefined;
    const n = ffi.lastErrorMessage(&buf, buf.len);
    if (n <= 0) return false;
    return containsClosed(buf[0..@as(usize, @intCast(n))]);
}

/// True when `msg` contains "closed" (the host's text for a connection that is gone).
pub fn containsClosed(msg: []const u8) bool {
    const word = "closed";
    if (msg.len < word.len) return false;
    var i: usize = 0;
    while (i + word.len <= msg.len) : (i += 1) {
        var same = true;
        for (word, 0..) |c, j| {
            if (msg[i + j] != c) {
                same = false;
                break;
            }
        }
        if (same) return true;
    }
    return false;
}
