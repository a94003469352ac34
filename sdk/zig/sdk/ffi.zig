//! ffi.zig - every host import this SDK binds, with the host's module names, import names and
//! WebAssembly types (docs/spec-*.md, docs/extensions.md). Buffers are (pointer, length) pairs;
//! an optional buffer is absent when its length is 0, but even then the pointer must lie inside
//! linear memory (pass slices through inPtr/outPtr below). Lengths are u32 (the host reads them
//! unsigned). Zig emits an import only when it is called, so unused ones cost nothing.

// ---- module `portal` ----
pub extern "portal" fn apiVersion() i32;
pub extern "portal" fn apiFeatures() i64;
pub extern "portal" fn lastErrorCode() i32;
pub extern "portal" fn lastErrorMessage(out: [*]u8, out_len: u32) i32;
pub extern "portal" fn heapCheck(label: [*:0]const u8, print_errors: i32) i32;
pub extern "portal" fn heapLog(label: [*:0]const u8) void;
pub extern "portal" fn openApp(app_id: [*:0]const u8, arguments: [*:0]const u8) i32;
pub extern "portal" fn exitApp() i32;
pub extern "portal" fn begin() i32;
pub extern "portal" fn delayMs(ms: i32) i32;
pub extern "portal" fn millis() i32;
pub extern "portal" fn micros() i64;
pub extern "portal" fn board() i32;

// ---- module `portal_log` ----
pub extern "portal_log" fn logInfo(msg: [*:0]const u8) void;
pub extern "portal_log" fn logWarn(msg: [*:0]const u8) void;
pub extern "portal_log" fn logError(msg: [*:0]const u8) void;

// ---- module `portal_microtask` ----
pub extern "portal_microtask" fn microtaskClearAll() i32;
pub extern "portal_microtask" fn microtaskStart(start_after_ms: i32, period_ms: i32, flags: i32) i32;
pub extern "portal_microtask" fn microtaskCancel(handle: i32) i32;

// ---- module `portal_net` ----
pub extern "portal_net" fn netIsReady() i32;
pub extern "portal_net" fn netConnect() i32;
pub extern "portal_net" fn netDisconnect() i32;
pub extern "portal_net" fn netGetIpv4(out: [*]u8, out_len: u32) i32;
pub extern "portal_net" fn netResolveIpv4(host: [*:0]const u8, out: [*]u8, out_len: u32) i32;
pub extern "portal_net" fn wifiGetMode() i32;
// Firmware only: portal-host does not provide the Wi-Fi scan (a call traps there).
pub extern "portal_net" fn wifiScanStart() i32;
pub extern "portal_net" fn wifiScanIsRunning() i32;
pub extern "portal_net" fn wifiScanGetCount() i32;
pub extern "portal_net" fn wifiScanGetBest(out: [*]u8, out_len: i32) i32;
pub extern "portal_net" fn wifiScanGetRecord(index: i32, out: [*]u8, out_len: i32) i32;

// ---- module `portal_socket` ----
pub extern "portal_socket" fn sockSocket(domain: i32, sock_type: i32, protocol: i32) i32;
pub extern "portal_socket" fn sockConnect(sock: i32, addr: [*]const u8, addr_len: u32, timeout_ms: i32) i32;
pub extern "portal_socket" fn sockBind(sock: i32, addr: [*]const u8, addr_len: u32) i32;
pub extern "portal_socket" fn sockListen(sock: i32, backlog: i32) i32;
/// Four parameters as on the firmware; the fourth is ignored and the call always waits.
pub extern "portal_socket" fn sockAccept(sock: i32, out_addr: ?[*]u8, out_addr_len: u32, ignored: i32) i32;
pub extern "portal_socket" fn sockAcceptWithTimeout(sock: i32, out_addr: ?[*]u8, out_addr_len: u32, timeout_ms: i32) i32;
pub extern "portal_socket" fn sockSend(sock: i32, buf: [*]const u8, len: u32, timeout_ms: i32) i32;
pub extern "portal_socket" fn sockRecv(sock: i32, buf: [*]u8, len: u32, timeout_ms: i32) i32;
pub extern "portal_socket" fn sockClose(sock: i32) i32;
/// Extension (feature bit 35): entries are 8-byte PollEntry records, entries_bytes their total size.
pub extern "portal_socket" fn sockPoll(entries: [*]u8, entries_bytes: u32, timeout_ms: i32) i32;

