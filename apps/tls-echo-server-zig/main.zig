//! tls-echo-server-zig - the example TLS echo server in Zig: listens on port 8443 (`-- --port N`
//! overrides; IPv6 too when the host has the extension), accepts TLS clients with the build's
//! development certificate (ECDSA P-256), echoes every byte back to its sender, and serves all
//! clients from one microtask: accept with timeout 0, flush pending bytes before reading more,
//! close on end of stream or error. ppShutdown closes everything.
//! `-- --cert PATH --key PATH [--ca PATH]` loads PEM files from the app's SD card instead (e.g.
//! /sdcard/certs/server.pem; on portal-host the card is its --sd directory); --ca requires client
//! certificates signed by that CA.
const std = @import("std");
const sdk = @import("sdk");
const dev_certs = @import("dev_certs"); // generated at build time (cmake/zig.cmake)

comptime {
    _ = sdk; // brings in the SDK's exports (_start, portalMicroTaskStep, ...)
}

const core = sdk.core;
const socket = sdk.socket;
const tls = sdk.tls_socket;
const Action = sdk.microtask.Action;

const max_clients = 64;
const buf_size = 16384;

const Client = struct {
    session: ?tls.TlsSocket = null,
    peer_buf: [64]u8 = undefined,
    peer_len: usize = 0,
    pending: ?[]u8 = null, // received but not yet echoed (allocated only while non-empty)
    pending_off: usize = 0,
    echoed: u64 = 0,

    fn peer(self: *const Client) []const u8 {
        return self.peer_buf[0..self.peer_len];
    }
};

var config: tls.ServerConfig = .{ .handle = 0 };
var listeners: [2]socket.Socket = undefined;
var listener_count: usize = 0;
var port: u16 = 8443;
var clients = [_]Client{.{}} ** max_clients;
var open_clients: usize = 0;
var recv_buf: [buf_size]u8 = undefined;
const allocator = sdk.microtask.allocator;

fn closeClient(c: *Client, why: []const u8) void {
    if (c.session) |s| s.close();
    core.logf(.info, "client {s} closed ({s}), {d} bytes echoed", .{ c.peer(), why, c.echoed });
    if (c.pending) |p| allocator.free(p);
    c.* = .{};
    open_clients -= 1;
}

fn acceptClients(listener: socket.Socket) void {
    while (true) {
        var slot: ?*Client = null;
        for (&clients) |*c| {
            if (c.session == null) {
                slot = c;
                break;
            }
        }
        const c = slot orelse return; // full: new clients wait in the backlog
        const accepted = tls.accept(config, listener, 0) catch |e| {
            if (e != error.NotReady) core.logf(.warn, "tlsAccept: {s}", .{core.lastError()});
            return;
        };
        c.* = .{ .session = accepted.socket };
        c.peer_len = accepted.addr.toText(&c.peer_buf).len;
        open_clients += 1;
        core.logf(.info, "client {s} connected", .{c.peer()});
    }
}

/// Sends what is pending; false when the client was closed.
fn flushClient(c: *Client) bool {
    const s = c.session orelse return false;
    const p = c.pending orelse return true;
    while (c.pending_off < p.len) {
        const n = s.send(p[c.pending_off..], 0) catch |e| {
            if (e == error.NotReady) return true; // peer not reading: try again later
            closeClient(c, core.lastError());
            return false;
        };
        c.pending_off += n;
        c.echoed += n;
    }
    allocator.free(p);
    c.pending = null;
    c.pending_off = 0;
    return true;
}

/// Echoes pending bytes before reading more, so a slow reader only slows itself.
fn serveClient(c: *Client) void {
    var rounds: usize = 0;
    while (rounds < 8) : (rounds += 1) {
        if (!flushClient(c) or c.pending != null) return;
        const s = c.session.?;
        const n = s.recv(&recv_buf, 0) catch |e| {
            if (e == error.NotReady) return;
            closeClient(c, core.lastError());
            return;
        };
        if (n == 0) {
            closeClient(c, "peer closed");
            return;
        }
        const sent = s.send(recv_buf[0..n], 0) catch |e| blk: {
            if (e == error.NotReady) break :blk @as(usize, 0);
            closeClient(c, core.lastError());
            return;
        };
        c.echoed += sent;
        if (sent < n) {
            c.pending = allocator.dupe(u8, recv_buf[sent..n]) catch {
                closeClient(c, "out of memory");
                return;
            };
            c.pending_off = 0;
            return;
        }
    }
}

fn serve(ctx: ?*anyopaque, handle: i32, now_ms: i32) Action {
    _ = ctx;
    _ = handle;
    _ = now_ms;
    for (listeners[0..listener_count]) |l| acceptClients(l);
    for (&clients) |*c| {
        if (c.session != null) serveClient(c);
    }
    return Action.sleepMs(if (open_clients > 0) 1 else 5);
}

pub fn onShutdown() void {
    for (&clients) |*c| {
        if (c.session != null) closeClient(c, "server shutting down");
    }
    for (listeners[0..listener_count]) |l| l.close();
    listener_count = 0;
    config.deinit();
    core.log(.info, "tls-echo-server-zig stopped");
}

fn listenOn(addr: anytype, label: []const u8) void {
    const l = socket.Socket.listenOn(addr, 1024) catch {
        core.logf(.err, "cannot listen on {s} port {d}: {s}", .{ label, port, core.lastError() });
        return;
    };
    listeners[listener_count] = l;
    listener_count += 1;
    core.logf(.info, "listening on {s} port {d}", .{ label, port });
}

