//! tls_socket.zig - module `portal_socket_tls`: TLS servers on top of a listening `portal_socket`
//! handle. Thin: the TLS itself runs in the host; these are small structs that own integer
//! handles. Semantics, limits and error texts: docs/spec-socket-tls.md.
//!
//! Written in the subset of Zig that means the same in 0.11 and in the newer Zig the upstream SDK
//! targets: no callconv, no std I/O, single-argument casts (@intCast with a result type). It needs
//! from its siblings only: ffi.zig (the tls* externs and lastErrorMessage), error.zig (`Error` and
//! `fromCode`, as upstream has them) and socket.zig (`AnyAddr`); sdk/zig/README.md says how to
//! drop it into the upstream SDK.
const std = @import("std");
const ffi = @import("ffi.zig");
const errors = @import("error.zig");
const socket = @import("socket.zig");

/// The host's error codes, plus `Closed`: -3 (or -2) whose message says "closed" means the
/// connection is gone, while plain NotReady means "nothing yet, try again".
pub const Error = errors.Error || error{Closed};

fn result(rc: i32) Error!i32 {
    if (rc >= 0) return rc;
    if ((rc == -3 or rc == -2) and lastErrorSaysClosed()) return error.Closed;
    return errors.fromCode(rc);
}

fn lastErrorSaysClosed() bool {
    var buf: [128]u8 = undefined;
    const n = ffi.lastErrorMessage(&buf, buf.len);
    if (n <= 0) return false;
    const len: usize = @intCast(n);
    return std.mem.indexOf(u8, buf[0..len], "closed") != null;
}

/// tlsServerConfigCreate flags.
pub const Flags = struct {
    /// Upstream: clients must present a certificate that chains to client_ca_pem.
    pub const require_client_cert: i32 = 0x1;
    /// Extension (feature bit 34): no session tickets, so no resumption.
    pub const no_tickets: i32 = 0x2;
};

/// The upstream SDK's names for the flags.
pub const ServerConfigFlags = struct {
    pub const requireClientCert: i32 = Flags.require_client_cert;
    pub const noTickets: i32 = Flags.no_tickets;
};

/// A server configuration (certificate chain, key, optional client CA). The host copies the PEM
/// bytes, so the caller's buffers may go away after `create`.
pub const ServerConfig = struct {
    handle: i32,

    /// client_ca_pem is given exactly when flags has Flags.require_client_cert.
    pub fn create(cert_pem: []const u8, key_pem: []const u8, client_ca_pem: ?[]const u8, flags: i32) Error!ServerConfig {
        var ca_ptr: ?[*]const u8 = null;
        var ca_len: u32 = 0;
        if (client_ca_pem) |ca| {
            ca_ptr = ffi.inPtr(ca);
            ca_len = @intCast(ca.len);
        }
        const h = try result(ffi.tlsServerConfigCreate(
            ffi.inPtr(cert_pem),
            @intCast(cert_pem.len),
            ffi.inPtr(key_pem),
            @intCast(key_pem.len),
            ca_ptr,
            ca_len,
            flags,
        ));
        return .{ .handle = h };
    }

    /// Frees the config; sessions made from it keep working. Safe to call twice.
    pub fn deinit(self: *ServerConfig) void {
        if (self.handle > 0) _ = ffi.tlsServerConfigFree(self.handle);
        self.handle = 0;
    }
};

/// The handle of a listener given as an i32, or as a socket.Socket (value or pointer) whose
/// handle field is `handle` (this SDK) or `fd` (the upstream SDK).
fn handleOf(listener: anytype) i32 {
    const T = @TypeOf(listener);
    if (T == i32 or T == comptime_int) return listener;
    const S = if (T == *socket.Socket or T == *const socket.Socket) socket.Socket else T;
    if (@hasField(S, "handle")) return listener.handle;
    return listener.fd;
}

pub const AcceptResult = struct {
    socket: TlsSocket,
    /// The peer: 12-byte IPv4 form, or the 28-byte IPv6 form (addr.family() tells).
    addr: socket.AnyAddr,
};

