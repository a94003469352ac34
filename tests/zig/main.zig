//! zig-sdk-test - unit tests of the Zig SDK, run under portal-host: error-code mapping (pure and
//! through real host calls), the SocketAddr layouts (12 bytes, offsets 0/4/6/10; the 28-byte IPv6
//! form), microtask action encoding, sdk.fs against portal-host's card (zig.unit passes --sd), the
//! TLS client wrappers against a loopback listener that hangs up, and a microtask that must still
//! run after main returned.
//! Prints one line per check and "zig-sdk: N passed, N failed"; exits 1 on any failure.
const std = @import("std");
const sdk = @import("sdk");

comptime {
    _ = sdk; // the SDK's exports
}

const errors = sdk.errors;
const socket = sdk.socket;
const tls = sdk.tls_socket;
const Action = sdk.microtask.Action;

var passed: u32 = 0;
var failed: u32 = 0;

fn out(comptime fmt: []const u8, args: anytype) void {
    std.io.getStdOut().writer().print(fmt ++ "\n", args) catch {};
}

fn expect(ok: bool, comptime what: []const u8, args: anytype) void {
    if (ok) {
        passed += 1;
        out("ok   - " ++ what, args);
    } else {
        failed += 1;
        out("FAIL - " ++ what, args);
    }
}

fn isErr(result: anytype, want: anyerror) bool {
    if (result) |_| return false else |e| return e == want;
}

fn testErrorMapping() void {
    expect(errors.fromCode(-1) == error.InvalidArgument, "-1 -> InvalidArgument", .{});
    expect(errors.fromCode(-2) == error.Internal, "-2 -> Internal", .{});
    expect(errors.fromCode(-3) == error.NotReady, "-3 -> NotReady", .{});
    expect(errors.fromCode(-4) == error.NotFound, "-4 -> NotFound", .{});
    expect(errors.fromCode(-5) == error.Unknown, "-5 -> Unknown", .{});
    expect(errors.fromCode(std.math.minInt(i32)) == error.Unknown, "minInt -> Unknown", .{});
    var c: i32 = -4;
    var round_trip = true;
    while (c <= -1) : (c += 1) round_trip = round_trip and errors.toCode(errors.fromCode(c)) == c;
    expect(round_trip, "toCode(fromCode(c)) == c for -4..-1", .{});
    expect(errors.toCode(error.Closed) == -3, "Closed maps back to -3", .{});
    const zero = errors.check(0) catch -99;
    const seven = errors.check(7) catch -99;
    expect(zero == 0 and seven == 7, "check passes 0 and positive results through", .{});
    expect(isErr(errors.check(-3), error.NotReady), "check(-3) is error.NotReady", .{});
    expect(isErr(errors.checkVoid(-1), error.InvalidArgument), "checkVoid(-1) is error.InvalidArgument", .{});
    expect(std.mem.eql(u8, errors.name(-2), "internal error"), "name(-2)", .{});
    expect(errors.containsClosed("sockRecv: closed (Connection reset by peer)"), "\"closed\" detected", .{});
    expect(!errors.containsClosed("sockRecv: would block"), "\"would block\" is not closed", .{});
}

