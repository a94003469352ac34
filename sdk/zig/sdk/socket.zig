//! socket.zig - module `portal_socket`: TCP/UDP sockets behind per-app handles, and the address
//! layouts the host reads and writes (docs/abi.md#socket-address-layouts). Semantics and error
//! texts: docs/spec-socket.md.
const std = @import("std");
const ffi = @import("ffi.zig");
const err = @import("error.zig");

pub const AF_INET: i32 = 2;
pub const AF_INET6: i32 = 10;
pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;

/// Timeouts: 0 never blocks, > 0 waits at most that many ms, < 0 waits until ready.
pub const no_wait: i32 = 0;
pub const wait_forever: i32 = -1;

/// The upstream 12-byte address (IPv4): family (LE i32, 2), port (LE u16, host order),
/// ip (network order), two padding bytes.
pub const SocketAddr = extern struct {
    family: i32 = AF_INET,
    port: u16 = 0,
    ip: [4]u8 = .{ 0, 0, 0, 0 },
    _pad: [2]u8 = .{ 0, 0 },

    pub fn init(ip: [4]u8, port: u16) SocketAddr {
        return .{ .family = AF_INET, .port = port, .ip = ip };
    }
    pub fn any(port: u16) SocketAddr {
        return init(.{ 0, 0, 0, 0 }, port);
    }
    pub fn loopback(port: u16) SocketAddr {
        return init(.{ 127, 0, 0, 1 }, port);
    }
};

comptime {
    if (@sizeOf(SocketAddr) != 12) @compileError("SocketAddr must be 12 bytes");
    if (@offsetOf(SocketAddr, "family") != 0) @compileError("SocketAddr.family at 0");
    if (@offsetOf(SocketAddr, "port") != 4) @compileError("SocketAddr.port at 4");
    if (@offsetOf(SocketAddr, "ip") != 6) @compileError("SocketAddr.ip at 6");
    if (@offsetOf(SocketAddr, "_pad") != 10) @compileError("SocketAddr._pad at 10");
}

/// The 28-byte IPv6 form (extension, Feature.ext_socket_ipv6).
pub const SocketAddr6 = extern struct {
    family: i32 = AF_INET6,
    port: u16 = 0,
    _pad: u16 = 0,
    ip: [16]u8 = [_]u8{0} ** 16,
    scope_id: u32 = 0,

    pub fn init(ip: [16]u8, port: u16, scope_id: u32) SocketAddr6 {
        return .{ .family = AF_INET6, .port = port, .ip = ip, .scope_id = scope_id };
    }
    pub fn any(port: u16) SocketAddr6 {
        return init([_]u8{0} ** 16, port, 0);
    }
    pub fn loopback(port: u16) SocketAddr6 {
        var ip = [_]u8{0} ** 16;
        ip[15] = 1;
        return init(ip, port, 0);
    }
};

comptime {
    if (@sizeOf(SocketAddr6) != 28) @compileError("SocketAddr6 must be 28 bytes");
    if (@offsetOf(SocketAddr6, "family") != 0) @compileError("SocketAddr6.family at 0");
    if (@offsetOf(SocketAddr6, "port") != 4) @compileError("SocketAddr6.port at 4");
    if (@offsetOf(SocketAddr6, "_pad") != 6) @compileError("SocketAddr6._pad at 6");
    if (@offsetOf(SocketAddr6, "ip") != 8) @compileError("SocketAddr6.ip at 8");
    if (@offsetOf(SocketAddr6, "scope_id") != 24) @compileError("SocketAddr6.scope_id at 24");
}

/// Room for whatever an accept call writes (12 or 28 bytes); `family()` tells which.
pub const AnyAddr = extern union {
    v4: SocketAddr,
    v6: SocketAddr6,

    pub fn empty() AnyAddr {
        return .{ .v6 = .{ .family = 0 } };
    }
    pub fn family(self: *const AnyAddr) i32 {
        return self.v4.family;
    }
    pub fn port(self: *const AnyAddr) u16 {
        return self.v4.port;
    }

    /// "a.b.c.d:port" or "[v6]:port" into `buf` (64 bytes are always enough), the IPv6 address
    /// in its RFC 5952 text as portal-host's logs write it: lower-case hex without leading zeros,
    /// the longest run of two or more zero groups (the first on a tie) as "::" ("[::1]:8443").
    pub fn toText(self: *const AnyAddr, buf: []u8) []const u8 {
        var w = TextWriter{ .buf = buf };
        if (self.family() == AF_INET6) {
            var groups: [8]u16 = undefined;
            for (&groups, 0..) |*g, k| g.* = @as(u16, self.v6.ip[2 * k]) << 8 | self.v6.ip[2 * k + 1];
            var run_start: usize = 8;
            var run_len: usize = 0;
            var i: usize = 0;
            while (i < 8) {
                const start = i;
                while (i < 8 and groups[i] == 0) i += 1;
                if (i - start >= 2 and i - start > run_len) {
                    run_start = start;
                    run_len = i - start;
                }
                if (i == start) i += 1;
            }
            w.byte('[');
            i = 0;
            while (i < 8) : (i += 1) {
                if (i == run_start) {
                    w.byte(':');
                    w.byte(':');
                    i += run_len - 1;
                    continue;
                }
                if (i > 0 and i != run_start + run_len) w.byte(':');
                w.hex(groups[i]);
            }
            w.byte(']');
        } else {
            for (self.v4.ip, 0..) |octet, i| {
                if (i > 0) w.byte('.');
                w.dec(octet);
            }
        }
        w.byte(':');
        w.dec(self.port());
        return buf[0..w.len];
    }
};