// ---- module `portal_socket_tls` ----
pub extern "portal_socket_tls" fn tlsServerConfigCreate(
    cert_pem: [*]const u8,
    cert_pem_len: u32,
    key_pem: [*]const u8,
    key_pem_len: u32,
    client_ca_pem: ?[*]const u8,
    client_ca_pem_len: u32,
    flags: i32,
) i32;
pub extern "portal_socket_tls" fn tlsServerConfigFree(config: i32) i32;
pub extern "portal_socket_tls" fn tlsAccept(config: i32, listener: i32, out_addr: ?[*]u8, out_addr_len: u32, timeout_ms: i32) i32;
pub extern "portal_socket_tls" fn tlsSend(session: i32, buf: [*]const u8, len: u32, timeout_ms: i32) i32;
pub extern "portal_socket_tls" fn tlsRecv(session: i32, buf: [*]u8, len: u32, timeout_ms: i32) i32;
pub extern "portal_socket_tls" fn tlsClose(session: i32) i32;
/// Extension (feature bit 33): writes a 328-byte session description.
pub extern "portal_socket_tls" fn tlsSessionInfo(session: i32, out: [*]u8, out_len: u32) i32;
/// Extension (feature bit 36): TLS client sessions. ca_pem length 0 = the host's default trust
/// store; cert_pem + key_pem both or neither; alpn "h2,http/1.1" or length 0.
pub extern "portal_socket_tls" fn tlsClientConfigCreate(
    ca_pem: ?[*]const u8,
    ca_pem_len: u32,
    cert_pem: ?[*]const u8,
    cert_pem_len: u32,
    key_pem: ?[*]const u8,
    key_pem_len: u32,
    alpn: ?[*]const u8,
    alpn_len: u32,
    flags: i32,
) i32;
pub extern "portal_socket_tls" fn tlsClientConfigFree(config: i32) i32;
/// addr_len 0: the host resolves `host` and connects to `port`; 12 / 28: that address, port 0.
pub extern "portal_socket_tls" fn tlsConnect(config: i32, host: [*:0]const u8, addr: ?[*]const u8, addr_len: u32, port: i32, timeout_ms: i32) i32;

// ---- module `portal_fs` (feature bit 16; portal-host: its --sd directory) ----
pub extern "portal_fs" fn fsIsMounted() i32;
pub extern "portal_fs" fn fsMount() i32;
pub extern "portal_fs" fn fsUnmount() i32;
pub extern "portal_fs" fn fsOpen(path: [*:0]const u8, flags: i32) i32;
pub extern "portal_fs" fn fsClose(handle: i32) i32;
pub extern "portal_fs" fn fsRead(handle: i32, out: [*]u8, out_len: u32) i32;
pub extern "portal_fs" fn fsWrite(handle: i32, buf: [*]const u8, len: u32) i32;
pub extern "portal_fs" fn fsSeek(handle: i32, offset: i32, whence: i32) i32;
/// Writes the 24-byte stat record (u64 size @0, u8 is_dir @8, i64 mtime @16).
pub extern "portal_fs" fn fsStat(path: [*:0]const u8, out: [*]u8, out_len: u32) i32;
pub extern "portal_fs" fn fsRemove(path: [*:0]const u8) i32;
pub extern "portal_fs" fn fsRename(from: [*:0]const u8, to: [*:0]const u8) i32;
pub extern "portal_fs" fn fsMkdir(path: [*:0]const u8) i32;
pub extern "portal_fs" fn fsRmdir(path: [*:0]const u8) i32;
pub extern "portal_fs" fn fsOpendir(path: [*:0]const u8) i32;
pub extern "portal_fs" fn fsReaddir(handle: i32, out: [*]u8, out_len: u32) i32;
pub extern "portal_fs" fn fsClosedir(handle: i32) i32;
/// Writes the 18-byte card record (u8 mounted @0, u8 type @1, u64 capacity @4, name @12).
pub extern "portal_fs" fn fsCardInfo(out: [*]u8, out_len: u32) i32;

// ---- buffer pointers ----
// The host checks a buffer's whole range against linear memory even when its length is 0 (as
// WAMR does), and Zig gives an empty slice an undefined address (0xAAAAAAAA on wasm32), which is
// outside memory. Every slice handed to an import goes through these: an empty one points at a
// real byte instead.
var empty_buffer: [1]u8 = .{0};

/// The pointer to pass for `bytes` (an input buffer).
pub fn inPtr(bytes: []const u8) [*]const u8 {
    return if (bytes.len == 0) &empty_buffer else bytes.ptr;
}

/// The pointer to pass for `buf` (an output buffer).
pub fn outPtr(buf: []u8) [*]u8 {
    return if (buf.len == 0) &empty_buffer else buf.ptr;
}