fn testLayouts() void {
    expect(@sizeOf(socket.SocketAddr) == 12, "SocketAddr is 12 bytes", .{});
    expect(@offsetOf(socket.SocketAddr, "family") == 0, "SocketAddr.family at 0", .{});
    expect(@offsetOf(socket.SocketAddr, "port") == 4, "SocketAddr.port at 4", .{});
    expect(@offsetOf(socket.SocketAddr, "ip") == 6, "SocketAddr.ip at 6", .{});
    expect(@offsetOf(socket.SocketAddr, "_pad") == 10, "SocketAddr._pad at 10", .{});
    const a = socket.SocketAddr.init(.{ 10, 0, 0, 5 }, 8443);
    const want4 = [_]u8{ 2, 0, 0, 0, 0xFB, 0x20, 10, 0, 0, 5, 0, 0 };
    expect(std.mem.eql(u8, std.mem.asBytes(&a), &want4), "10.0.0.5:8443 encodes as 02 00 00 00 FB 20 0A 00 00 05 00 00", .{});
    expect(@sizeOf(socket.SocketAddr6) == 28 and @offsetOf(socket.SocketAddr6, "ip") == 8 and
        @offsetOf(socket.SocketAddr6, "scope_id") == 24, "SocketAddr6 is 28 bytes, ip at 8, scope_id at 24", .{});
    const b = socket.SocketAddr6.loopback(8443);
    var want6 = [_]u8{0} ** 28;
    want6[0] = 10;
    want6[4] = 0xFB;
    want6[5] = 0x20;
    want6[23] = 1;
    expect(std.mem.eql(u8, std.mem.asBytes(&b), &want6), "[::1]:8443 encodes as in docs/extensions.md", .{});
    var any = socket.AnyAddr{ .v6 = b };
    expect(@sizeOf(socket.AnyAddr) == 28 and any.family() == 10 and any.port() == 8443, "AnyAddr reads family/port of either form", .{});
    var text: [64]u8 = undefined;
    expect(std.mem.eql(u8, any.toText(&text), "[::1]:8443"), "IPv6 address text (RFC 5952)", .{});
    const v6_cases = [_]struct { ip: [16]u8, text: []const u8 }{
        .{ .ip = [_]u8{0} ** 16, .text = "[::]:8443" },
        .{ .ip = [_]u8{ 0x20, 0x01, 0x0d, 0xb8 } ++ [_]u8{0} ** 11 ++ [_]u8{5}, .text = "[2001:db8::5]:8443" },
        .{ .ip = [_]u8{ 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3 }, .text = "[1:0:0:2::3]:8443" },
        .{ .ip = [_]u8{ 0, 1, 0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7 }, .text = "[1:0:2:3:4:5:6:7]:8443" },
        .{ .ip = [_]u8{ 0, 1, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 4 }, .text = "[1::2:3:0:0:4]:8443" },
        .{ .ip = [_]u8{ 0xfe, 0x80 } ++ [_]u8{0} ** 14, .text = "[fe80::]:8443" },
    };
    for (v6_cases) |c| {
        var v = b;
        v.ip = c.ip;
        const t = (socket.AnyAddr{ .v6 = v }).toText(&text);
        expect(std.mem.eql(u8, t, c.text), "IPv6 text {s} (got {s})", .{ c.text, t });
    }
    any = .{ .v4 = a };
    expect(std.mem.eql(u8, any.toText(&text), "10.0.0.5:8443"), "IPv4 address text", .{});
    expect(@sizeOf(socket.PollEntry) == 8 and @sizeOf(tls.SessionInfo) == 328, "PollEntry 8 bytes, SessionInfo 328 bytes", .{});
}

fn testActions() void {
    expect(Action.done().raw == 0, "done() is 0", .{});
    expect(Action.yieldNow().raw == @as(i64, 1) << 32, "yieldNow() is 1 << 32", .{});
    expect(Action.sleepMs(16).raw == (@as(i64, 2) << 32 | 16), "sleepMs(16) is 2 << 32 | 16", .{});
    expect(Action.sleepMs(0xFFFF_FFFF).kind() == 2, "sleepMs keeps the kind for any argument", .{});
}