comptime {
    if (@sizeOf(AnyAddr) != 28) @compileError("AnyAddr must be 28 bytes");
}

/// Minimal formatting without std.fmt writers (their API differs between Zig versions).
const TextWriter = struct {
    buf: []u8,
    len: usize = 0,

    fn byte(self: *TextWriter, c: u8) void {
        if (self.len < self.buf.len) {
            self.buf[self.len] = c;
            self.len += 1;
        }
    }
    fn dec(self: *TextWriter, value: u32) void {
        var digits: [10]u8 = undefined;
        var n: usize = 0;
        var v = value;
        while (true) {
            digits[n] = '0' + @as(u8, @intCast(v % 10));
            n += 1;
            v /= 10;
            if (v == 0) break;
        }
        while (n > 0) {
            n -= 1;
            self.byte(digits[n]);
        }
    }
    fn hex(self: *TextWriter, value: u16) void {
        const chars = "0123456789abcdef";
        var started = false;
        var shift: u5 = 12;
        while (true) {
            const nibble: u16 = (value >> @as(u4, @intCast(shift))) & 0xf;
            if (nibble != 0 or started or shift == 0) {
                self.byte(chars[nibble]);
                started = true;
            }
            if (shift == 0) break;
            shift -= 4;
        }
    }
};

/// The bytes of an address value or pointer (SocketAddr, SocketAddr6 or AnyAddr).
fn addrBytes(addr: anytype) []const u8 {
    const T = @TypeOf(addr.*);
    const p: [*]const u8 = @ptrCast(addr);
    return p[0..@sizeOf(T)];
}

/// One open socket; owns its handle until `close`.
pub const Socket = struct {
    handle: i32,

    pub fn open(domain: i32, sock_type: i32) err.Error!Socket {
        return .{ .handle = try err.check(ffi.sockSocket(domain, sock_type, 0)) };
    }

    /// addr: *const SocketAddr or *const SocketAddr6.
    pub fn bind(self: Socket, addr: anytype) err.Error!void {
        const b = addrBytes(addr);
        return err.checkVoid(ffi.sockBind(self.handle, ffi.inPtr(b), @intCast(b.len)));
    }

    pub fn listen(self: Socket, backlog: i32) err.Error!void {
        return err.checkVoid(ffi.sockListen(self.handle, backlog));
    }

    /// A new listening stream socket bound to `addr`.
    pub fn listenOn(addr: anytype, backlog: i32) err.Error!Socket {
        const domain = if (@TypeOf(addr.*) == SocketAddr6) AF_INET6 else AF_INET;
        const s = try open(domain, SOCK_STREAM);
        errdefer s.close();
        try s.bind(addr);
        try s.listen(backlog);
        return s;
    }

    pub fn connect(self: Socket, addr: anytype, timeout_ms: i32) err.IoError!void {
        const b = addrBytes(addr);
        _ = try err.checkIo(ffi.sockConnect(self.handle, ffi.inPtr(b), @intCast(b.len), timeout_ms));
    }

    pub const Accepted = struct { socket: Socket, peer: AnyAddr };

    pub fn accept(self: Socket, timeout_ms: i32) err.Error!Accepted {
        var peer = AnyAddr.empty();
        const p: [*]u8 = @ptrCast(&peer);
        const h = try err.check(ffi.sockAcceptWithTimeout(self.handle, p, @sizeOf(AnyAddr), timeout_ms));
        return .{ .socket = .{ .handle = h }, .peer = peer };
    }

    /// Bytes accepted (may be fewer than bytes.len).
    pub fn send(self: Socket, bytes: []const u8, timeout_ms: i32) err.IoError!usize {
        const n = try err.checkIo(ffi.sockSend(self.handle, ffi.inPtr(bytes), @intCast(bytes.len), timeout_ms));
        return @intCast(n);
    }

    /// Bytes read; 0 means the peer closed the connection.
    pub fn recv(self: Socket, buf: []u8, timeout_ms: i32) err.IoError!usize {
        const n = try err.checkIo(ffi.sockRecv(self.handle, ffi.outPtr(buf), @intCast(buf.len), timeout_ms));
        return @intCast(n);
    }

    pub fn close(self: Socket) void {
        _ = ffi.sockClose(self.handle);
    }
};

/// sockPoll entry (extension, Feature.ext_socket_poll).
pub const PollEntry = extern struct {
    handle: i32,
    events: u16,
    revents: u16 = 0,
};
pub const POLL_IN: u16 = 1;
pub const POLL_OUT: u16 = 2;
pub const POLL_ERR: u16 = 4;
pub const POLL_HUP: u16 = 8;
pub const POLL_INVALID: u16 = 16;

comptime {
    if (@sizeOf(PollEntry) != 8) @compileError("PollEntry must be 8 bytes");
    if (@offsetOf(PollEntry, "revents") != 6) @compileError("PollEntry.revents at 6");
}

/// Waits until an entry is ready; returns how many have revents set.
pub fn poll(entries: []PollEntry, timeout_ms: i32) err.Error!usize {
    const p = ffi.outPtr(std.mem.sliceAsBytes(entries));
    const n = try err.check(ffi.sockPoll(p, @intCast(entries.len * @sizeOf(PollEntry)), timeout_ms));
    return @intCast(n);
}