/// Returns a session once a client accepted on `listener` for `config` has finished its
/// handshake; error.NotReady when none did within timeout_ms (0 = do not wait). Handshakes go on
/// in the host meanwhile. config: ServerConfig or *ServerConfig; listener: see handleOf.
pub fn accept(config: anytype, listener: anytype, timeout_ms: i32) Error!AcceptResult {
    var peer = socket.AnyAddr.empty();
    const p: [*]u8 = @ptrCast(&peer);
    const h = try result(ffi.tlsAccept(config.handle, handleOf(listener), p, @sizeOf(socket.AnyAddr), timeout_ms));
    return .{ .socket = .{ .handle = h }, .addr = peer };
}

/// One TLS session; owns its handle (and the TCP connection beneath) until `close`.
pub const TlsSocket = struct {
    handle: i32,

    /// Plaintext bytes read (> 0); 0 = the client closed the connection. error.NotReady: nothing
    /// yet; error.Closed: the connection is gone.
    pub fn recv(self: TlsSocket, buf: []u8, timeout_ms: i32) Error!usize {
        if (buf.len == 0) return error.InvalidArgument; // 0 must only ever mean "closed"
        const n = try result(ffi.tlsRecv(self.handle, ffi.outPtr(buf), @intCast(buf.len), timeout_ms));
        return @intCast(n);
    }

    /// Plaintext bytes accepted (may be fewer than bytes.len). error.NotReady: nothing taken.
    pub fn send(self: TlsSocket, bytes: []const u8, timeout_ms: i32) Error!usize {
        const n = try result(ffi.tlsSend(self.handle, ffi.inPtr(bytes), @intCast(bytes.len), timeout_ms));
        return @intCast(n);
    }

    /// Pushes out a record the host still holds for this session.
    pub fn flush(self: TlsSocket, timeout_ms: i32) Error!void {
        _ = try result(ffi.tlsSend(self.handle, ffi.inPtr(&.{}), 0, timeout_ms));
    }

    /// Sends every byte (each call waiting at most timeout_ms), then flushes.
    pub fn sendAll(self: TlsSocket, bytes: []const u8, timeout_ms: i32) Error!void {
        var done: usize = 0;
        while (done < bytes.len) done += try self.send(bytes[done..], timeout_ms);
        try self.flush(timeout_ms);
    }

    /// Sends close_notify (best effort, bounded) and closes the connection.
    pub fn close(self: TlsSocket) void {
        _ = ffi.tlsClose(self.handle);
    }

    /// The tlsSessionInfo extension (feature bit 33; a host without it traps, so check the bit).
    pub fn info(self: TlsSocket) Error!SessionInfo {
        var out: SessionInfo = undefined;
        const p: [*]u8 = @ptrCast(&out);
        _ = try result(ffi.tlsSessionInfo(self.handle, p, @sizeOf(SessionInfo)));
        return out;
    }
};

pub const version_tls12: i32 = 0x0303;
pub const version_tls13: i32 = 0x0304;
pub const info_resumed: i32 = 0x1;
pub const info_client_verified: i32 = 0x2;

/// The 328 bytes tlsSessionInfo writes (docs/extensions.md).
pub const SessionInfo = extern struct {
    protocol_version: i32,
    flags: i32,
    cipher: [64]u8,
    subject: [256]u8,

    /// A NUL-terminated field without its terminator.
    pub fn text(field: []const u8) []const u8 {
        var n: usize = 0;
        while (n < field.len and field[n] != 0) n += 1;
        return field[0..n];
    }
};

comptime {
    if (@sizeOf(SessionInfo) != 328) @compileError("SessionInfo must be 328 bytes");
    if (@offsetOf(SessionInfo, "cipher") != 8) @compileError("SessionInfo.cipher at 8");
    if (@offsetOf(SessionInfo, "subject") != 72) @compileError("SessionInfo.subject at 72");
}