fn testHostErrors() void {
    expect(isErr(errors.check(sdk.ffi.tlsServerConfigFree(0)), error.InvalidArgument), "tlsServerConfigFree(0) -> InvalidArgument", .{});
    expect(isErr(tls.ServerConfig.create("not a cert", "not a key", null, 0), error.InvalidArgument), "ServerConfig.create with garbage PEM -> InvalidArgument", .{});
    var buf: [128]u8 = undefined;
    const msg = sdk.core.lastErrorMessage(&buf);
    expect(std.mem.startsWith(u8, msg, "tlsServerConfigCreate:"), "last error names the import: {s}", .{msg});
    expect(sdk.core.lastErrorCode() == -1, "lastErrorCode is -1", .{});
    expect(isErr(tls.ServerConfig.create("x", "y", null, 0x80), error.InvalidArgument), "unknown TLS flag -> InvalidArgument", .{});
    expect(isErr(sdk.microtask.cancel(0x7FFF0040), error.NotFound), "microtaskCancel(unknown) -> NotFound", .{});
    expect(isErr(socket.Socket.open(99, socket.SOCK_STREAM), error.InvalidArgument), "sockSocket(99) -> InvalidArgument", .{});
    expect(isErr(tls.accept(.{ .handle = 0 }, @as(i32, 1), 0), error.InvalidArgument), "tlsAccept with config 0 -> InvalidArgument", .{});
    const bogus = tls.TlsSocket{ .handle = 0x7FFF };
    var rb: [16]u8 = undefined;
    expect(isErr(bogus.recv(&rb, 0), error.InvalidArgument), "tlsRecv(bad handle) -> InvalidArgument", .{});
    // Empty slices: Zig gives them an address outside linear memory, which the host would trap on
    // even at length 0; the SDK must pass a real address instead (a trap ends this test app).
    const empty = [_]u8{};
    expect(isErr(bogus.flush(0), error.InvalidArgument), "flush(bad handle) -> InvalidArgument, no trap", .{});
    expect(isErr(bogus.sendAll(&empty, 0), error.InvalidArgument), "sendAll(empty, bad handle) -> InvalidArgument, no trap", .{});
    expect(isErr(bogus.send(&empty, 0), error.InvalidArgument), "send(empty, bad handle) -> InvalidArgument, no trap", .{});
    var no_entries = [_]socket.PollEntry{};
    const polled = socket.poll(&no_entries, 0) catch 99;
    expect(polled == 0, "poll(no entries, 0) -> 0, no trap", .{});
}

fn testLoopback() void {
    // A free loopback port: try a few, starting somewhere that depends on the clock.
    var port: u16 = 0;
    var listener: ?socket.Socket = null;
    var tries: u32 = 0;
    while (tries < 50 and listener == null) : (tries += 1) {
        const t: u32 = @bitCast(sdk.core.millis());
        port = @intCast(20000 + (t *% 7919 +% tries *% 104729) % 40000);
        listener = socket.Socket.listenOn(&socket.SocketAddr.loopback(port), 8) catch null;
    }
    const l = listener orelse {
        expect(false, "could not listen on any loopback port", .{});
        return;
    };
    defer l.close();
    expect(isErr(l.accept(0), error.NotReady), "accept(timeout 0) with nobody waiting -> NotReady", .{});
    var no_config = tls.ServerConfig{ .handle = 0 };
    expect(isErr(tls.accept(&no_config, &l, 0), error.InvalidArgument), "tls.accept(&config, &listener) (upstream call style) -> InvalidArgument for config 0", .{});
    no_config.deinit(); // handle 0: nothing to free
    const other = socket.Socket.open(socket.AF_INET, socket.SOCK_STREAM) catch {
        expect(false, "sockSocket failed", .{});
        return;
    };
    expect(isErr(other.bind(&socket.SocketAddr.loopback(port)), error.Internal), "bind to a listening port -> Internal", .{});
    other.close();

    const client = socket.Socket.open(socket.AF_INET, socket.SOCK_STREAM) catch {
        expect(false, "sockSocket failed", .{});
        return;
    };
    defer client.close();
    const connected = if (client.connect(&socket.SocketAddr.loopback(port), 2000)) |_| true else |_| false;
    expect(connected, "connect to 127.0.0.1:{d}", .{port});
    const acc = l.accept(2000) catch {
        expect(false, "accept failed: {s}", .{sdk.core.lastError()});
        return;
    };
    const peer = acc.peer;
    expect(peer.family() == 2 and std.mem.eql(u8, &peer.v4.ip, &[_]u8{ 127, 0, 0, 1 }) and
        peer.v4._pad[0] == 0 and peer.v4._pad[1] == 0 and peer.port() != 0, "host writes the peer as a 12-byte IPv4 SocketAddr (127.0.0.1:{d})", .{peer.port()});
    const sent = client.send("hi", 1000) catch 0;
    var rb: [8]u8 = undefined;
    const got = acc.socket.recv(&rb, 2000) catch 0;
    expect(sent == 2 and got == 2 and std.mem.eql(u8, rb[0..2], "hi"), "bytes cross the loopback connection", .{});
    client.close();
    const eof = acc.socket.recv(&rb, 2000) catch 99;
    expect(eof == 0, "recv after the peer closed returns 0", .{});
    // Writing to a closed peer: the first sends may still be taken, then "closed".
    var closed = false;
    var i: u32 = 0;
    while (i < 50 and !closed) : (i += 1) {
        _ = acc.socket.send("xxxxxxxx", 100) catch |e| {
            closed = e == error.Closed;
            if (!closed) break;
        };
        _ = sdk.core.delayMs(10) catch {};
    }
    expect(closed, "send to a closed peer -> error.Closed (last error: {s})", .{sdk.core.lastError()});
    acc.socket.close();
}

