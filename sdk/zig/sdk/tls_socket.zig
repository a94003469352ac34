//! tls_socket.zig - module `portal_socket_tls`: TLS servers on top of a listening `portal_socket`
//! handle, and TLS clients (the extension of feature bit 36: TlsClientConfig, TlsSocket.connect).
//! Thin: the TLS itself runs in the host; these are small structs that own integer handles.
//! Semantics, limits and error texts: docs/spec-socket-tls.md and docs/extensions.md.
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

/// tlsClientConfigCreate flags (feature bit 36).
pub const ClientFlags = struct {
    /// DEVELOPMENT ONLY: the server's certificate is not verified at all (anyone can pretend to
    /// be the server); the host logs a warning per connect and SessionInfo says info_unverified.
    pub const no_verify: i32 = 0x1;
    /// Never resume a session: every handshake is a full one.
    pub const no_tickets: i32 = 0x2;
};

/// A TLS client configuration (feature bit 36): whom to trust, who we are, which application
/// protocols to offer. The host copies everything. Sessions it made keep working after `free`.
pub const TlsClientConfig = struct {
    handle: i32,

    pub const Options = struct {
        /// Trust anchors (PEM, or one DER certificate); null = the host's default trust store.
        ca_pem: ?[]const u8 = null,
        /// A client certificate (chain) and its key for mutual TLS: both or neither.
        cert_pem: ?[]const u8 = null,
        key_pem: ?[]const u8 = null,
        /// ALPN protocols in order of preference, comma-separated ("h2,http/1.1"); null = none.
        alpn: ?[]const u8 = null,
        /// ClientFlags bits.
        flags: i32 = 0,
    };

    pub fn create(options: Options) Error!TlsClientConfig {
        const ca = bufArg(options.ca_pem);
        const cert = bufArg(options.cert_pem);
        const key = bufArg(options.key_pem);
        const alpn = bufArg(options.alpn);
        const h = try result(ffi.tlsClientConfigCreate(ca.ptr, ca.len, cert.ptr, cert.len, key.ptr, key.len, alpn.ptr, alpn.len, options.flags));
        return .{ .handle = h };
    }

    /// Frees the config and the sessions it remembered for resumption. Safe to call twice.
    pub fn free(self: *TlsClientConfig) void {
        if (self.handle > 0) _ = ffi.tlsClientConfigFree(self.handle);
        self.handle = 0;
    }
};

const BufArg = struct { ptr: ?[*]const u8, len: u32 };

fn bufArg(bytes: ?[]const u8) BufArg {
    const b = bytes orelse return .{ .ptr = null, .len = 0 };
    return .{ .ptr = ffi.inPtr(b), .len = @intCast(b.len) };
}

/// The bytes of an address value or pointer (SocketAddr, SocketAddr6 or AnyAddr).
fn addrBytes(addr: anytype) []const u8 {
    const T = @TypeOf(addr.*);
    const p: [*]const u8 = @ptrCast(addr);
    if (T == socket.AnyAddr) return p[0..if (addr.family() == socket.AF_INET6) @sizeOf(socket.SocketAddr6) else @sizeOf(socket.SocketAddr)];
    return p[0..@sizeOf(T)];
}

/// One TLS session; owns its handle (and the TCP connection beneath) until `close`.
pub const TlsSocket = struct {
    handle: i32,

    /// A client session to `host` (a DNS name or an IP literal: the SNI and the name the server's
    /// certificate must match), the host resolving it without stalling the app, port 1..65535.
    /// timeout_ms 0: returns at once while the handshake goes on in the host (poll the handle
    /// for POLL_OUT / POLL_ERR, or ask `handshakeDone`); > 0 / < 0: waits for the handshake,
    /// error.NotReady when it timed out. config: TlsClientConfig or *TlsClientConfig. Feature
    /// bit 36: a host without it traps.
    pub fn connect(config: anytype, host: [*:0]const u8, port: u16, timeout_ms: i32) Error!TlsSocket {
        return .{ .handle = try result(ffi.tlsConnect(config.handle, host, null, 0, port, timeout_ms)) };
    }

    /// As `connect`, to a resolved address (*const SocketAddr, SocketAddr6 or AnyAddr, which
    /// carries the port); `host` is still the name the certificate must be valid for.
    pub fn connectAddr(config: anytype, host: [*:0]const u8, addr: anytype, timeout_ms: i32) Error!TlsSocket {
        const b = addrBytes(addr);
        return .{ .handle = try result(ffi.tlsConnect(config.handle, host, ffi.inPtr(b), @intCast(b.len), 0, timeout_ms)) };
    }

    /// For a session from `connect` with timeout 0: true once the handshake finished, false
    /// while it runs; the failure (with its reason in the last error message) when it failed.
    pub fn handshakeDone(self: TlsSocket) Error!bool {
        var out: SessionInfo = undefined;
        const p: [*]u8 = @ptrCast(&out);
        const rc = ffi.tlsSessionInfo(self.handle, p, @sizeOf(SessionInfo));
        if (rc == -3) return false; // "handshake in progress"
        _ = try result(rc);
        return true;
    }

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

    /// The 584-byte form with the negotiated ALPN protocol (feature bit 36; on a host with only
    /// bit 33 the alpn field stays empty).
    pub fn infoEx(self: TlsSocket) Error!SessionInfoEx {
        var out: SessionInfoEx = undefined;
        out.alpn[0] = 0;
        const p: [*]u8 = @ptrCast(&out);
        const features: u64 = @bitCast(ffi.apiFeatures());
        const len: u32 = if (features & (1 << 36) != 0) @sizeOf(SessionInfoEx) else @sizeOf(SessionInfo);
        _ = try result(ffi.tlsSessionInfo(self.handle, p, len));
        return out;
    }
};

pub const version_tls12: i32 = 0x0303;
pub const version_tls13: i32 = 0x0304;
pub const info_resumed: i32 = 0x1;
pub const info_client_verified: i32 = 0x2;
/// The same bit read on a client session: the server's certificate was verified.
pub const info_peer_verified: i32 = 0x2;
/// The session was made by tlsConnect (feature bit 36).
pub const info_client_session: i32 = 0x4;
/// Its config had ClientFlags.no_verify: the server was not verified.
pub const info_unverified: i32 = 0x8;

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

/// The 584 bytes tlsSessionInfo writes on hosts with feature bit 36: SessionInfo, then the
/// negotiated ALPN protocol (NUL-terminated, empty when none). For a client session `subject` is
/// the server certificate's subject.
pub const SessionInfoEx = extern struct {
    protocol_version: i32,
    flags: i32,
    cipher: [64]u8,
    subject: [256]u8,
    alpn: [256]u8,
};

comptime {
    if (@sizeOf(SessionInfoEx) != 584) @compileError("SessionInfoEx must be 584 bytes");
    if (@offsetOf(SessionInfoEx, "alpn") != 328) @compileError("SessionInfoEx.alpn at 328");
    if (@sizeOf(SessionInfo) != 328) @compileError("SessionInfo must be 328 bytes");
    if (@offsetOf(SessionInfo, "cipher") != 8) @compileError("SessionInfo.cipher at 8");
    if (@offsetOf(SessionInfo, "subject") != 72) @compileError("SessionInfo.subject at 72");
}