// --cert/--key/--ca: SD-card paths (NUL-terminated copies that outlive the argument list).
var cert_path: ?[:0]u8 = null;
var key_path: ?[:0]u8 = null;
var ca_path: ?[:0]u8 = null;

fn readPem(path: [:0]const u8) ![]u8 {
    return sdk.fs.readFileAlloc(allocator, path, 1 << 20) catch |e| {
        switch (e) {
            error.FileTooBig, error.IsDir, error.OutOfMemory => core.logf(.err, "cannot read {s}: {s}", .{ path, @errorName(e) }),
            else => core.logf(.err, "cannot read {s}: {s}", .{ path, core.lastError() }),
        }
        return e;
    };
}

/// The server config from the SD-card files, or from the build's development certificate.
fn createConfig() !tls.ServerConfig {
    if ((cert_path == null) != (key_path == null)) {
        core.log(.err, "--cert and --key go together");
        return error.BadArguments;
    }
    const cp = cert_path orelse return configOrLog(dev_certs.cert_pem, dev_certs.key_pem, null, 0);
    if (!core.hasFeatures(sdk.Feature.fs)) {
        core.log(.err, "--cert: this host has no file system (portal_fs)");
        return error.MissingFeatures;
    }
    const cert = try readPem(cp);
    defer allocator.free(cert);
    const key = try readPem(key_path.?);
    defer {
        @memset(key, 0);
        allocator.free(key);
    }
    var ca: ?[]u8 = null;
    if (ca_path) |p| ca = try readPem(p);
    defer if (ca) |c| allocator.free(c);
    const flags: i32 = if (ca != null) tls.Flags.require_client_cert else 0;
    core.logf(.info, "certificate {s}, key {s}{s}{s}", .{ cp, key_path.?, if (ca != null) ", client CA " else "", if (ca_path) |p| p else "" });
    return configOrLog(cert, key, ca, flags);
}

fn configOrLog(cert: []const u8, key: []const u8, ca: ?[]const u8, flags: i32) !tls.ServerConfig {
    return tls.ServerConfig.create(cert, key, ca, flags) catch |e| {
        core.logf(.err, "tlsServerConfigCreate: {s}", .{core.lastError()});
        return e;
    };
}

/// Logs an openssl s_client line that verifies the server: the development CA by its place in the
/// repo (build/certs/, from its top directory; the app cannot know where that is on this computer),
/// files from the card by what they must be.
fn logConnectHint() void {
    const ca = if (cert_path != null) "CA.pem" else "build/certs/ca.pem";
    const client = if (ca_path != null) " -cert CLIENT.pem -key CLIENT.key" else "";
    core.logf(.info, "try: openssl s_client -verify_return_error -CAfile {s}{s} -connect 127.0.0.1:{d}", .{ ca, client, port });
    if (cert_path) |p| core.logf(.info, "(CA.pem: the CA that signed {s})", .{p});
    if (ca_path) |p| core.logf(.info, "(CLIENT.pem, CLIENT.key: a client certificate signed by {s}, its key)", .{p});
}

fn parseArgs() !void {
    const args = try std.process.argsAlloc(allocator);
    defer std.process.argsFree(allocator, args);
    var i: usize = 1;
    while (i < args.len) : (i += 1) {
        const is_path_flag = std.mem.eql(u8, args[i], "--cert") or std.mem.eql(u8, args[i], "--key") or
            std.mem.eql(u8, args[i], "--ca");
        if (is_path_flag and i + 1 < args.len) {
            const copy = try allocator.dupeZ(u8, args[i + 1]);
            if (std.mem.eql(u8, args[i], "--cert")) cert_path = copy else if (std.mem.eql(u8, args[i], "--key")) key_path = copy else ca_path = copy;
            i += 1;
        } else if (std.mem.eql(u8, args[i], "--port") and i + 1 < args.len) {
            i += 1;
            port = std.fmt.parseInt(u16, args[i], 10) catch 0;
            if (port == 0) {
                core.log(.err, "port must be 1..65535");
                return error.BadArguments;
            }
        } else {
            core.logf(.err, "unknown argument {s} (use --port N, --cert PATH --key PATH [--ca PATH])", .{args[i]});
            return error.BadArguments;
        }
    }
}

pub fn main() !void {
    try parseArgs();
    const F = sdk.Feature;
    if (!core.hasFeatures(F.net | F.socket | F.socket_tls)) {
        core.log(.err, "this host lacks net, socket or socket_tls support");
        return error.MissingFeatures;
    }
    sdk.net.connect() catch core.logf(.warn, "netConnect: {s}", .{core.lastError()});

    config = try createConfig();
    listenOn(&socket.SocketAddr.any(port), "0.0.0.0");
    if (core.hasFeatures(F.ext_socket_ipv6)) listenOn(&socket.SocketAddr6.any(port), "[::]");
    if (listener_count == 0) return error.NoListener;
    core.logf(.info, "{s} certificate", .{if (cert_path != null) "SD-card" else "ECDSA P-256"});
    logConnectHint();
    _ = sdk.microtask.start(0, 0, serve, null) catch |e| {
        core.logf(.err, "microtaskStart: {s}", .{core.lastError()});
        return e;
    };
}