var steps: u32 = 0;

fn lateTask(ctx: ?*anyopaque, handle: i32, now_ms: i32) Action {
    _ = ctx;
    _ = handle;
    _ = now_ms;
    steps += 1;
    if (steps < 3) return Action.sleepMs(10);
    expect(true, "microtask ran 3 steps after main returned", .{});
    out("zig-sdk: {d} passed, {d} failed", .{ passed, failed });
    if (failed != 0) std.os.wasi.proc_exit(1);
    // exitApp ends the app (ppShutdown, exit 0) once this step returns.
    sdk.core.exitApp() catch std.os.wasi.proc_exit(1);
    return Action.done();
}

/// The rest of the public SDK, so that every function is called at least once (a wrong pointer
/// or type in any of them traps this app and fails the test).
fn testRestOfSdk() void {
    const features = sdk.core.features();
    expect(features & sdk.core.Feature.socket_tls != 0 and features & sdk.core.Feature.fs != 0, "features() has socket_tls and fs: 0x{x}", .{features});
    const t0 = sdk.core.micros();
    const t1 = sdk.core.micros();
    expect(t0 > 0 and t1 >= t0, "micros() is monotonic ({d} then {d})", .{ t0, t1 });
    sdk.core.log(.info, "zig-sdk: log() line");
    sdk.core.logf(.warn, "zig-sdk: logf() line {d}", .{42});
    expect(isErr(errors.checkIo(-1), error.InvalidArgument), "checkIo(-1) is InvalidArgument", .{});
    const seven = errors.checkIo(7) catch -1;
    expect(seven == 7, "checkIo passes 7 through", .{});
    _ = sdk.ffi.tlsClose(0x7FFF); // leaves "tlsClose: bad ..." as the last error: no "closed"
    expect(isErr(errors.checkIo(-3), error.NotReady), "checkIo(-3) without \"closed\" is NotReady", .{});

    const fs = sdk.fs;
    expect(if (fs.unmount()) |_| !fs.isMounted() else |_| false, "fs.unmount: card no longer mounted", .{});
    expect(if (fs.mount()) |_| fs.isMounted() else |_| false, "fs.mount: card mounted again", .{});

    const net = sdk.net;
    expect(net.isReady(), "net.isReady on portal-host", .{});
    const ip = net.getIpv4() catch [4]u8{ 0, 0, 0, 0 };
    expect(ip[0] != 0 or ip[3] != 0, "net.getIpv4: {d}.{d}.{d}.{d}", .{ ip[0], ip[1], ip[2], ip[3] });
    const lo = net.resolveIpv4("localhost") catch null;
    expect(lo != null and lo.?[0] == 127, "net.resolveIpv4(localhost) is 127.x", .{});
    const addr = net.resolveAddr4("localhost", 8443) catch null;
    expect(addr != null and addr.?.port == 8443 and addr.?.ip[0] == 127, "net.resolveAddr4(localhost, 8443)", .{});
    const missing = net.resolveIpv4("no-such-host.invalid") catch null;
    expect(missing == null, "net.resolveIpv4 of an .invalid name is null", .{});
    const mode = net.wifiMode() catch -1;
    expect(mode >= 0 and mode <= 3, "net.wifiMode is 0..3 ({d})", .{mode});
    expect(if (net.disconnect()) |_| true else |_| false, "net.disconnect", .{});
    expect(if (net.connect()) |_| true else |_| false, "net.connect", .{});

    const any4 = socket.SocketAddr.any(8443);
    const any6 = socket.SocketAddr6.any(8443);
    expect(any4.port == 8443 and any4.ip[0] == 0 and any6.port == 8443 and any6.ip[15] == 0, "SocketAddr.any / SocketAddr6.any", .{});
    const none = socket.AnyAddr.empty();
    expect(none.port() == 0, "AnyAddr.empty", .{});
    if (socket.Socket.open(socket.AF_INET, socket.SOCK_STREAM)) |s| {
        // listen on an unbound socket: the kernel binds an ephemeral port
        expect(if (s.listen(4)) |_| true else |_| false, "Socket.listen on an unbound socket", .{});
        s.close();
    } else |_| expect(false, "sockSocket failed", .{});

    const bogus = tls.TlsSocket{ .handle = 0x7FFF };
    expect(isErr(bogus.info(), error.InvalidArgument), "TlsSocket.info(bad handle) -> InvalidArgument, no trap", .{});
    const field = [_]u8{ 'a', 'b', 0, 'x' };
    expect(std.mem.eql(u8, tls.SessionInfo.text(&field), "ab"), "SessionInfo.text stops at NUL", .{});
    sdk.microtask.clearAll(); // nothing started yet: a no-op that must not trap
}

fn testFs() void {
    const fs = sdk.fs;
    expect(sdk.core.hasFeatures(sdk.Feature.fs), "feature bit 16 (fs)", .{});
    expect(fs.isMounted(), "card mounted", .{});
    const info = fs.cardInfo() catch null;
    expect(info != null and info.?.mounted and info.?.card_type == 2 and info.?.capacity > 0 and
        std.mem.eql(u8, info.?.name[0..5], "HOST\x00"), "cardInfo", .{});
    _ = fs.rmdir("/sdcard/zig") catch {}; // left over from an aborted run
    expect(if (fs.mkdir("/sdcard/zig")) |_| true else |_| false, "mkdir", .{});
    var f = fs.File.open("/sdcard/zig/f.txt", fs.OpenFlags.write | fs.OpenFlags.create | fs.OpenFlags.truncate) catch {
        expect(false, "open for writing: {s}", .{sdk.core.lastError()});
        return;
    };
    const wrote_empty = f.write("") catch 99;
    expect(wrote_empty == 0, "write of an empty slice is 0 (no trap)", .{});
    expect(if (f.writeAll("hello zig")) |_| true else |_| false, "writeAll", .{});
    f.close();
    f.close(); // safe twice
    const st = fs.stat("/sdcard/zig/f.txt") catch fs.Stat{ .size = 0, .is_dir = true, .mtime = 0 };
    expect(st.size == 9 and !st.is_dir and st.mtime > 1600000000, "stat: size {d}", .{st.size});
    const d = fs.stat("/sdcard/zig") catch fs.Stat{ .size = 0, .is_dir = false, .mtime = 0 };
    expect(d.is_dir, "stat of a directory", .{});
    const all = fs.readFileAlloc(sdk.microtask.allocator, "/sdcard/zig/f.txt", 1024) catch null;
    expect(all != null and std.mem.eql(u8, all.?, "hello zig"), "readFileAlloc", .{});
    if (all) |a| sdk.microtask.allocator.free(a);
    expect(isErr(fs.readFileAlloc(sdk.microtask.allocator, "/sdcard/zig/f.txt", 8), error.FileTooBig), "readFileAlloc: FileTooBig", .{});
    var r = fs.File.open("/sdcard/zig/f.txt", fs.OpenFlags.read) catch fs.File{ .handle = 0 };
    var empty: [0]u8 = .{};
    const read_empty = r.read(&empty) catch 99;
    expect(read_empty == 0, "read into an empty slice is 0 (no trap)", .{});
    const pos = r.seek(-3, .end) catch 0;
    var buf: [16]u8 = undefined;
    const n = r.read(&buf) catch 0;
    expect(pos == 6 and std.mem.eql(u8, buf[0..n], "zig"), "seek from the end, read", .{});
    r.close();
    var dir = fs.Dir.open("/sdcard/zig") catch fs.Dir{ .handle = 0 };
    const first = dir.next(&buf) catch null;
    expect(first != null and std.mem.eql(u8, first.?, "f.txt"), "Dir.next", .{});
    const end = dir.next(&buf) catch buf[0..1];
    expect(end == null, "Dir.next at the end is null", .{});
    dir.close();
    expect(if (fs.rename("/sdcard/zig/f.txt", "/sdcard/zig/g.txt")) |_| true else |_| false, "rename", .{});
    expect(isErr(fs.File.open("/sdcard/zig/f.txt", fs.OpenFlags.read), error.NotFound), "open of a missing file: NotFound", .{});
    expect(isErr(fs.stat("zig/g.txt"), error.InvalidArgument), "relative path: InvalidArgument", .{});
    expect(std.mem.eql(u8, sdk.core.lastError(), "fs: path must start with '/'"), "its message", .{});
    expect(isErr(fs.File.open("/sdcard/../etc/passwd", fs.OpenFlags.read), error.InvalidArgument), "'..': InvalidArgument", .{});
    expect(isErr(fs.rmdir("/sdcard/zig"), error.Internal), "rmdir of a non-empty directory: Internal", .{});
    expect(if (fs.remove("/sdcard/zig/g.txt")) |_| true else |_| false, "remove", .{});
    expect(if (fs.rmdir("/sdcard/zig")) |_| true else |_| false, "rmdir", .{});
}

/// The TLS client extension (feature bit 36): configs, argument errors, and a connect with
/// timeout 0 to a plain listener in this app that accepts and hangs up mid-handshake.
fn testTlsClient() void {
    expect(sdk.core.hasFeatures(sdk.Feature.ext_tls_client), "feature bit 36 (ext_tls_client)", .{});
    expect(isErr(tls.TlsClientConfig.create(.{ .flags = 0x4 }), error.InvalidArgument), "TlsClientConfig.create with unknown flags -> InvalidArgument", .{});
    var buf: [128]u8 = undefined;
    const msg = sdk.core.lastErrorMessage(&buf);
    expect(std.mem.eql(u8, msg, "tlsClientConfigCreate: unknown flags 0x4"), "its message: {s}", .{msg});
    expect(isErr(tls.TlsClientConfig.create(.{ .alpn = "h2,,x", .flags = tls.ClientFlags.no_verify }), error.InvalidArgument), "a bad ALPN list -> InvalidArgument", .{});
    // empty slices: length 0 with an address inside memory (no trap), i.e. "none"
    var cfg = tls.TlsClientConfig.create(.{ .ca_pem = "", .cert_pem = "", .key_pem = "", .alpn = "", .flags = tls.ClientFlags.no_verify | tls.ClientFlags.no_tickets }) catch {
        expect(false, "TlsClientConfig.create(no_verify | no_tickets, empty slices): {s}", .{sdk.core.lastError()});
        return;
    };
    expect(cfg.handle > 0, "TlsClientConfig.create with empty slices and no_verify -> handle {d}", .{cfg.handle});
    defer cfg.free();
    expect(isErr(tls.TlsSocket.connect(cfg, "", 443, 0), error.InvalidArgument), "TlsSocket.connect to \"\" -> InvalidArgument", .{});
    expect(isErr(tls.TlsSocket.connect(tls.TlsClientConfig{ .handle = 0 }, "localhost", 443, 0), error.InvalidArgument), "TlsSocket.connect with config 0 -> InvalidArgument", .{});

    var port: u16 = 0;
    var listener: ?socket.Socket = null;
    var tries: u32 = 0;
    while (tries < 50 and listener == null) : (tries += 1) {
        const t: u32 = @bitCast(sdk.core.millis());
        port = @intCast(20000 + (t *% 6007 +% tries *% 104723) % 40000);
        listener = socket.Socket.listenOn(&socket.SocketAddr.loopback(port), 8) catch null;
    }
    const l = listener orelse {
        expect(false, "could not listen on any loopback port", .{});
        return;
    };
    defer l.close();
    const s = tls.TlsSocket.connect(&cfg, "127.0.0.1", port, 0) catch {
        expect(false, "TlsSocket.connect(timeout 0): {s}", .{sdk.core.lastError()});
        return;
    };
    defer s.close();
    const early = s.handshakeDone() catch true;
    expect(!early, "handshakeDone is false while nobody answers", .{});
    const acc = l.accept(5000) catch {
        expect(false, "the client's TCP connect never arrived: {s}", .{sdk.core.lastError()});
        return;
    };
    acc.socket.close(); // the server hangs up mid-handshake
    var entries = [_]socket.PollEntry{.{ .handle = s.handle, .events = socket.POLL_OUT, .revents = 0 }};
    const ready = socket.poll(&entries, 10000) catch 0;
    expect(ready == 1 and entries[0].revents & socket.POLL_ERR != 0, "poll: the session is ERR once the server hung up (revents 0x{x})", .{entries[0].revents});
    const outcome = s.handshakeDone();
    expect(isErr(outcome, error.Closed), "handshakeDone -> error.Closed: {s}", .{sdk.core.lastError()});
    expect(isErr(s.infoEx(), error.Closed), "infoEx on the failed session -> error.Closed", .{});
    var rb: [8]u8 = undefined;
    expect(isErr(s.recv(&rb, 0), error.Closed), "recv on it -> error.Closed", .{});

    // by address, then closed while connecting
    const s2 = tls.TlsSocket.connectAddr(cfg, "localhost", &socket.SocketAddr.loopback(port), 0) catch {
        expect(false, "TlsSocket.connectAddr(SocketAddr, timeout 0): {s}", .{sdk.core.lastError()});
        return;
    };
    s2.close();
    const any = socket.AnyAddr{ .v4 = socket.SocketAddr.loopback(port) };
    const s3 = tls.TlsSocket.connectAddr(cfg, "localhost", &any, 0) catch {
        expect(false, "TlsSocket.connectAddr(AnyAddr, timeout 0): {s}", .{sdk.core.lastError()});
        return;
    };
    s3.close();
    expect(true, "connectAddr by SocketAddr and by AnyAddr, closed while connecting", .{});
    const bogus = tls.TlsSocket{ .handle = 0x7FFF };
    expect(isErr(bogus.infoEx(), error.InvalidArgument), "infoEx(bad handle) -> InvalidArgument", .{});
    expect(tls.info_client_session == 4 and tls.info_unverified == 8 and tls.info_peer_verified == 2 and
        @sizeOf(tls.SessionInfoEx) == 584 and @offsetOf(tls.SessionInfoEx, "alpn") == 328, "client info flags 2/4/8, SessionInfoEx 584 bytes, alpn at 328", .{});
    cfg.free();
    expect(cfg.handle == 0, "free clears the handle (a second free does nothing)", .{});
}

pub fn main() void {
    expect(sdk.core.apiVersion() == 1, "apiVersion is 1", .{});
    testErrorMapping();
    testLayouts();
    testActions();
    testHostErrors();
    testLoopback();
    testFs();
    testRestOfSdk();
    testTlsClient();
    _ = sdk.microtask.start(0, 0, lateTask, null) catch {
        expect(false, "microtask start failed", .{});
        out("zig-sdk: {d} passed, {d} failed", .{ passed, failed });
        std.os.wasi.proc_exit(1);
    };
}
